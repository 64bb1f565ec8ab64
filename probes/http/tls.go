package http

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"math"
	"net"
	"os"
	"slices"
	"time"

	"probe/probes"
)

// TLSFacts are what the TLS handshake and the certificate showed.
type TLSFacts struct {
	// ServerName is the name sent as SNI; empty when an IP address was
	// probed and no server name was given (SNI carries names only).
	ServerName string `json:"server_name,omitempty"`
	// Version is the negotiated protocol version ("TLS 1.3"); empty when
	// the handshake did not complete.
	Version string `json:"version,omitempty"`
	// CipherSuite is the negotiated cipher suite's IANA name.
	CipherSuite string `json:"cipher_suite,omitempty"`
	// Chain is the subject of every certificate the server sent, leaf
	// first, in the order sent.
	Chain []string `json:"chain,omitempty"`
	// SANs are the leaf's DNS names and IP addresses, sorted.
	SANs []string `json:"sans,omitempty"`
	// Issuer is the leaf certificate's issuer.
	Issuer string `json:"issuer,omitempty"`
	// NotAfter is when the leaf expires, in RFC 3339.
	NotAfter string `json:"not_after,omitempty"`
	// DaysLeft is whole days from the probe's clock to NotAfter, rounded
	// down: negative once expired.
	DaysLeft int `json:"days_left"`
	// VerifyName is the name (or IP) the chain was verified for: the
	// server name when given, else the target's host.
	VerifyName string `json:"verify_name"`
	// Verified is whether the chain verifies for VerifyName against the
	// system roots and the CA files, at the probe's clock; null when no
	// certificate was seen.
	Verified *bool `json:"verified"`
	// VerifyError says why verification failed.
	VerifyError string `json:"verify_error,omitempty"`
}

// verifier holds what the certificate is checked against.
type verifier struct {
	sni   string
	name  string
	roots *x509.CertPool // nil: the system roots
	now   func() time.Time
}

func newVerifier(t probes.Target, serverName string, caFiles []string, now func() time.Time) (*verifier, error) {
	v := &verifier{name: serverName, now: now}
	if v.name == "" {
		v.name = t.Host
	}
	if net.ParseIP(v.name) == nil {
		v.sni = v.name // RFC 6066 §3: SNI carries host names, never literal IPs
	}
	if len(caFiles) == 0 {
		return v, nil
	}
	roots, err := x509.SystemCertPool()
	if err != nil {
		roots = x509.NewCertPool()
	}
	for _, f := range caFiles {
		pem, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		if !roots.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%s: no PEM certificate in it", f)
		}
	}
	v.roots = roots
	return v, nil
}

// config skips the library's verification on purpose: a failed
// verification would abort the handshake and hide the certificate. The same
// verification is done in facts, and its outcome is reported.
//
// TLS 1.0 and 1.1 are offered (Go's client default starts at 1.2) so that a
// server stuck on them is described and judged on its version, instead of
// being reported as a failed handshake.
func (v *verifier) config() *tls.Config {
	return &tls.Config{ServerName: v.sni, InsecureSkipVerify: true, MinVersion: tls.VersionTLS10}
}

// facts describes the handshake; completed says whether it finished.
func (v *verifier) facts(cs tls.ConnectionState, completed bool) *TLSFacts {
	f := &TLSFacts{ServerName: v.sni, VerifyName: v.name}
	if completed {
		f.Version = tls.VersionName(cs.Version)
		f.CipherSuite = tls.CipherSuiteName(cs.CipherSuite)
	}
	if len(cs.PeerCertificates) == 0 {
		return f
	}
	for _, c := range cs.PeerCertificates {
		f.Chain = append(f.Chain, c.Subject.String())
	}
	leaf := cs.PeerCertificates[0]
	f.SANs = append(f.SANs, leaf.DNSNames...)
	for _, ip := range leaf.IPAddresses {
		f.SANs = append(f.SANs, ip.String())
	}
	slices.Sort(f.SANs)
	f.Issuer = leaf.Issuer.String()
	f.NotAfter = leaf.NotAfter.UTC().Format(time.RFC3339)
	now := v.now()
	f.DaysLeft = int(math.Floor(leaf.NotAfter.Sub(now).Hours() / 24))

	inter := x509.NewCertPool()
	for _, c := range cs.PeerCertificates[1:] {
		inter.AddCert(c)
	}
	_, err := leaf.Verify(x509.VerifyOptions{
		Roots: v.roots, Intermediates: inter, DNSName: v.name, CurrentTime: now,
	})
	ok := err == nil
	f.Verified = &ok
	if err != nil {
		f.VerifyError = err.Error()
	}
	return f
}
