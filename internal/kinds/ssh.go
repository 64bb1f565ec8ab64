package kinds

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode"

	"probe/probes"
	"probe/probes/ssh"
)

// SSHSection is [expectation.ssh]: the user the probe names, and the
// assertions judged when the port answers. Lists are compared as sets
// unless said otherwise.
//
// The probe makes one connection and is shown one host key: the first type
// on its list that the server has (Ed25519, then ECDSA, then RSA), or
// host_key_type when set. So host_keys pins the key of that one type; list
// several fingerprints to accept any of them (a rotation, or several hosts
// behind one name).
//
// auth_methods and password_auth are the only assertions that need the
// "none" authentication request; without them the probe closes after the
// host key and the server logs no user name.
type SSHSection struct {
	// User is the name sent in the "none" request; "probe" when empty.
	// Make it an account that exists: an unknown user is what fail2ban's
	// default sshd filter counts (see probes/ssh/README.md).
	User string `toml:"user,omitempty" json:"user,omitempty"`
	// Banner is a regular expression the server's identification line
	// must match ("^SSH-2\\.0-OpenSSH_").
	Banner string `toml:"banner,omitempty" json:"banner,omitempty"`
	// HostKeyType is the host key type to ask for first, and to require:
	// ssh-ed25519, ecdsa-sha2-nistp256/384/521 or ssh-rsa.
	HostKeyType string `toml:"host_key_type,omitempty" json:"host_key_type,omitempty"`
	// HostKeys lists the accepted fingerprints of the presented host key,
	// as `ssh-keygen -lf` prints them ("SHA256:" and 43 characters).
	HostKeys []string `toml:"host_keys,omitempty" json:"host_keys,omitempty"`
	// AuthMethods is the exact set of methods the server must offer this
	// vantage (RFC 4252 names, any order). ["none"] expects a server that
	// lets anyone in unauthenticated.
	AuthMethods []string `toml:"auth_methods,omitempty" json:"auth_methods,omitempty"`
	// PasswordAuth, when false, requires that neither "password" nor
	// "keyboard-interactive" be offered: behind PAM, keyboard-interactive
	// asks for the same password. When true, one of them must be offered.
	PasswordAuth *bool `toml:"password_auth,omitempty" json:"password_auth,omitempty"`
	// KexForbid lists key exchange methods the server must not offer.
	KexForbid []string `toml:"kex_forbid,omitempty" json:"kex_forbid,omitempty"`
	// KexRequire lists key exchange methods the server must offer
	// (e.g. "kex-strict-s-v00@openssh.com", the Terrapin countermeasure).
	KexRequire []string `toml:"kex_require,omitempty" json:"kex_require,omitempty"`
}

// authMethodNames are the method names the SSH RFCs define: RFC 4252
// (publickey, password, hostbased, none), RFC 4256 (keyboard-interactive)
// and RFC 4462 (gssapi-with-mic, gssapi-keyex).
var authMethodNames = []string{"gssapi-keyex", "gssapi-with-mic", "hostbased", "keyboard-interactive", "none", "password", "publickey"}

// passwordLike are the methods through which a password is typed.
var passwordLike = []string{"keyboard-interactive", "password"}

// hostKeyTypes maps each host key type to the signature algorithms that
// present it, best first.
var hostKeyTypes = map[string][]string{
	"ssh-ed25519":         {"ssh-ed25519"},
	"ecdsa-sha2-nistp256": {"ecdsa-sha2-nistp256"},
	"ecdsa-sha2-nistp384": {"ecdsa-sha2-nistp384"},
	"ecdsa-sha2-nistp521": {"ecdsa-sha2-nistp521"},
	"ssh-rsa":             {"rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"},
}

// sshAlgorithmName is an SSH algorithm name (RFC 4251 §6): printable
// US-ASCII (0x21-0x7e) but the comma (0x2c), at most 64 characters.
var sshAlgorithmName = regexp.MustCompile(`^[\x21-\x2b\x2d-\x7e]{1,64}$`)

// Validate checks the section.
func (s *SSHSection) Validate() []FieldError {
	var errs []FieldError
	add := func(key, format string, args ...any) {
		errs = append(errs, FieldError{Key: key, Msg: fmt.Sprintf(format, args...)})
	}
	if strings.TrimSpace(s.User) != s.User || strings.ContainsFunc(s.User, unicode.IsControl) {
		add("user", "%q is not a user name (no surrounding spaces or control characters)", s.User)
	}
	if _, err := regexp.Compile(s.Banner); err != nil {
		add("banner", "not a valid regular expression: %v", err)
	}
	if s.HostKeyType != "" && hostKeyTypes[s.HostKeyType] == nil {
		add("host_key_type", "%q is not a host key type (one of %s)", s.HostKeyType, strings.Join(sortedKeys(hostKeyTypes), ", "))
	}
	if s.HostKeys != nil && len(s.HostKeys) == 0 {
		add("host_keys", "an empty list pins nothing; list fingerprints or remove the key")
	}
	for i, fp := range s.HostKeys {
		if !ssh.ValidFingerprint(fp) {
			add(fmt.Sprintf("host_keys[%d]", i), "%q is not a SHA-256 fingerprint as ssh-keygen -lf prints it (SHA256: and 43 base64 characters)", fp)
		}
	}
	switch {
	case s.AuthMethods != nil && len(s.AuthMethods) == 0:
		add("auth_methods", `an empty set is never offered; to expect a server that needs no authentication, write ["none"]`)
	case slices.Contains(s.AuthMethods, "none") && len(s.AuthMethods) > 1:
		add("auth_methods", `"none" stands alone: a server that accepts it lists nothing else`)
	}
	for i, m := range s.AuthMethods {
		if !slices.Contains(authMethodNames, m) {
			add(fmt.Sprintf("auth_methods[%d]", i), "%q is not an SSH authentication method (one of %s)", m, strings.Join(authMethodNames, ", "))
		} else if slices.Index(s.AuthMethods, m) < i {
			add(fmt.Sprintf("auth_methods[%d]", i), "%q is listed twice", m)
		}
	}
	if s.PasswordAuth != nil && s.AuthMethods != nil {
		offers := slices.ContainsFunc(s.AuthMethods, func(m string) bool { return slices.Contains(passwordLike, m) })
		switch {
		case offers && !*s.PasswordAuth:
			add("password_auth", "false contradicts auth_methods, which lists password or keyboard-interactive")
		case !offers && *s.PasswordAuth:
			add("password_auth", "true contradicts auth_methods, which lists neither password nor keyboard-interactive")
		}
	}
	for key, names := range map[string][]string{"kex_forbid": s.KexForbid, "kex_require": s.KexRequire} {
		if names != nil && len(names) == 0 {
			add(key, "an empty list asserts nothing; list key exchange methods or remove the key")
		}
		for i, n := range names {
			if !sshAlgorithmName.MatchString(n) {
				add(fmt.Sprintf("%s[%d]", key, i), "%q is not an SSH algorithm name (printable ASCII, no commas or spaces, at most 64 characters)", n)
			}
		}
	}
	for _, n := range s.KexRequire {
		if slices.Contains(s.KexForbid, n) {
			add("kex_forbid", "%s is also in kex_require; no server can pass both", n)
		}
	}
	slices.SortStableFunc(errs, func(a, b FieldError) int { return strings.Compare(a.Key, b.Key) })
	return errs
}

// asksAuth reports whether an assertion needs the "none" request.
func (s *SSHSection) asksAuth() bool {
	return s != nil && (s.AuthMethods != nil || s.PasswordAuth != nil)
}

// options turns the section into the probe's options. A nil section probes
// up to the host key.
func (s *SSHSection) options() ssh.Options {
	opt := ssh.Options{StopAfterKex: !s.asksAuth()}
	if s == nil {
		return opt
	}
	opt.User = s.User
	if first := hostKeyTypes[s.HostKeyType]; first != nil {
		opt.HostKeyAlgorithms = append(slices.Clone(first), slices.DeleteFunc(slices.Clone(ssh.DefaultHostKeyAlgorithms), func(a string) bool {
			return slices.Contains(first, a)
		})...)
	}
	return opt
}

func init() {
	Register(&Kind{
		Name:       "ssh",
		Transports: []string{"tcp"},
		Section:    func() Section { return new(SSHSection) },
		Run: func(ctx context.Context, t probes.Target, p Params) probes.Observation {
			return ssh.Probe(ctx, t, SectionOf[*SSHSection](p).options())
		},
		Assert: checkSSH,
		Facts:  func() any { return new(ssh.Facts) },
		Metrics: []Metric{{
			Name: "probe_ssh_host_key_info",
			Help: "The SSH host key the server presented; a new fingerprint is a new series.",
			Samples: func(facts any) []Sample {
				f, _ := facts.(*ssh.Facts)
				if f == nil || f.HostKeyFingerprint == "" {
					return nil
				}
				return []Sample{{Labels: []string{"type", f.HostKeyType, "fingerprint", f.HostKeyFingerprint}, Value: 1}}
			},
		}},
		Changes: sshChanges,
	})
}

// sshChanges reports a new host key: a rebuilt server, or another one
// answering in its place.
func sshChanges(old, new any) []FactChange {
	of, _ := old.(*ssh.Facts)
	nf, _ := new.(*ssh.Facts)
	if of == nil || nf == nil {
		return nil
	}
	if o, n := of.HostKeyFingerprint, nf.HostKeyFingerprint; o != "" && n != "" && o != n {
		return []FactChange{{Kind: "ssh-host-key-changed", Old: o, New: n, Matters: true,
			Detail: fmt.Sprintf("presents a new SSH host key: %s → %s", o, n)}}
	}
	return nil
}

// checkSSH judges the facts of an SSH probe. Checks come in the order of
// their names. A fact the handshake did not reach fails its check, with the
// probe's outcome as what was seen.
func checkSSH(o probes.Observation, p Params) []Assertion {
	s := SectionOf[*SSHSection](p)
	if s == nil {
		return nil
	}
	f, _ := o.Facts.(*ssh.Facts)
	if f == nil {
		f = &ssh.Facts{}
	}
	notSeen := "(not seen: " + o.Outcome + ")"
	var out []Assertion

	if s.AuthMethods != nil {
		want := slices.Sorted(slices.Values(s.AuthMethods))
		c := Assertion{Name: "auth_methods", Expected: strings.Join(want, ","), Observed: notSeen}
		if f.AuthQueried {
			c.Observed = authSeen(f)
			c.Pass = slices.Equal(f.AuthMethods, want)
			c.Critical = f.NoneAccepted && !c.Pass
		}
		out = append(out, c)
	}
	if s.Banner != "" {
		c := Assertion{Name: "banner", Expected: "matches " + s.Banner, Observed: notSeen}
		switch {
		case f.SSH:
			c.Observed, c.Pass = f.Banner, regexp.MustCompile(s.Banner).MatchString(f.Banner)
		case f.Banner != "":
			c.Observed = "not SSH: " + f.Banner
		}
		out = append(out, c)
	}
	if s.HostKeyType != "" {
		c := Assertion{Name: "host_key_type", Expected: s.HostKeyType, Observed: notSeen}
		if f.HostKeyType != "" {
			c.Observed, c.Pass = f.HostKeyType, f.HostKeyType == s.HostKeyType
		}
		out = append(out, c)
	}
	if s.HostKeys != nil {
		c := Assertion{Name: "host_keys", Expected: "one of " + strings.Join(s.HostKeys, ", "), Observed: notSeen}
		if len(s.HostKeys) == 1 {
			c.Expected = s.HostKeys[0]
		}
		if f.HostKeyFingerprint != "" {
			c.Observed = f.HostKeyType + " " + f.HostKeyFingerprint
			c.Pass = slices.Contains(s.HostKeys, f.HostKeyFingerprint)
		}
		out = append(out, c)
	}
	if s.KexForbid != nil {
		out = append(out, checkKex("kex_forbid", s.KexForbid, f, notSeen))
	}
	if s.KexRequire != nil {
		out = append(out, checkKex("kex_require", s.KexRequire, f, notSeen))
	}
	if s.PasswordAuth != nil {
		c := Assertion{Name: "password_auth", Expected: "neither password nor keyboard-interactive offered", Observed: notSeen}
		if *s.PasswordAuth {
			c.Expected = "password or keyboard-interactive offered"
		}
		if f.AuthQueried {
			offered := slices.ContainsFunc(f.AuthMethods, func(m string) bool { return slices.Contains(passwordLike, m) })
			c.Observed = authSeen(f)
			// A server that needs no authentication is never a pass.
			c.Pass = !f.NoneAccepted && offered == *s.PasswordAuth
			c.Critical = f.NoneAccepted
		}
		out = append(out, c)
	}
	return out
}

// authSeen says which methods were offered.
func authSeen(f *ssh.Facts) string {
	switch {
	case f.NoneAccepted:
		return "none accepted: the server let the probe in without authentication"
	case len(f.AuthMethods) == 0:
		return "no methods offered"
	}
	return "offered " + strings.Join(f.AuthMethods, ",")
}

// checkKex judges kex_forbid or kex_require against the server's offer.
// When only the negotiated method is known, a required one is shown
// offered if it was the one chosen, and nothing is shown absent.
func checkKex(name string, names []string, f *ssh.Facts, notSeen string) Assertion {
	forbid := name == "kex_forbid"
	c := Assertion{Name: name, Expected: "offered: " + strings.Join(names, ", "), Observed: notSeen}
	if forbid {
		c.Expected = "not offered: " + strings.Join(names, ", ")
	}
	switch {
	case f.Offered != nil:
		var hit, miss []string
		for _, n := range names {
			if slices.Contains(f.Offered.Kex, n) {
				hit = append(hit, n)
			} else {
				miss = append(miss, n)
			}
		}
		if forbid {
			c.Pass = len(hit) == 0
			c.Observed = fmt.Sprintf("none of them among the %d offered", len(f.Offered.Kex))
			if !c.Pass {
				c.Observed = "offered: " + strings.Join(hit, ", ")
			}
		} else {
			c.Pass = len(miss) == 0
			c.Observed = "all offered"
			if !c.Pass {
				c.Observed = "not offered: " + strings.Join(miss, ", ")
			}
		}
	case f.Negotiated != nil:
		c.Observed = "only the negotiated method was seen, not the server's offer: " + f.Negotiated.Kex
		c.Pass = !forbid && len(names) == 1 && names[0] == f.Negotiated.Kex
	}
	return c
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
