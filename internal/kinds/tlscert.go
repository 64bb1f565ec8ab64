package kinds

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"probe/probes/tlsinfo"
)

// certChecks are the options and assertions on a TLS handshake and its
// certificate that the data-tier kinds share (postgres, redis), each
// section carrying them as keys of its own. They are judged on the one
// handshake the probe made, so min_tls_version is the negotiated version
// alone (the http kind, which may open a connection per older version,
// also proves those refused).
type certChecks struct {
	serverName    string
	caFile        *string // the section's field, resolved in place
	minTLSVersion string
	minDaysLeft   *int
	chainVerifies *bool
}

func (c certChecks) validate() []FieldError {
	var errs []FieldError
	if c.minTLSVersion != "" && !slices.Contains(tlsVersions, "TLS "+c.minTLSVersion) {
		errs = append(errs, FieldError{Key: "min_tls_version", Msg: fmt.Sprintf("%q is not a TLS version (want 1.0, 1.1, 1.2 or 1.3)", c.minTLSVersion)})
	}
	if c.minDaysLeft != nil && *c.minDaysLeft < 0 {
		errs = append(errs, FieldError{Key: "min_days_left", Msg: fmt.Sprintf("%d: a certificate is judged on the days it has left, 0 or more", *c.minDaysLeft)})
	}
	if c.serverName != "" {
		if _, _, err := net.SplitHostPort(c.serverName); err == nil || strings.ContainsAny(c.serverName, " \t/") {
			errs = append(errs, FieldError{Key: "server_name", Msg: fmt.Sprintf("%q is not a host name (give the name alone, without a port or scheme)", c.serverName)})
		}
	}
	return errs
}

// resolveFiles takes a relative ca_file from dir, and checks it is a file.
func (c certChecks) resolveFiles(dir string) []FieldError {
	if c.caFile == nil || *c.caFile == "" {
		return nil
	}
	if !filepath.IsAbs(*c.caFile) {
		*c.caFile = filepath.Join(dir, *c.caFile)
	}
	// Stat, not open: opening a FIFO would block validation.
	if st, err := os.Stat(*c.caFile); err != nil {
		return []FieldError{{Key: "ca_file", Msg: fmt.Sprintf("cannot use %s (a relative path is taken from the config file's directory): %v", *c.caFile, errors.Unwrap(err))}}
	} else if !st.Mode().IsRegular() {
		return []FieldError{{Key: "ca_file", Msg: fmt.Sprintf("%s is not a file of PEM certificates", *c.caFile)}}
	}
	return nil
}

// caFiles are the CA files the probe trusts: the section's, then the
// command line's.
func (c certChecks) caFiles(p Params) []string {
	var out []string
	if c.caFile != nil && *c.caFile != "" {
		out = append(out, *c.caFile)
	}
	if p.CAFile != "" {
		out = append(out, p.CAFile)
	}
	return out
}

// assert judges the handshake's facts; tf is nil when no handshake was made.
func (c certChecks) assert(tf *tlsinfo.Facts) []Assertion {
	hasCert := tf != nil && tf.Verified != nil
	var out []Assertion
	if c.chainVerifies != nil {
		want := *c.chainVerifies
		expected, seen := "the chain verifies", "no certificate"
		if !want {
			expected = "the chain does not verify"
		}
		if tf != nil && tf.VerifyName != "" {
			expected += " for " + tf.VerifyName
		}
		if hasCert {
			seen = "verifies for " + tf.VerifyName
			if !*tf.Verified {
				seen = "does not verify: " + tf.VerifyError
			}
		}
		out = append(out, Assertion{Name: "chain_verifies", Expected: expected, Observed: seen, Pass: hasCert && *tf.Verified == want})
	}
	if c.minDaysLeft != nil {
		seen := "no certificate"
		if hasCert {
			seen = fmt.Sprintf("%d days left (not after %s)", tf.DaysLeft, tf.NotAfter)
		}
		out = append(out, Assertion{Name: "min_days_left", Expected: fmt.Sprintf("at least %d days left", *c.minDaysLeft), Observed: seen,
			Pass: hasCert && tf.DaysLeft >= *c.minDaysLeft})
	}
	if c.minTLSVersion != "" {
		want := "TLS " + c.minTLSVersion
		seen := "no TLS handshake"
		if tf != nil && tf.Version != "" {
			seen = tf.Version
		}
		pass := tf != nil && tf.Version != "" && slices.Index(tlsVersions, tf.Version) >= slices.Index(tlsVersions, want)
		out = append(out, Assertion{Name: "min_tls_version", Expected: "negotiates " + want + " or later", Observed: seen, Pass: pass})
	}
	return out
}

// tlsChanges says what changed in a handshake between two reports: the
// certificate (renewed, replaced, nearer to expiry), the negotiated version
// dropped, or TLS gone altogether. Each is nil when there was no handshake.
func tlsChanges(old, new *tlsinfo.Facts) []FactChange {
	switch {
	case old == nil || old.Version == "":
		return nil
	case new == nil || new.Version == "":
		return []FactChange{{Kind: "tls-lost", Old: old.Version, New: "none", Matters: true,
			Detail: "no longer completes a TLS handshake (was " + old.Version + ")"}}
	}
	out := certificateChanges(old, new)
	if o, n := slices.Index(tlsVersions, old.Version), slices.Index(tlsVersions, new.Version); n < o {
		out = append(out, FactChange{Kind: "tls-version-dropped", Old: old.Version, New: new.Version, Matters: true,
			Detail: "negotiates " + new.Version + ", was " + old.Version})
	}
	return out
}
