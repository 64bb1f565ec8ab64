package sip

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"time"

	"probe/probes"
)

// TLSFacts are what the TLS handshake showed.
type TLSFacts struct {
	// ServerName is the name sent as SNI; empty when an IP was probed and
	// no server name was given.
	ServerName string `json:"server_name,omitempty"`
	// VerifyName is the name (or IP) the certificate was checked for.
	VerifyName string `json:"verify_name,omitempty"`
	// Version is the negotiated protocol version ("TLS 1.3").
	Version string `json:"version,omitempty"`
	// CipherSuite is the negotiated cipher suite.
	CipherSuite string `json:"cipher_suite,omitempty"`
	// Subject is the leaf certificate's subject.
	Subject string `json:"subject,omitempty"`
	// Issuer is the leaf certificate's issuer.
	Issuer string `json:"issuer,omitempty"`
	// SANs are the leaf's DNS and IP subject alternative names, sorted.
	SANs []string `json:"sans,omitempty"`
	// NotAfter is when the leaf certificate expires.
	NotAfter time.Time `json:"not_after,omitzero"`
	// Verified is whether the chain verifies for VerifyName against the
	// system roots and the CA file; null when not checked (verification
	// turned off, or the handshake failed before it).
	Verified *bool `json:"verified"`
	// VerifyError says why verification failed.
	VerifyError string `json:"verify_error,omitempty"`
}

// verifier checks the server's certificate during the handshake and keeps
// the outcome instead of aborting, so that the SIP exchange still happens
// and both the certificate's failure and the server's answer are reported.
// This is why the tls.Config skips the library's own verification: the
// same verification is done here, and its result is a fact.
type verifier struct {
	sni      string
	name     string
	roots    *x509.CertPool // nil means the system roots
	insecure bool

	checked bool
	err     error
}

func newVerifier(t probes.Target, opt Options) (*verifier, error) {
	v := &verifier{name: opt.ServerName, insecure: opt.InsecureSkipVerify}
	if v.name == "" {
		v.name = t.Host
	}
	if net.ParseIP(v.name) == nil {
		v.sni = v.name // SNI carries names only (RFC 6066 §3)
	}
	if opt.CAFile != "" {
		pem, err := os.ReadFile(opt.CAFile)
		if err != nil {
			return nil, err
		}
		roots, err := x509.SystemCertPool()
		if err != nil {
			roots = x509.NewCertPool()
		}
		if !roots.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%s: no PEM certificate in it", opt.CAFile)
		}
		v.roots = roots
	}
	return v, nil
}

func (v *verifier) config() *tls.Config {
	return &tls.Config{
		ServerName: v.sni,
		// Verified in VerifyConnection, whose outcome is kept as a fact.
		InsecureSkipVerify: true,
		VerifyConnection:   v.check,
	}
}

func (v *verifier) check(cs tls.ConnectionState) error {
	if v.insecure {
		return nil
	}
	v.checked = true
	if len(cs.PeerCertificates) == 0 {
		v.err = errors.New("the server sent no certificate")
		return nil
	}
	inter := x509.NewCertPool()
	for _, c := range cs.PeerCertificates[1:] {
		inter.AddCert(c)
	}
	_, v.err = cs.PeerCertificates[0].Verify(x509.VerifyOptions{
		Roots: v.roots, Intermediates: inter, DNSName: v.name,
	})
	return nil
}

// facts describes the handshake; completed says whether it finished.
func (v *verifier) facts(cs tls.ConnectionState, completed bool) *TLSFacts {
	f := &TLSFacts{ServerName: v.sni}
	if !v.insecure {
		f.VerifyName = v.name
	}
	if completed {
		f.Version = tls.VersionName(cs.Version)
		f.CipherSuite = tls.CipherSuiteName(cs.CipherSuite)
	}
	if len(cs.PeerCertificates) > 0 {
		leaf := cs.PeerCertificates[0]
		f.Subject, f.Issuer, f.NotAfter = leaf.Subject.String(), leaf.Issuer.String(), leaf.NotAfter
		f.SANs = append(f.SANs, leaf.DNSNames...)
		for _, ip := range leaf.IPAddresses {
			f.SANs = append(f.SANs, ip.String())
		}
		slices.Sort(f.SANs)
	}
	if v.checked {
		ok := v.err == nil
		f.Verified = &ok
		if v.err != nil {
			f.VerifyError = v.err.Error()
		}
	}
	return f
}
