package kinds

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"net"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pelletier/go-toml/v2"
	xssh "golang.org/x/crypto/ssh"

	"probe/internal/testutil"
	"probe/probes"
	"probe/probes/ssh"
)

func sshBool(b bool) *bool { return &b }

const (
	fpA = "SHA256:Pws/XuSCw0v1DdPqkCnm5EPOQw8DM5tcFVLb+k5TgRc"
	fpB = "SHA256:+6JjDe3cZzCwFguDLBBfa+rF55pZcngsRVJC9jmxsFg"
)

func TestSSHSectionValidate(t *testing.T) {
	cases := []struct {
		name string
		s    SSHSection
		keys []string // keys with a problem, sorted
	}{
		{"empty", SSHSection{}, nil},
		{"reference", SSHSection{
			User: "deploy", Banner: `^SSH-2\.0-OpenSSH_`, HostKeyType: "ssh-ed25519", HostKeys: []string{fpA, fpB},
			AuthMethods: []string{"publickey"}, PasswordAuth: sshBool(false),
			KexForbid: []string{"diffie-hellman-group1-sha1"}, KexRequire: []string{"kex-strict-s-v00@openssh.com"},
		}, nil},
		{"user with a space", SSHSection{User: " root"}, []string{"user"}},
		{"user with a newline", SSHSection{User: "ro\not"}, []string{"user"}},
		{"bad regex", SSHSection{Banner: `SSH-(2`}, []string{"banner"}},
		{"unknown key type", SSHSection{HostKeyType: "ed25519"}, []string{"host_key_type"}},
		{"rsa key type", SSHSection{HostKeyType: "ssh-rsa"}, nil},
		{"empty host keys", SSHSection{HostKeys: []string{}}, []string{"host_keys"}},
		{"fingerprint without prefix", SSHSection{HostKeys: []string{fpA, strings.TrimPrefix(fpB, "SHA256:")}}, []string{"host_keys[1]"}},
		{"fingerprint as MD5", SSHSection{HostKeys: []string{"MD5:16:27:ac:a5:76:28:2d:36:63:1b:56:4d:eb:df:a6:48"}}, []string{"host_keys[0]"}},
		{"fingerprint too short", SSHSection{HostKeys: []string{fpA[:len(fpA)-1]}}, []string{"host_keys[0]"}},
		{"empty auth methods", SSHSection{AuthMethods: []string{}}, []string{"auth_methods"}},
		{"misspelt method", SSHSection{AuthMethods: []string{"publickey", "pasword"}}, []string{"auth_methods[1]"}},
		{"method twice", SSHSection{AuthMethods: []string{"publickey", "publickey"}}, []string{"auth_methods[1]"}},
		{"none with others", SSHSection{AuthMethods: []string{"none", "publickey"}}, []string{"auth_methods"}},
		{"none alone", SSHSection{AuthMethods: []string{"none"}}, nil},
		{"every RFC method", SSHSection{AuthMethods: []string{"publickey", "password", "keyboard-interactive", "hostbased", "gssapi-with-mic", "gssapi-keyex"}}, nil},
		{"password_auth false, password listed", SSHSection{AuthMethods: []string{"password"}, PasswordAuth: sshBool(false)}, []string{"password_auth"}},
		{"password_auth false, keyboard-interactive listed", SSHSection{AuthMethods: []string{"keyboard-interactive"}, PasswordAuth: sshBool(false)}, []string{"password_auth"}},
		{"password_auth true, neither listed", SSHSection{AuthMethods: []string{"publickey"}, PasswordAuth: sshBool(true)}, []string{"password_auth"}},
		{"password_auth true, password listed", SSHSection{AuthMethods: []string{"publickey", "password"}, PasswordAuth: sshBool(true)}, nil},
		{"empty kex_forbid", SSHSection{KexForbid: []string{}}, []string{"kex_forbid"}},
		{"empty kex_require", SSHSection{KexRequire: []string{}}, []string{"kex_require"}},
		{"kex name with a comma", SSHSection{KexForbid: []string{"curve25519-sha256,diffie-hellman-group1-sha1"}}, []string{"kex_forbid[0]"}},
		{"kex name with a space", SSHSection{KexRequire: []string{"curve25519-sha256", "sntrup761 x25519"}}, []string{"kex_require[1]"}},
		{"kex name empty", SSHSection{KexRequire: []string{""}}, []string{"kex_require[0]"}},
		{"kex name too long", SSHSection{KexRequire: []string{strings.Repeat("k", 65)}}, []string{"kex_require[0]"}},
		{"kex both forbidden and required", SSHSection{KexForbid: []string{"curve25519-sha256"}, KexRequire: []string{"curve25519-sha256"}}, []string{"kex_forbid"}},
		{"several problems, sorted", SSHSection{Banner: "(", AuthMethods: []string{"x"}, HostKeys: []string{"y"}}, []string{"auth_methods[0]", "banner", "host_keys[0]"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			wantProblemsAt(t, c.s.Validate(), c.keys)
		})
	}
}

// The section decodes from the TOML a user writes, strictly, and an empty
// list stays told apart from an absent one so validate can reject it.
func TestSSHSectionDecode(t *testing.T) {
	src := `
[ssh]
user = "deploy"
banner = '^SSH-2\.0-OpenSSH_'
host_key_type = "ssh-ed25519"
host_keys = ["` + fpA + `"]
auth_methods = ["publickey"]
password_auth = false
kex_forbid = ["diffie-hellman-group1-sha1"]
kex_require = []
`
	var doc struct {
		SSH SSHSection `toml:"ssh"`
	}
	dec := toml.NewDecoder(strings.NewReader(src))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		t.Fatal(err)
	}
	want := SSHSection{
		User: "deploy", Banner: `^SSH-2\.0-OpenSSH_`, HostKeyType: "ssh-ed25519", HostKeys: []string{fpA},
		AuthMethods: []string{"publickey"}, PasswordAuth: sshBool(false),
		KexForbid: []string{"diffie-hellman-group1-sha1"}, KexRequire: []string{},
	}
	if !reflect.DeepEqual(doc.SSH, want) {
		t.Errorf("decoded %+v; want %+v", doc.SSH, want)
	}
	errs := doc.SSH.Validate()
	if len(errs) != 1 || errs[0].Key != "kex_require" {
		t.Errorf("validate = %+v; want one problem, at kex_require", errs)
	}

	dec = toml.NewDecoder(strings.NewReader("[ssh]\npasword_auth = false\n"))
	dec.DisallowUnknownFields()
	var strict *toml.StrictMissingError
	if err := dec.Decode(&doc); !errors.As(err, &strict) {
		t.Errorf("a misspelt key decoded with error %v; want a StrictMissingError", err)
	}
}

func TestSSHOptions(t *testing.T) {
	cases := []struct {
		name string
		s    *SSHSection
		want ssh.Options
	}{
		{"no section: stop at the host key", nil, ssh.Options{StopAfterKex: true}},
		{"no auth assertion", &SSHSection{User: "deploy", HostKeys: []string{fpA}}, ssh.Options{User: "deploy", StopAfterKex: true}},
		{"auth_methods", &SSHSection{AuthMethods: []string{"publickey"}}, ssh.Options{}},
		{"password_auth", &SSHSection{PasswordAuth: sshBool(false)}, ssh.Options{}},
		{"rsa first", &SSHSection{HostKeyType: "ssh-rsa"}, ssh.Options{StopAfterKex: true, HostKeyAlgorithms: []string{
			"rsa-sha2-512", "rsa-sha2-256", "ssh-rsa", "ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521",
		}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := c.s.options(); !reflect.DeepEqual(got, c.want) {
				t.Errorf("options = %+v; want %+v", got, c.want)
			}
		})
	}
}

// openSSHFacts are the facts of a probe of a Debian 12 sshd with
// PasswordAuthentication no.
func openSSHFacts() *ssh.Facts {
	return &ssh.Facts{
		Banner: "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u10", SSH: true,
		Offered:     &ssh.Algorithms{Kex: []string{"sntrup761x25519-sha512@openssh.com", "curve25519-sha256", "diffie-hellman-group14-sha256", "kex-strict-s-v00@openssh.com"}},
		Negotiated:  &ssh.Negotiated{Kex: "curve25519-sha256", HostKey: "ssh-ed25519"},
		HostKeyType: "ssh-ed25519", HostKeyFingerprint: fpA,
		User: "probe", AuthQueried: true, AuthMethods: []string{"publickey"},
	}
}

func TestCheckSSH(t *testing.T) {
	open := func(f *ssh.Facts) probes.Observation {
		return probes.Observation{State: probes.Open, Outcome: "auth methods offered", Facts: f}
	}
	with := func(edit func(f *ssh.Facts)) probes.Observation {
		f := openSSHFacts()
		edit(f)
		return open(f)
	}
	stalled := probes.Observation{State: probes.Open, Error: probes.ErrProtocol, Outcome: "SSH banner received, then no key exchange before the timeout",
		Facts: &ssh.Facts{Banner: "SSH-2.0-stall", SSH: true}}
	notSSH := probes.Observation{State: probes.Open, Error: probes.ErrProtocol, Outcome: "not SSH",
		Facts: &ssh.Facts{Banner: "HTTP/1.1 400 Bad Request"}}
	noneAccepted := with(func(f *ssh.Facts) { f.AuthMethods, f.NoneAccepted = []string{"none"}, true })
	onlyNegotiated := with(func(f *ssh.Facts) { f.Offered = nil })

	cases := []struct {
		name     string
		s        SSHSection
		o        probes.Observation
		pass     bool
		critical bool
	}{
		{"auth_methods equal", SSHSection{AuthMethods: []string{"publickey"}}, open(openSSHFacts()), true, false},
		{"auth_methods any order", SSHSection{AuthMethods: []string{"publickey", "password"}}, with(func(f *ssh.Facts) { f.AuthMethods = []string{"password", "publickey"} }), true, false},
		{"auth_methods extra offered", SSHSection{AuthMethods: []string{"publickey"}}, with(func(f *ssh.Facts) { f.AuthMethods = []string{"password", "publickey"} }), false, false},
		{"auth_methods missing one", SSHSection{AuthMethods: []string{"publickey", "password"}}, open(openSSHFacts()), false, false},
		{"auth_methods not queried", SSHSection{AuthMethods: []string{"publickey"}}, stalled, false, false},
		{"auth_methods none accepted", SSHSection{AuthMethods: []string{"publickey"}}, noneAccepted, false, true},
		{"auth_methods none expected", SSHSection{AuthMethods: []string{"none"}}, noneAccepted, true, false},
		{"banner matches", SSHSection{Banner: `^SSH-2\.0-OpenSSH_9\.`}, open(openSSHFacts()), true, false},
		{"banner differs", SSHSection{Banner: `^SSH-2\.0-dropbear`}, open(openSSHFacts()), false, false},
		{"banner not SSH", SSHSection{Banner: `.`}, notSSH, false, false},
		{"banner of a stalled server", SSHSection{Banner: `^SSH-2\.0-`}, stalled, true, false},
		{"host_key_type equal", SSHSection{HostKeyType: "ssh-ed25519"}, open(openSSHFacts()), true, false},
		{"host_key_type differs", SSHSection{HostKeyType: "ssh-rsa"}, open(openSSHFacts()), false, false},
		{"host_key_type not seen", SSHSection{HostKeyType: "ssh-ed25519"}, stalled, false, false},
		{"host_keys pinned", SSHSection{HostKeys: []string{fpA}}, open(openSSHFacts()), true, false},
		{"host_keys one of several", SSHSection{HostKeys: []string{fpB, fpA}}, open(openSSHFacts()), true, false},
		{"host_keys mismatch", SSHSection{HostKeys: []string{fpB}}, open(openSSHFacts()), false, false},
		{"host_keys not seen", SSHSection{HostKeys: []string{fpA}}, stalled, false, false},
		{"kex_forbid absent", SSHSection{KexForbid: []string{"diffie-hellman-group1-sha1", "diffie-hellman-group14-sha1"}}, open(openSSHFacts()), true, false},
		{"kex_forbid offered", SSHSection{KexForbid: []string{"diffie-hellman-group1-sha1", "diffie-hellman-group14-sha256"}}, open(openSSHFacts()), false, false},
		{"kex_forbid only negotiated", SSHSection{KexForbid: []string{"diffie-hellman-group1-sha1"}}, onlyNegotiated, false, false},
		{"kex_forbid not seen", SSHSection{KexForbid: []string{"diffie-hellman-group1-sha1"}}, stalled, false, false},
		{"kex_require offered", SSHSection{KexRequire: []string{"kex-strict-s-v00@openssh.com", "curve25519-sha256"}}, open(openSSHFacts()), true, false},
		{"kex_require missing", SSHSection{KexRequire: []string{"mlkem768x25519-sha256"}}, open(openSSHFacts()), false, false},
		{"kex_require only negotiated, chosen", SSHSection{KexRequire: []string{"curve25519-sha256"}}, onlyNegotiated, true, false},
		{"kex_require only negotiated, other", SSHSection{KexRequire: []string{"kex-strict-s-v00@openssh.com"}}, onlyNegotiated, false, false},
		{"password_auth false holds", SSHSection{PasswordAuth: sshBool(false)}, open(openSSHFacts()), true, false},
		{"password_auth false, password offered", SSHSection{PasswordAuth: sshBool(false)}, with(func(f *ssh.Facts) { f.AuthMethods = []string{"password", "publickey"} }), false, false},
		{"password_auth false, keyboard-interactive offered", SSHSection{PasswordAuth: sshBool(false)}, with(func(f *ssh.Facts) { f.AuthMethods = []string{"keyboard-interactive", "publickey"} }), false, false},
		{"password_auth false, none accepted", SSHSection{PasswordAuth: sshBool(false)}, noneAccepted, false, true},
		{"password_auth true holds", SSHSection{PasswordAuth: sshBool(true)}, with(func(f *ssh.Facts) { f.AuthMethods = []string{"keyboard-interactive"} }), true, false},
		{"password_auth true, not offered", SSHSection{PasswordAuth: sshBool(true)}, open(openSSHFacts()), false, false},
		{"password_auth not queried", SSHSection{PasswordAuth: sshBool(false)}, stalled, false, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			checks := checkSSH(c.o, Params{Section: &c.s})
			if len(checks) != 1 {
				t.Fatalf("checks = %+v; want one", checks)
			}
			got := checks[0]
			if got.Pass != c.pass || got.Critical != c.critical {
				t.Errorf("Pass, Critical = %v, %v; want %v, %v (%+v)", got.Pass, got.Critical, c.pass, c.critical, got)
			}
			if got.Expected == "" || got.Observed == "" {
				t.Errorf("check %+v; want Expected and Observed filled in", got)
			}
		})
	}
}

// A reader sees in each check what was wrong, and checks come in the order
// of their names whatever the section's order.
func TestCheckSSHSaysWhatIsWrong(t *testing.T) {
	f := openSSHFacts()
	f.AuthMethods = []string{"password", "publickey"}
	s := &SSHSection{
		PasswordAuth: sshBool(false), KexForbid: []string{"diffie-hellman-group14-sha256"}, KexRequire: []string{"mlkem768x25519-sha256"},
		HostKeys: []string{fpB}, HostKeyType: "ssh-ed25519", Banner: "^SSH-2.0-OpenSSH", AuthMethods: []string{"publickey"},
	}
	checks := checkSSH(probes.Observation{State: probes.Open, Facts: f}, Params{Section: s})
	var names []string
	observed := map[string]string{}
	for _, c := range checks {
		names = append(names, c.Name)
		observed[c.Name] = c.Observed
	}
	if want := []string{"auth_methods", "banner", "host_key_type", "host_keys", "kex_forbid", "kex_require", "password_auth"}; !slices.Equal(names, want) {
		t.Errorf("check names = %q; want %q", names, want)
	}
	for name, want := range map[string]string{
		"auth_methods":  "offered password,publickey",
		"host_keys":     "ssh-ed25519 " + fpA,
		"kex_forbid":    "offered: diffie-hellman-group14-sha256",
		"kex_require":   "not offered: mlkem768x25519-sha256",
		"password_auth": "offered password,publickey",
	} {
		if observed[name] != want {
			t.Errorf("%s observed %q; want %q", name, observed[name], want)
		}
	}
	if checkSSH(probes.Observation{State: probes.Open, Facts: f}, Params{}) != nil {
		t.Errorf("checks without a section; want none")
	}
}

// The kind runs the probe with the section's options against a server on
// loopback: the "none" request only when an assertion needs it.
func TestSSHKindRun(t *testing.T) {
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var users []string
	cfg := &xssh.ServerConfig{
		PasswordCallback: func(xssh.ConnMetadata, []byte) (*xssh.Permissions, error) { return nil, errors.New("no") },
		AuthLogCallback: func(c xssh.ConnMetadata, _ string, _ error) {
			mu.Lock()
			defer mu.Unlock()
			users = append(users, c.User())
		},
	}
	var rsaFP string
	for _, k := range []any{edKey, rsaKey} {
		s, err := xssh.NewSignerFromKey(k)
		if err != nil {
			t.Fatal(err)
		}
		cfg.AddHostKey(s)
		rsaFP = xssh.FingerprintSHA256(s.PublicKey())
	}
	target := serveOneSSH(t, cfg)
	kind := Lookup("ssh")

	run := func(s *SSHSection) (probes.Observation, *ssh.Facts) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		o := kind.Run(ctx, target, Params{Timeout: 2 * time.Second, Section: s})
		f, _ := o.Facts.(*ssh.Facts)
		if o.State != probes.Open || f == nil {
			t.Fatalf("observation %+v; want open with facts", o)
		}
		return o, f
	}

	s := &SSHSection{User: "deploy", AuthMethods: []string{"password"}}
	o, f := run(s)
	if !f.AuthQueried || !slices.Equal(f.AuthMethods, []string{"password"}) {
		t.Errorf("AuthQueried, AuthMethods = %v, %q; want true, [password]", f.AuthQueried, f.AuthMethods)
	}
	if checks := kind.Assert(o, Params{Section: s}); len(checks) != 1 || !checks[0].Pass {
		t.Errorf("checks = %+v; want auth_methods passing", checks)
	}

	s = &SSHSection{User: "deploy", HostKeyType: "ssh-rsa", HostKeys: []string{rsaFP}}
	o, f = run(s)
	if f.AuthQueried {
		t.Errorf("AuthQueried = true; want no \"none\" request without an auth assertion")
	}
	for _, c := range kind.Assert(o, Params{Section: s}) {
		if !c.Pass {
			t.Errorf("check %+v failed; want the RSA key pinned", c)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(users, []string{"deploy"}) {
		t.Errorf("server saw auth requests from %q; want one, from deploy", users)
	}
}

// serveOneSSH runs an x/crypto SSH server on loopback.
func serveOneSSH(t *testing.T, cfg *xssh.ServerConfig) probes.Target {
	t.Helper()
	ln := testutil.ServeTCP(t, func(c net.Conn) {
		_ = c.SetDeadline(time.Now().Add(2 * time.Second))
		if sc, _, _, err := xssh.NewServerConn(c, cfg); err == nil {
			sc.Close()
		}
	})
	return probes.Target{Name: "ssh", Host: "127.0.0.1", Port: testutil.Port(ln.Addr()), Transport: "tcp"}
}
