// Package tlsinfo describes a TLS handshake as facts, for every probe that
// speaks TLS (HTTPS, SIP over TLS): the negotiated version and cipher, the
// certificate chain, and whether it verifies, for which name.
//
// Verification never aborts the handshake: the tls.Config skips the
// library's own check, and the same check (x509, the system roots plus any
// CA files, for the server name or the host) is done afterwards and kept as
// a fact. An expired or untrusted certificate is then described and judged,
// instead of hiding behind a failed handshake.
package tlsinfo

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"math"
	"net"
	"slices"
	"time"

	"probe/internal/readfile"
)

// maxCAFile bounds a CA file read: the system bundle is about 200 KB.
const maxCAFile = 16 << 20

// Facts are what the TLS handshake and the certificate showed.
type Facts struct {
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
	// server name when given, else the target's host. Empty when
	// verification is turned off.
	VerifyName string `json:"verify_name,omitempty"`
	// Verified is whether the chain verifies for VerifyName against the
	// system roots and the CA files, at the probe's clock; null when not
	// checked (no certificate seen, or verification turned off).
	Verified *bool `json:"verified"`
	// VerifyError says why verification failed.
	VerifyError string `json:"verify_error,omitempty"`
}

// Verifier holds what a certificate is checked against.
type Verifier struct {
	sni      string
	name     string
	roots    *x509.CertPool // nil: the system roots
	insecure bool
	now      func() time.Time
}

// Options say what to verify against.
type Options struct {
	// ServerName is sent as SNI and verified; the host when empty.
	ServerName string
	// CAFiles are PEM bundles of roots trusted besides the system's.
	CAFiles []string
	// Insecure turns verification off: Verified stays null.
	Insecure bool
	// Now is the clock for expiry and verification; time.Now when nil.
	Now func() time.Time
}

// New prepares the verification of a handshake with host.
func New(host string, opt Options) (*Verifier, error) {
	v := &Verifier{name: opt.ServerName, insecure: opt.Insecure, now: opt.Now}
	if v.now == nil {
		v.now = time.Now
	}
	if v.name == "" {
		v.name = host
	}
	if net.ParseIP(v.name) == nil {
		v.sni = v.name // RFC 6066 §3: SNI carries host names, never literal IPs
	}
	var files []string
	for _, f := range opt.CAFiles {
		if f != "" {
			files = append(files, f)
		}
	}
	if len(files) == 0 {
		return v, nil
	}
	roots, err := x509.SystemCertPool()
	if err != nil {
		roots = x509.NewCertPool()
	}
	for _, f := range files {
		pem, err := readfile.Bounded(f, maxCAFile)
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

// Config is the client's tls.Config. It skips the library's verification
// on purpose (see the package doc); Facts does the same check and reports it.
//
// TLS 1.0 and 1.1 are offered (Go's client default starts at 1.2) so that a
// server stuck on them is described and judged on its version, instead of
// being reported as a failed handshake.
func (v *Verifier) Config() *tls.Config {
	return &tls.Config{ServerName: v.sni, InsecureSkipVerify: true, MinVersion: tls.VersionTLS10}
}

// Facts describes the handshake; completed says whether it finished.
func (v *Verifier) Facts(cs tls.ConnectionState, completed bool) *Facts {
	f := &Facts{ServerName: v.sni}
	if !v.insecure {
		f.VerifyName = v.name
	}
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
	if v.insecure {
		return f
	}
	inter := x509.NewCertPool()
	for _, c := range cs.PeerCertificates[1:] {
		inter.AddCert(c)
	}
	_, err := leaf.Verify(x509.VerifyOptions{Roots: v.roots, Intermediates: inter, DNSName: v.name, CurrentTime: now})
	ok := err == nil
	f.Verified = &ok
	if err != nil {
		f.VerifyError = err.Error()
	}
	return f
}
