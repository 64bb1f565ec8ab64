package ssh

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"probe/internal/testutil"
	"probe/probes"
)

// These tests run Debian's OpenSSH sshd on loopback with a config and host
// keys they write to a temporary directory. CI installs openssh-server
// (.ci/run), so there a missing sshd is a failure, not a skip.

const sshdPath = "/usr/sbin/sshd"

// sshd is one running sshd.
type sshd struct {
	target probes.Target
	dir    string // host keys live here
	log    string // the -E log file
}

// startSSHD runs sshd on 127.0.0.1 with an ed25519 and an RSA host key and
// the extra config lines given, and waits until it listens.
func startSSHD(t *testing.T, extra ...string) *sshd {
	t.Helper()
	bin := testutil.RequireBinary(t, "openssh-server", sshdPath)
	keygen := testutil.RequireBinary(t, "openssh-client", "ssh-keygen")
	if os.Geteuid() != 0 {
		testutil.Unavailable(t, "sshd needs root for privilege separation")
	}
	// sshd refuses to start without its privilege separation directory.
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, kt := range []string{"ed25519", "rsa"} {
		out, err := exec.Command(keygen, "-q", "-N", "", "-t", kt, "-f", filepath.Join(dir, "host_"+kt)).CombinedOutput()
		if err != nil {
			t.Fatalf("ssh-keygen -t %s: %v: %s", kt, err, out)
		}
	}
	cfg := []string{
		"ListenAddress 127.0.0.1",
		"HostKey " + filepath.Join(dir, "host_ed25519"),
		"HostKey " + filepath.Join(dir, "host_rsa"),
		"PidFile none",
		"UsePAM no",
		"KbdInteractiveAuthentication no",
		"LogLevel INFO",
	}
	cfgPath := filepath.Join(dir, "sshd_config")
	if err := os.WriteFile(cfgPath, []byte(strings.Join(append(cfg, extra...), "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := &sshd{dir: dir, log: filepath.Join(dir, "sshd.log")}
	// A port chosen by the kernel and released; another process may take
	// it in between, so try a few.
	for range 5 {
		port := testutil.FreePort(t)
		cmd := exec.Command(bin, "-D", "-f", cfgPath, "-p", fmt.Sprint(port), "-E", s.log)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		listening := fmt.Sprintf("Server listening on 127.0.0.1 port %d.", port)
		if s.waitLog(t, listening, exited) {
			t.Cleanup(func() {
				_ = cmd.Process.Kill()
				<-exited
			})
			s.target = probes.Target{Name: "sshd", Host: "127.0.0.1", Port: port, Transport: "tcp"}
			return s
		}
		_ = cmd.Process.Kill()
		<-exited
	}
	t.Fatalf("sshd did not start; its log:\n%s", s.readLog(t))
	return nil
}

// waitLog waits for a line in sshd's log, giving up if sshd exits.
func (s *sshd) waitLog(t *testing.T, line string, exited <-chan error) bool {
	t.Helper()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	timeout := time.After(10 * time.Second)
	for {
		if strings.Contains(s.readLog(t), line) {
			return true
		}
		select {
		case <-exited:
			return false
		case <-timeout:
			return false
		case <-tick.C:
		}
	}
}

func (s *sshd) readLog(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(s.log)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return string(b)
}

// logFor returns the log lines about the connection from localAddr, once
// sshd has logged its end ("[preauth]").
func (s *sshd) logFor(t *testing.T, localAddr string) []string {
	t.Helper()
	_, port, _ := net.SplitHostPort(localAddr)
	mark := " port " + port
	var lines []string
	for range 250 {
		lines = lines[:0]
		for _, l := range strings.Split(s.readLog(t), "\n") {
			l = strings.TrimRight(l, "\r") // sshd -E ends its lines with CR LF
			if strings.HasSuffix(l, mark) || strings.Contains(l, mark+" ") {
				lines = append(lines, l)
			}
		}
		if slices.ContainsFunc(lines, func(l string) bool { return strings.Contains(l, "[preauth]") }) {
			return lines
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("sshd logged no end of the connection from %s; log:\n%s", localAddr, s.readLog(t))
	return nil
}

// keyscan asks ssh-keyscan and ssh-keygen, an independent client, for the
// fingerprint of the server's key of type kt.
func (s *sshd) keyscan(t *testing.T, kt string) string {
	t.Helper()
	scan := testutil.RequireBinary(t, "openssh-client", "ssh-keyscan")
	keygen := testutil.RequireBinary(t, "openssh-client", "ssh-keygen")
	keys, err := exec.Command(scan, "-t", kt, "-p", fmt.Sprint(s.target.Port), "127.0.0.1").Output()
	if err != nil || len(keys) == 0 {
		t.Fatalf("ssh-keyscan -t %s: %v", kt, err)
	}
	cmd := exec.Command(keygen, "-lf", "-")
	cmd.Stdin = bytes.NewReader(keys)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("ssh-keygen -lf: %v", err)
	}
	// "256 SHA256:... 127.0.0.1 (ED25519)"
	fields := strings.Fields(string(out))
	if len(fields) < 2 {
		t.Fatalf("ssh-keygen -lf printed %q", out)
	}
	return fields[1]
}

func probeSSHD(t *testing.T, s *sshd, opt Options) (probes.Observation, *Facts) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	o := Probe(ctx, s.target, opt)
	f, ok := o.Facts.(*Facts)
	if !ok || o.State != probes.Open || o.Error != "" {
		t.Fatalf("observation = %+v; want open with facts", o)
	}
	return o, f
}

func TestOpenSSHPasswordOff(t *testing.T) {
	s := startSSHD(t, "PasswordAuthentication no")
	_, f := probeSSHD(t, s, Options{})

	if !slices.Equal(f.AuthMethods, []string{"publickey"}) {
		t.Errorf("AuthMethods = %q; want [publickey]", f.AuthMethods)
	}
	if !strings.HasPrefix(f.Banner, "SSH-2.0-OpenSSH_") {
		t.Errorf("Banner = %q; want SSH-2.0-OpenSSH_...", f.Banner)
	}
	if want := s.keyscan(t, "ed25519"); f.HostKeyType != "ssh-ed25519" || f.HostKeyFingerprint != want {
		t.Errorf("host key = %s %s; want ssh-ed25519 %s (ssh-keyscan | ssh-keygen -lf)", f.HostKeyType, f.HostKeyFingerprint, want)
	}
	if f.Offered == nil || !slices.Contains(f.Offered.Kex, "curve25519-sha256") || !slices.Contains(f.Offered.Kex, "kex-strict-s-v00@openssh.com") {
		t.Errorf("Offered = %+v; want OpenSSH's kex list with curve25519-sha256 and the strict-kex marker", f.Offered)
	}
	if f.Negotiated == nil || !slices.Contains(f.Offered.Kex, f.Negotiated.Kex) {
		t.Errorf("Negotiated = %+v; want a kex the server offered", f.Negotiated)
	}

	// What sshd logged: the default user, which does not exist here, and
	// no credential of any kind.
	lines := s.logFor(t, f.LocalAddr)
	log := strings.Join(lines, "\n")
	for _, want := range []string{"Invalid user probe from 127.0.0.1", "Connection closed by invalid user probe 127.0.0.1"} {
		if !strings.Contains(log, want) {
			t.Errorf("sshd log for the probe:\n%s\nwant a line with %q", log, want)
		}
	}
	for _, never := range []string{"Failed password", "Failed publickey", "Failed keyboard-interactive", "Accepted", "Failed none"} {
		if strings.Contains(log, never) {
			t.Errorf("sshd log for the probe:\n%s\nhas %q; the probe must send no credential", log, never)
		}
	}
}

func TestOpenSSHPasswordOn(t *testing.T) {
	s := startSSHD(t, "PasswordAuthentication yes")
	_, f := probeSSHD(t, s, Options{})
	if !slices.Equal(f.AuthMethods, []string{"password", "publickey"}) {
		t.Errorf("AuthMethods = %q; want [password publickey]", f.AuthMethods)
	}
	if log := strings.Join(s.logFor(t, f.LocalAddr), "\n"); strings.Contains(log, "Failed password") {
		t.Errorf("sshd log for the probe:\n%s\nhas a password attempt", log)
	}
}

func TestOpenSSHExistingUser(t *testing.T) {
	s := startSSHD(t, "PasswordAuthentication no")
	_, f := probeSSHD(t, s, Options{User: "root"})
	lines := s.logFor(t, f.LocalAddr)
	want := "Connection closed by authenticating user root " + strings.Replace(f.LocalAddr, ":", " port ", 1) + " [preauth]"
	if !slices.Contains(lines, want) {
		t.Errorf("sshd log for the probe: %q; want the line %q", lines, want)
	}
	if slices.ContainsFunc(lines, func(l string) bool { return strings.Contains(l, "Invalid user") }) {
		t.Errorf("sshd log for the probe: %q; want no Invalid user line for root", lines)
	}
}

func TestOpenSSHStopAfterKex(t *testing.T) {
	s := startSSHD(t, "PasswordAuthentication yes")
	_, full := probeSSHD(t, s, Options{})
	_, f := probeSSHD(t, s, Options{StopAfterKex: true})
	if f.AuthQueried || f.HostKeyFingerprint != full.HostKeyFingerprint || *f.Negotiated != *full.Negotiated {
		t.Errorf("StopAfterKex facts = %+v, negotiated %+v; want no auth query, the same key and algorithms as %+v", f, f.Negotiated, full.Negotiated)
	}
	lines := s.logFor(t, f.LocalAddr)
	want := "Connection closed by " + strings.Replace(f.LocalAddr, ":", " port ", 1) + " [preauth]"
	if !slices.Equal(lines, []string{want}) {
		t.Errorf("sshd log for the probe: %q; want only %q", lines, want)
	}
}

func TestOpenSSHRSAHostKey(t *testing.T) {
	s := startSSHD(t, "PasswordAuthentication no")
	_, f := probeSSHD(t, s, Options{HostKeyAlgorithms: []string{"rsa-sha2-512", "rsa-sha2-256"}})
	if want := s.keyscan(t, "rsa"); f.HostKeyType != "ssh-rsa" || f.HostKeyFingerprint != want {
		t.Errorf("host key = %s %s; want ssh-rsa %s (ssh-keyscan | ssh-keygen -lf)", f.HostKeyType, f.HostKeyFingerprint, want)
	}
}
