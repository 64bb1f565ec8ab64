package redis

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"probe/internal/testutil"
	"probe/probes"
)

// These tests run Debian's redis-server (Redis 7) on loopback with a config
// written to a temporary directory: TLS only or plaintext, with a password
// or without. CI installs redis-server (scripts/testbed deps), so there a
// missing server is a failure.

type redisServer struct {
	target probes.Target
	log    string
	caFile string
}

// startRedis runs redis-server on 127.0.0.1 with TLS only (tls-port, port
// 0) or plaintext, and with requirepass when password is set.
func startRedis(t *testing.T, withTLS bool, password string) *redisServer {
	t.Helper()
	bin := testutil.RequireBinary(t, "redis-server", "redis-server", "/usr/bin/redis-server")
	dir := t.TempDir()
	ca := testutil.NewCA(t, "probe test CA")
	leaf := ca.Issue(t, "cache.test", []string{"cache.test", "127.0.0.1"}, time.Now().Add(-time.Hour), time.Now().Add(20*24*time.Hour))
	cert, key := leaf.WriteFiles(t, dir)
	s := &redisServer{log: filepath.Join(dir, "redis.log"), caFile: ca.WriteFile(t, dir)}
	for range 5 {
		port := testutil.FreePort(t)
		conf := []string{
			"bind 127.0.0.1", "save \"\"", "appendonly no", "daemonize no",
			"dir " + dir, "logfile " + s.log, "loglevel notice",
		}
		if withTLS {
			conf = append(conf, "port 0", fmt.Sprintf("tls-port %d", port), "tls-cert-file "+cert, "tls-key-file "+key, "tls-auth-clients no")
		} else {
			conf = append(conf, fmt.Sprintf("port %d", port))
		}
		if password != "" {
			conf = append(conf, "requirepass "+password)
		}
		confPath := filepath.Join(dir, "redis.conf")
		if err := os.WriteFile(confPath, []byte(strings.Join(conf, "\n")+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		_ = os.Remove(s.log)
		cmd := exec.Command(bin, confPath)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan struct{})
		go func() { _ = cmd.Wait(); close(exited) }()
		if s.waitLog("Ready to accept connections", exited) {
			t.Cleanup(func() {
				_ = cmd.Process.Kill()
				<-exited
			})
			s.target = probes.Target{Name: "redis", Host: "127.0.0.1", Port: port, Transport: "tcp"}
			return s
		}
		_ = cmd.Process.Kill()
		<-exited
	}
	t.Fatalf("redis-server did not start; its log:\n%s", s.readLog())
	return nil
}

func (s *redisServer) waitLog(line string, exited <-chan struct{}) bool {
	deadline := time.After(10 * time.Second)
	for {
		if strings.Contains(s.readLog(), line) {
			return true
		}
		select {
		case <-exited:
			return false
		case <-deadline:
			return false
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func (s *redisServer) readLog() string {
	b, _ := os.ReadFile(s.log)
	return string(b)
}

func probeRedis(t *testing.T, s *redisServer) (probes.Observation, *Facts) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Second)
	defer cancel()
	obs := Probe(ctx, s.target, Options{ServerName: "cache.test", CAFiles: []string{s.caFile}})
	f, _ := obs.Facts.(*Facts)
	if obs.State != probes.Open || obs.Error != "" || f == nil {
		t.Fatalf("want an open Redis and facts, got %+v", obs)
	}
	return obs, f
}

// The reference deployment's cache: TLS only, a password required.
func TestRealServerTLSAndPassword(t *testing.T) {
	s := startRedis(t, true, "s3cret-for-the-test")
	obs, f := probeRedis(t, s)
	if !f.TLSOnly() || f.TLS.Verified == nil || !*f.TLS.Verified || f.TLS.DaysLeft < 18 {
		t.Errorf("want TLS only with a verified certificate, got %+v %+v (%s)", f.Plaintext, f.TLS, obs.Outcome)
	}
	if r := f.PingReply(); r == nil || r.Code() != "NOAUTH" {
		t.Errorf("want NOAUTH over TLS, got %+v (%s)", r, obs.Outcome)
	}
	want := "Error accepting a client connection: error:0A00010B:SSL routines::wrong version number"
	for range 50 {
		if strings.Contains(s.readLog(), want) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if log := s.readLog(); !strings.Contains(log, want) {
		t.Errorf("the server's log lacks %q:\n%s", want, log)
	}
}

// TLS, but no password: PONG over TLS.
func TestRealServerTLSWithoutPassword(t *testing.T) {
	s := startRedis(t, true, "")
	obs, f := probeRedis(t, s)
	if !f.TLSOnly() {
		t.Errorf("want TLS only, got %s", obs.Outcome)
	}
	if r := f.PingReply(); r == nil || r.String() != "+PONG" {
		t.Errorf("want +PONG, got %+v", r)
	}
}

// A password, but no TLS: NOAUTH in plaintext, and no handshake tried.
func TestRealServerPasswordWithoutTLS(t *testing.T) {
	s := startRedis(t, false, "s3cret-for-the-test")
	obs, f := probeRedis(t, s)
	if f.TLSOnly() || f.TLS != nil || f.Plaintext.Reply == nil || f.Plaintext.Reply.Code() != "NOAUTH" {
		t.Errorf("want NOAUTH in plaintext and no TLS, got %s", obs.Outcome)
	}
}

// Neither: PONG in plaintext.
func TestRealServerOpen(t *testing.T) {
	s := startRedis(t, false, "")
	obs, f := probeRedis(t, s)
	if f.Plaintext.Reply == nil || f.Plaintext.Reply.String() != "+PONG" {
		t.Errorf("want +PONG in plaintext, got %s", obs.Outcome)
	}
	if !strings.Contains(obs.Outcome, "no TLS") {
		t.Errorf("outcome %q does not say there is no TLS", obs.Outcome)
	}
}
