package ssh

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"io"
	"net"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"probe/internal/testutil"
	"probe/probes"
)

// testTimeout bounds each probe in these tests; servers on loopback answer
// in milliseconds, and the stalling ones are meant to hit it.
const testTimeout = 2 * time.Second

// authLog records what a fake server was asked, to show that the probe
// sends no credential.
type authLog struct {
	mu      sync.Mutex
	users   []string
	methods []string
	creds   int // password, key or keyboard-interactive callbacks reached
}

func (l *authLog) attempt(c ssh.ConnMetadata, method string, _ error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.users = append(l.users, c.User())
	l.methods = append(l.methods, method)
}

func (l *authLog) credential() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.creds++
}

func (l *authLog) snapshot() (users, methods []string, creds int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.users), slices.Clone(l.methods), l.creds
}

func newSigner(t *testing.T, kind string) ssh.Signer {
	t.Helper()
	var key any
	switch kind {
	case "ed25519":
		_, k, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		key = k
	case "rsa":
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		key = k
	}
	s, err := ssh.NewSignerFromKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// serverConfig builds an x/crypto SSH server config offering the given
// methods ("publickey", "password", "keyboard-interactive") and rejecting
// every credential, recording each attempt in log.
func serverConfig(log *authLog, methods ...string) *ssh.ServerConfig {
	cfg := &ssh.ServerConfig{AuthLogCallback: log.attempt}
	for _, m := range methods {
		switch m {
		case "publickey":
			cfg.PublicKeyCallback = func(ssh.ConnMetadata, ssh.PublicKey) (*ssh.Permissions, error) {
				log.credential()
				return nil, errors.New("no")
			}
		case "password":
			cfg.PasswordCallback = func(ssh.ConnMetadata, []byte) (*ssh.Permissions, error) {
				log.credential()
				return nil, errors.New("no")
			}
		case "keyboard-interactive":
			cfg.KeyboardInteractiveCallback = func(ssh.ConnMetadata, ssh.KeyboardInteractiveChallenge) (*ssh.Permissions, error) {
				log.credential()
				return nil, errors.New("no")
			}
		}
	}
	return cfg
}

// listen starts a loopback listener whose connections are handed to handle,
// and returns the target for it.
func listen(t *testing.T, handle func(net.Conn)) probes.Target {
	t.Helper()
	ln := testutil.ServeTCP(t, handle)
	return probes.Target{Name: "test", Host: "127.0.0.1", Port: testutil.Port(ln.Addr()), Transport: "tcp"}
}

// serveSSH runs an x/crypto SSH server with cfg on loopback.
func serveSSH(t *testing.T, cfg *ssh.ServerConfig) probes.Target {
	return listen(t, func(c net.Conn) {
		_ = c.SetDeadline(time.Now().Add(testTimeout))
		sc, chans, reqs, err := ssh.NewServerConn(c, cfg)
		if err != nil {
			return
		}
		defer sc.Close()
		go ssh.DiscardRequests(reqs)
		for nc := range chans {
			_ = nc.Reject(ssh.Prohibited, "test server")
		}
	})
}

func probe(t *testing.T, target probes.Target, opt Options) (probes.Observation, *Facts) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	o := Probe(ctx, target, opt)
	f, ok := o.Facts.(*Facts)
	if !ok {
		t.Fatalf("Facts = %T; want *Facts (observation %+v)", o.Facts, o)
	}
	return o, f
}

func TestAuthMethodsOffered(t *testing.T) {
	tests := []struct {
		name    string
		methods []string
		want    []string
	}{
		{"publickey_only", []string{"publickey"}, []string{"publickey"}},
		{"password_enabled", []string{"publickey", "password"}, []string{"password", "publickey"}},
		{"keyboard_interactive", []string{"publickey", "keyboard-interactive"}, []string{"keyboard-interactive", "publickey"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			log := &authLog{}
			cfg := serverConfig(log, tt.methods...)
			hostKey := newSigner(t, "ed25519")
			cfg.AddHostKey(hostKey)
			o, f := probe(t, serveSSH(t, cfg), Options{})

			if o.State != probes.Open || o.Error != "" {
				t.Fatalf("State, Error = %q, %q; want open, no error (outcome %q, detail %q)", o.State, o.Error, o.Outcome, o.Detail)
			}
			if !f.AuthQueried || !slices.Equal(f.AuthMethods, tt.want) {
				t.Errorf("AuthQueried, AuthMethods = %v, %q; want true, %q", f.AuthQueried, f.AuthMethods, tt.want)
			}
			if f.NoneAccepted {
				t.Errorf("NoneAccepted = true; want false")
			}
			if want := ssh.FingerprintSHA256(hostKey.PublicKey()); f.HostKeyType != "ssh-ed25519" || f.HostKeyFingerprint != want {
				t.Errorf("host key = %s %s; want ssh-ed25519 %s", f.HostKeyType, f.HostKeyFingerprint, want)
			}
			if !f.SSH || f.Banner != "SSH-2.0-Go" {
				t.Errorf("SSH, Banner = %v, %q; want true, %q", f.SSH, f.Banner, "SSH-2.0-Go")
			}
			if f.Negotiated == nil || f.Negotiated.Kex == "" || f.Negotiated.CipherS2C == "" {
				t.Errorf("Negotiated = %+v; want kex and cipher", f.Negotiated)
			}
			if f.User != DefaultUser {
				t.Errorf("User = %q; want %q", f.User, DefaultUser)
			}

			// What the server saw: one "none" request as "probe", and no
			// credential of any kind.
			users, methods, creds := log.snapshot()
			if !slices.Equal(methods, []string{"none"}) || !slices.Equal(users, []string{"probe"}) || creds != 0 {
				t.Errorf("server saw methods %q from users %q and %d credentials; want [none] from [probe], 0", methods, users, creds)
			}
		})
	}
}

func TestOptionsUserAndClientVersion(t *testing.T) {
	log := &authLog{}
	cfg := serverConfig(log, "publickey")
	cfg.AddHostKey(newSigner(t, "ed25519"))
	var seenVersion string
	var mu sync.Mutex
	cfg.PublicKeyCallback = nil
	cfg.PasswordCallback = func(c ssh.ConnMetadata, _ []byte) (*ssh.Permissions, error) {
		log.credential()
		return nil, errors.New("no")
	}
	cfg.AuthLogCallback = func(c ssh.ConnMetadata, method string, err error) {
		mu.Lock()
		seenVersion = string(c.ClientVersion())
		mu.Unlock()
		log.attempt(c, method, err)
	}
	_, f := probe(t, serveSSH(t, cfg), Options{User: "deploy", ClientVersion: "SSH-2.0-probe_test"})
	users, _, creds := log.snapshot()
	mu.Lock()
	defer mu.Unlock()
	if seenVersion != "SSH-2.0-probe_test" || !slices.Equal(users, []string{"deploy"}) || creds != 0 {
		t.Errorf("server saw version %q, users %q, %d credentials; want SSH-2.0-probe_test, [deploy], 0", seenVersion, users, creds)
	}
	if f.User != "deploy" {
		t.Errorf("User = %q; want deploy", f.User)
	}
}

func TestDefaultClientVersionNamesTheTool(t *testing.T) {
	var seen string
	var mu sync.Mutex
	cfg := &ssh.ServerConfig{NoClientAuth: true, NoClientAuthCallback: func(c ssh.ConnMetadata) (*ssh.Permissions, error) {
		mu.Lock()
		defer mu.Unlock()
		seen = string(c.ClientVersion())
		return nil, errors.New("no")
	}, PasswordCallback: func(ssh.ConnMetadata, []byte) (*ssh.Permissions, error) { return nil, errors.New("no") }}
	cfg.AddHostKey(newSigner(t, "ed25519"))
	probe(t, serveSSH(t, cfg), Options{})
	mu.Lock()
	defer mu.Unlock()
	if want := "SSH-2.0-probe_" + softwareVersion(probes.Version()); seen != want {
		t.Errorf("server saw client version %q; want %q", seen, want)
	}
}

func TestSoftwareVersion(t *testing.T) {
	tests := []struct{ in, want string }{
		{"v1.2.3", "v1.2.3"},
		{"dev", "dev"},
		{"v0.0.0-20261126-abcdef", "v0.0.0.20261126.abcdef"},
		{"v1 beta\t\u00e9", "v1.beta.."},
	}
	for _, tt := range tests {
		if got := softwareVersion(tt.in); got != tt.want {
			t.Errorf("softwareVersion(%q) = %q; want %q", tt.in, got, tt.want)
		}
	}
}

func TestNoneAccepted(t *testing.T) {
	cfg := &ssh.ServerConfig{NoClientAuth: true}
	cfg.AddHostKey(newSigner(t, "ed25519"))
	o, f := probe(t, serveSSH(t, cfg), Options{})
	if o.State != probes.Open || o.Error != "" {
		t.Fatalf("State, Error = %q, %q; want open, none (%s)", o.State, o.Error, o.Detail)
	}
	if !f.NoneAccepted || !slices.Equal(f.AuthMethods, []string{"none"}) {
		t.Errorf("NoneAccepted, AuthMethods = %v, %q; want true, [none]", f.NoneAccepted, f.AuthMethods)
	}
	if f.Negotiated == nil || f.Negotiated.Kex == "" {
		t.Errorf("Negotiated = %+v; want the algorithms", f.Negotiated)
	}
}

func TestHostKeyPreference(t *testing.T) {
	ed, rs := newSigner(t, "ed25519"), newSigner(t, "rsa")
	cfg := serverConfig(&authLog{}, "publickey")
	cfg.AddHostKey(rs)
	cfg.AddHostKey(ed)
	target := serveSSH(t, cfg)

	_, f := probe(t, target, Options{})
	if want := ssh.FingerprintSHA256(ed.PublicKey()); f.HostKeyType != "ssh-ed25519" || f.HostKeyFingerprint != want {
		t.Errorf("default: host key = %s %s; want ssh-ed25519 %s", f.HostKeyType, f.HostKeyFingerprint, want)
	}
	_, f = probe(t, target, Options{HostKeyAlgorithms: []string{ssh.KeyAlgoRSASHA512}})
	if want := ssh.FingerprintSHA256(rs.PublicKey()); f.HostKeyType != "ssh-rsa" || f.HostKeyFingerprint != want {
		t.Errorf("rsa-sha2-512: host key = %s %s; want ssh-rsa %s", f.HostKeyType, f.HostKeyFingerprint, want)
	}
	if f.Negotiated == nil || f.Negotiated.HostKey != ssh.KeyAlgoRSASHA512 {
		t.Errorf("Negotiated = %+v; want host key algorithm rsa-sha2-512", f.Negotiated)
	}
	if f.Offered == nil || !slices.Contains(f.Offered.HostKeys, ssh.KeyAlgoED25519) || !slices.Contains(f.Offered.HostKeys, ssh.KeyAlgoRSASHA512) {
		t.Errorf("Offered = %+v; want both key types listed", f.Offered)
	}
}

func TestOfferedKex(t *testing.T) {
	kex := []string{ssh.KeyExchangeCurve25519, ssh.KeyExchangeDH14SHA256, ssh.InsecureKeyExchangeDH14SHA1}
	cfg := serverConfig(&authLog{}, "publickey")
	cfg.KeyExchanges = kex
	cfg.AddHostKey(newSigner(t, "ed25519"))
	_, f := probe(t, serveSSH(t, cfg), Options{})
	if f.Offered == nil {
		t.Fatal("Offered = nil; want the server's KEXINIT")
	}
	// The server adds its pseudo-algorithms (kex-strict-s-v00@openssh.com);
	// the real ones come in the configured order.
	var got []string
	for _, k := range f.Offered.Kex {
		if slices.Contains(kex, k) {
			got = append(got, k)
		}
	}
	if !slices.Equal(got, kex) {
		t.Errorf("Offered.Kex = %q; want %q in that order", f.Offered.Kex, kex)
	}
	if !slices.Contains(f.Offered.Kex, "kex-strict-s-v00@openssh.com") {
		t.Errorf("Offered.Kex = %q; want the strict-kex marker x/crypto sends", f.Offered.Kex)
	}
	if f.Negotiated == nil || f.Negotiated.Kex != ssh.KeyExchangeCurve25519 {
		t.Errorf("Negotiated = %+v; want kex %s", f.Negotiated, ssh.KeyExchangeCurve25519)
	}
}

// The negotiation the probe works out itself when it stops at the host key
// must agree with the one x/crypto reports after the full handshake.
func TestStopAfterKex(t *testing.T) {
	log := &authLog{}
	cfg := serverConfig(log, "publickey", "password")
	cfg.Ciphers = []string{ssh.CipherAES128CTR} // so that a MAC is negotiated too
	cfg.AddHostKey(newSigner(t, "ed25519"))
	target := serveSSH(t, cfg)

	_, full := probe(t, target, Options{})
	o, f := probe(t, target, Options{StopAfterKex: true})
	if o.State != probes.Open || o.Error != "" {
		t.Fatalf("State, Error = %q, %q; want open, none (%s: %s)", o.State, o.Error, o.Outcome, o.Detail)
	}
	if f.AuthQueried || f.User != "" || f.AuthMethods != nil {
		t.Errorf("AuthQueried, User, AuthMethods = %v, %q, %q; want nothing asked", f.AuthQueried, f.User, f.AuthMethods)
	}
	if f.HostKeyFingerprint != full.HostKeyFingerprint {
		t.Errorf("fingerprint = %q; want %q", f.HostKeyFingerprint, full.HostKeyFingerprint)
	}
	if !reflect.DeepEqual(f.Negotiated, full.Negotiated) {
		t.Errorf("Negotiated (own) = %+v; want x/crypto's %+v", f.Negotiated, full.Negotiated)
	}
	if full.Negotiated.MACC2S == "" {
		t.Errorf("Negotiated = %+v; want a MAC with aes128-ctr", full.Negotiated)
	}
	users, _, _ := log.snapshot()
	if len(users) != 1 {
		t.Errorf("server saw %d auth requests; want 1 (from the full probe only)", len(users))
	}
}

func TestNotSSH(t *testing.T) {
	target := listen(t, func(c net.Conn) {
		_, _ = c.Read(make([]byte, 64))
		_, _ = io.WriteString(c, "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
	})
	o, f := probe(t, target, Options{})
	if o.State != probes.Open || o.Error != probes.ErrProtocol {
		t.Fatalf("State, Error = %q, %q; want open, protocol (%s)", o.State, o.Error, o.Outcome)
	}
	if f.SSH || f.Banner != "HTTP/1.1 400 Bad Request" {
		t.Errorf("SSH, Banner = %v, %q; want false, the HTTP status line", f.SSH, f.Banner)
	}
	if f.HostKeyType != "" || f.AuthQueried {
		t.Errorf("HostKeyType, AuthQueried = %q, %v; want nothing past the banner", f.HostKeyType, f.AuthQueried)
	}
}

func TestSilentServer(t *testing.T) {
	target := listen(t, func(c net.Conn) { _, _ = io.Copy(io.Discard, c) })
	o, f := probeWithin(t, target, 300*time.Millisecond)
	if o.State != probes.Open || o.Error != probes.ErrProtocol {
		t.Fatalf("State, Error = %q, %q; want open, protocol (%s)", o.State, o.Error, o.Outcome)
	}
	if f.SSH || f.Banner != "" {
		t.Errorf("SSH, Banner = %v, %q; want false, empty", f.SSH, f.Banner)
	}
}

func TestStallAfterBanner(t *testing.T) {
	target := listen(t, func(c net.Conn) {
		_, _ = io.WriteString(c, "SSH-2.0-stall\r\n")
		_, _ = io.Copy(io.Discard, c) // reads the client's KEXINIT, never answers
	})
	o, f := probeWithin(t, target, 300*time.Millisecond)
	if o.State != probes.Open || o.Error != probes.ErrProtocol {
		t.Fatalf("State, Error = %q, %q; want open, protocol (%s)", o.State, o.Error, o.Outcome)
	}
	if !f.SSH || f.Banner != "SSH-2.0-stall" || f.Offered != nil {
		t.Errorf("SSH, Banner, Offered = %v, %q, %v; want true, SSH-2.0-stall, nil", f.SSH, f.Banner, f.Offered)
	}
	if o.Outcome != "SSH banner received, then no key exchange before the timeout" {
		t.Errorf("Outcome = %q; want the stall named", o.Outcome)
	}
}

func TestCanceled(t *testing.T) {
	accepted := make(chan struct{})
	target := listen(t, func(c net.Conn) {
		close(accepted)
		_, _ = io.WriteString(c, "SSH-2.0-stall\r\n")
		_, _ = io.Copy(io.Discard, c)
	})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	go func() {
		<-accepted
		cancel()
	}()
	o := Probe(ctx, target, Options{})
	if o.Error != probes.ErrCanceled {
		t.Errorf("Error = %q (%s); want canceled", o.Error, o.Outcome)
	}
}

func TestClosedPort(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	o := Probe(context.Background(), probes.Target{Host: "127.0.0.1", Port: port, Transport: "tcp"}, Options{})
	if o.State != probes.Closed || o.Facts != nil {
		t.Errorf("State, Facts = %q, %v; want closed, no facts", o.State, o.Facts)
	}
}

func TestFactsJSON(t *testing.T) {
	cfg := serverConfig(&authLog{}, "publickey")
	cfg.AddHostKey(newSigner(t, "ed25519"))
	o, _ := probe(t, serveSSH(t, cfg), Options{})
	var got map[string]any
	if err := json.Unmarshal(o.MarshalFacts(), &got); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"banner", "host_key_type", "host_key_fingerprint", "negotiated", "offered", "auth_methods", "user"} {
		if _, ok := got[key]; !ok {
			t.Errorf("facts JSON has no %q: %v", key, got)
		}
	}
}

func probeWithin(t *testing.T, target probes.Target, d time.Duration) (probes.Observation, *Facts) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	o := Probe(ctx, target, Options{})
	f, ok := o.Facts.(*Facts)
	if !ok {
		t.Fatalf("Facts = %T; want *Facts", o.Facts)
	}
	return o, f
}
