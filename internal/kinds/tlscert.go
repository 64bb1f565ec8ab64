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

// TLSChecks are the keys on a TLS handshake and its certificate that the
// sections of the kinds that speak TLS share ([expectation.http],
// [expectation.postgres], [expectation.redis]): each embeds them, so the
// keys read and validate alike. The data-tier kinds judge them on the one
// handshake the probe made, so their min_tls_version is the negotiated
// version alone; the http kind, which may open a connection per older
// version, also proves those refused (checkTLS).
type TLSChecks struct {
	// ServerName is sent as SNI and is the name the certificate must be
	// valid for; the target's address when empty.
	ServerName string `toml:"server_name,omitempty" json:"server_name,omitempty"`
	// CAFile is a PEM bundle of roots trusted besides the system's (the
	// RDS certificate bundle, say).
	CAFile string `toml:"ca_file,omitempty" json:"ca_file,omitempty"`
	// MinTLSVersion is the oldest acceptable negotiated version: "1.0",
	// "1.1", "1.2" or "1.3". Older versions are not tried: that would take
	// a connection each.
	MinTLSVersion string `toml:"min_tls_version,omitempty" json:"min_tls_version,omitempty"`
	// MinDaysLeft is how many whole days the certificate must still be
	// valid for (0: not expired).
	MinDaysLeft *int `toml:"min_days_left,omitempty" json:"min_days_left,omitempty"`
	// ChainVerifies, when set, is whether the chain must verify for the
	// server name against the system roots and the CA file.
	ChainVerifies *bool `toml:"chain_verifies,omitempty" json:"chain_verifies,omitempty"`
}

func (c *TLSChecks) validate() []FieldError {
	var errs []FieldError
	if c.MinTLSVersion != "" && !slices.Contains(tlsVersions, "TLS "+c.MinTLSVersion) {
		errs = append(errs, FieldError{Key: "min_tls_version", Msg: fmt.Sprintf("%q is not a TLS version (want 1.0, 1.1, 1.2 or 1.3)", c.MinTLSVersion)})
	}
	if c.MinDaysLeft != nil && *c.MinDaysLeft < 0 {
		errs = append(errs, FieldError{Key: "min_days_left", Msg: fmt.Sprintf("%d: a certificate is judged on the days it has left, 0 or more", *c.MinDaysLeft)})
	}
	if c.ServerName != "" {
		if _, _, err := net.SplitHostPort(c.ServerName); err == nil || strings.ContainsAny(c.ServerName, " \t/") {
			errs = append(errs, FieldError{Key: "server_name", Msg: fmt.Sprintf("%q is not a host name (give the name alone, without a port or scheme)", c.ServerName)})
		}
	}
	return errs
}

// resolveFiles takes a relative ca_file from dir, and checks it is a file.
func (c *TLSChecks) resolveFiles(dir string) []FieldError {
	if c.CAFile == "" {
		return nil
	}
	if !filepath.IsAbs(c.CAFile) {
		c.CAFile = filepath.Join(dir, c.CAFile)
	}
	// Stat, not open: opening a FIFO would block validation.
	if st, err := os.Stat(c.CAFile); err != nil {
		return []FieldError{{Key: "ca_file", Msg: fmt.Sprintf("cannot use %s (a relative path is taken from the config file's directory): %v", c.CAFile, errors.Unwrap(err))}}
	} else if !st.Mode().IsRegular() {
		return []FieldError{{Key: "ca_file", Msg: fmt.Sprintf("%s is not a file of PEM certificates", c.CAFile)}}
	}
	return nil
}

// caFiles are the CA files the probe trusts: the section's, then the
// command line's.
func (c *TLSChecks) caFiles(p Params) []string {
	var out []string
	if c != nil && c.CAFile != "" {
		out = append(out, c.CAFile)
	}
	if p.CAFile != "" {
		out = append(out, p.CAFile)
	}
	return out
}

// assert judges the handshake's facts; tf is nil when no handshake was made.
func (c *TLSChecks) assert(tf *tlsinfo.Facts) []Assertion {
	out := append(c.chain(tf), c.daysLeft(tf)...)
	if c.MinTLSVersion != "" {
		want := "TLS " + c.MinTLSVersion
		seen := "no TLS handshake"
		if tf != nil && tf.Version != "" {
			seen = tf.Version
		}
		pass := tf != nil && tf.Version != "" && slices.Index(tlsVersions, tf.Version) >= slices.Index(tlsVersions, want)
		out = append(out, Assertion{Name: "min_tls_version", Expected: "negotiates " + want + " or later", Observed: seen, Pass: pass})
	}
	return out
}

// chain judges chain_verifies, when the section asks it.
func (c *TLSChecks) chain(tf *tlsinfo.Facts) []Assertion {
	if c.ChainVerifies == nil {
		return nil
	}
	want := *c.ChainVerifies
	expected, seen := "the chain verifies", "no certificate"
	if !want {
		expected = "the chain does not verify"
	}
	if tf != nil && tf.VerifyName != "" {
		expected += " for " + tf.VerifyName
	}
	hasCert := tf != nil && tf.Verified != nil
	if hasCert {
		seen = "verifies for " + tf.VerifyName
		if !*tf.Verified {
			seen = "does not verify: " + tf.VerifyError
		}
	}
	return []Assertion{{Name: "chain_verifies", Expected: expected, Observed: seen, Pass: hasCert && *tf.Verified == want}}
}

// daysLeft judges min_days_left, when the section asks it.
func (c *TLSChecks) daysLeft(tf *tlsinfo.Facts) []Assertion {
	if c.MinDaysLeft == nil {
		return nil
	}
	hasCert := tf != nil && tf.Verified != nil
	seen := "no certificate"
	if hasCert {
		seen = fmt.Sprintf("%d days left (not after %s)", tf.DaysLeft, tf.NotAfter)
	}
	return []Assertion{{Name: "min_days_left", Expected: fmt.Sprintf("at least %d days left", *c.MinDaysLeft), Observed: seen,
		Pass: hasCert && tf.DaysLeft >= *c.MinDaysLeft}}
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
