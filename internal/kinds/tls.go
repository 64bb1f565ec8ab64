package kinds

import (
	"fmt"
	"time"

	"probe/probes/tlsinfo"
)

// The certificate's metrics and changes, for every kind whose facts carry
// a TLS handshake (HTTPS, SIP over TLS). Each such kind passes how to find
// the handshake in its facts.

// CertificateThresholds are the days left whose crossing diff reports: a
// certificate is nearer to expiry every night, and only a crossing is news.
var CertificateThresholds = []int{30, 14, 7, 1}

// certificateMetrics are the families a certificate feeds.
func certificateMetrics(tlsOf func(facts any) *tlsinfo.Facts) []Metric {
	notAfter := func(facts any) (*tlsinfo.Facts, time.Time, bool) {
		tf := tlsOf(facts)
		if tf == nil {
			return nil, time.Time{}, false
		}
		na, ok := parseTime(tf.NotAfter)
		return tf, na, ok
	}
	// The time left is not a family of its own: Prometheus wants seconds
	// (promtool refuses a _days_left), and the expiry as a Unix time gives
	// it at query time, `probe_tls_certificate_not_after_timestamp_seconds
	// - time()`, as blackbox_exporter's probe_ssl_earliest_cert_expiry does.
	return []Metric{
		{
			Name: "probe_tls_certificate_not_after_timestamp_seconds",
			Help: "When the server certificate expires, as a Unix time.",
			Samples: func(facts any) []Sample {
				if _, na, ok := notAfter(facts); ok {
					return []Sample{{Value: float64(na.Unix())}}
				}
				return nil
			},
		},
	}
}

// certificateChanges says how the certificate changed: renewed to a later
// expiry (expected), replaced by one that expires sooner, or the same one
// crossing one of CertificateThresholds.
func certificateChanges(old, new *tlsinfo.Facts) []FactChange {
	if old == nil || new == nil {
		return nil
	}
	oa, ok1 := parseTime(old.NotAfter)
	na, ok2 := parseTime(new.NotAfter)
	if !ok1 || !ok2 {
		return nil
	}
	day := func(t time.Time) string { return t.UTC().Format("2006-01-02") }
	switch {
	case na.After(oa):
		return []FactChange{{Kind: "certificate-renewed", Old: day(oa), New: day(na), Matters: false,
			Detail: fmt.Sprintf("certificate renewed: expires %s, was %s", day(na), day(oa))}}
	case na.Before(oa):
		return []FactChange{{Kind: "certificate-replaced", Old: day(oa), New: day(na), Matters: true,
			Detail: fmt.Sprintf("certificate replaced by one that expires sooner: %s, was %s", day(na), day(oa))}}
	}
	od, nd := old.DaysLeft, new.DaysLeft
	for _, th := range CertificateThresholds {
		if od >= th && nd < th {
			return []FactChange{{Kind: "certificate-expiry-near", Old: fmt.Sprint(od), New: fmt.Sprint(nd), Matters: true,
				Detail: fmt.Sprintf("certificate expires in %d days (under %d), on %s", nd, th, day(na))}}
		}
	}
	return nil
}

// parseTime reads a fact's time, as the probes write it (RFC 3339).
func parseTime(s string) (time.Time, bool) {
	if s == "" {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	return t, err == nil
}
