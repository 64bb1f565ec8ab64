package postgres

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"probe/internal/testutil"
	"probe/probes"
)

// These tests run Debian's PostgreSQL (postgresql-15) on loopback: one
// cluster made by initdb once per test binary, copied for each server, each
// started with its own pg_hba.conf and TLS settings. CI installs postgresql
// (scripts/testbed deps), so there a missing server is a failure.

var template struct {
	once sync.Once
	dir  string // holds data/, a fresh cluster
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if template.dir != "" {
		os.RemoveAll(template.dir)
	}
	os.Exit(code)
}

// pgBin finds the directory of PostgreSQL's server programs.
func pgBin(t *testing.T) string {
	t.Helper()
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin/postgres")
	slices.Sort(dirs)
	if len(dirs) == 0 {
		testutil.Unavailable(t, "PostgreSQL's server is not installed (apt-get install postgresql)")
	}
	return filepath.Dir(dirs[len(dirs)-1])
}

// runAs prepares cmd to run as the postgres account when the tests run as
// root (PostgreSQL refuses to run as root), and returns that account's ids.
func runAs(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	if os.Geteuid() != 0 {
		return
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		testutil.Unavailable(t, "no postgres account to run the server as: %v", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}
}

// own gives the server's account the files under dir (when running as root).
func own(t *testing.T, dir string) {
	t.Helper()
	if os.Geteuid() != 0 {
		return
	}
	if out, err := exec.Command("chown", "-R", "postgres:", dir).CombinedOutput(); err != nil {
		t.Fatalf("chown: %v: %s", err, out)
	}
}

// tempDir is a directory the server's account may enter.
func tempDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "probe-pg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// pgServer is one running PostgreSQL.
type pgServer struct {
	target probes.Target
	log    string
	caFile string
}

// startPostgres runs PostgreSQL on 127.0.0.1 with the pg_hba.conf lines
// given and TLS on or off (a certificate for db.test and 127.0.0.1 from a
// CA of the test's own, whose file is caFile), with log_connections on.
func startPostgres(t *testing.T, ssl bool, hba ...string) *pgServer {
	t.Helper()
	bin := pgBin(t)
	template.once.Do(func() {
		dir, err := os.MkdirTemp("", "probe-pg-template-")
		if err != nil {
			template.err = err
			return
		}
		template.dir = dir
		_ = os.Chmod(dir, 0o755)
		if os.Geteuid() == 0 {
			if out, err := exec.Command("chown", "postgres:", dir).CombinedOutput(); err != nil {
				template.err = fmt.Errorf("chown: %v: %s", err, out)
				return
			}
		}
		cmd := exec.Command(filepath.Join(bin, "initdb"), "-D", filepath.Join(dir, "data"), "-U", "postgres",
			"--auth-local=reject", "--auth-host=reject", "-E", "UTF8", "--no-sync")
		runAs(t, cmd)
		if out, err := cmd.CombinedOutput(); err != nil {
			template.err = fmt.Errorf("initdb: %v: %s", err, out)
		}
	})
	if template.err != nil {
		t.Fatal(template.err)
	}
	dir := tempDir(t)
	if out, err := exec.Command("cp", "-a", filepath.Join(template.dir, "data"), dir).CombinedOutput(); err != nil {
		t.Fatalf("copying the cluster: %v: %s", err, out)
	}
	ca := testutil.NewCA(t, "probe test CA")
	leaf := ca.Issue(t, "db.test", []string{"db.test", "127.0.0.1"}, time.Now().Add(-time.Hour), time.Now().Add(40*24*time.Hour))
	cert, key := leaf.WriteFiles(t, dir)
	s := &pgServer{log: filepath.Join(dir, "postgres.log"), caFile: ca.WriteFile(t, dir)}
	hbaFile := filepath.Join(dir, "pg_hba.conf")
	if err := os.WriteFile(hbaFile, []byte(strings.Join(hba, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "sock"), 0o755); err != nil {
		t.Fatal(err)
	}
	own(t, dir)
	for range 5 {
		port := testutil.FreePort(t)
		logf, err := os.Create(s.log)
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(filepath.Join(bin, "postgres"), "-D", filepath.Join(dir, "data"),
			"-c", "listen_addresses=127.0.0.1", "-c", "port="+strconv.Itoa(port),
			"-c", "unix_socket_directories="+filepath.Join(dir, "sock"),
			"-c", "hba_file="+hbaFile, "-c", "ssl="+map[bool]string{true: "on", false: "off"}[ssl],
			"-c", "ssl_cert_file="+cert, "-c", "ssl_key_file="+key,
			"-c", "log_connections=on", "-c", "logging_collector=off", "-c", "fsync=off")
		cmd.Stdout, cmd.Stderr = logf, logf
		runAs(t, cmd)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		logf.Close()
		exited := make(chan struct{})
		go func() { _ = cmd.Wait(); close(exited) }()
		if s.waitLog("database system is ready to accept connections", exited) {
			t.Cleanup(func() {
				_ = cmd.Process.Signal(syscall.SIGQUIT) // immediate shutdown: the cluster is thrown away
				select {
				case <-exited:
				case <-time.After(10 * time.Second):
					_ = cmd.Process.Kill()
					<-exited
				}
			})
			s.target = probes.Target{Name: "database", Host: "127.0.0.1", Port: port, Transport: "tcp"}
			return s
		}
		_ = cmd.Process.Kill()
		<-exited
	}
	t.Fatalf("PostgreSQL did not start; its log:\n%s", s.readLog())
	return nil
}

func (s *pgServer) waitLog(line string, exited <-chan struct{}) bool {
	deadline := time.After(20 * time.Second)
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

func (s *pgServer) readLog() string {
	b, _ := os.ReadFile(s.log)
	return string(b)
}

// logged waits a little for the server to write what a probe caused: the
// backends log after the probe has gone.
func (s *pgServer) logged(t *testing.T, line string) string {
	t.Helper()
	for range 100 {
		if strings.Contains(s.readLog(), line) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	return s.readLog()
}

func probeOpts(s *pgServer) Options {
	return Options{AskAuth: true, Plaintext: true, ServerName: "db.test", CAFiles: []string{s.caFile}}
}

func run(t *testing.T, s *pgServer, opt Options) (probes.Observation, *Facts) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	obs := Probe(ctx, s.target, opt)
	f, _ := obs.Facts.(*Facts)
	if obs.State != probes.Open || obs.Error != "" || f == nil {
		t.Fatalf("want an open port and facts, got %+v", obs)
	}
	return obs, f
}

// The reference deployment's database: TLS only, a password over TLS.
func TestRealServerRequiringTLS(t *testing.T) {
	s := startPostgres(t, true,
		"hostssl all all 127.0.0.1/32 scram-sha-256",
		"hostnossl all all 127.0.0.1/32 reject")
	obs, f := run(t, s, probeOpts(s))
	if !f.TLSUp() || f.TLS.Verified == nil || !*f.TLS.Verified || f.TLS.DaysLeft < 38 {
		t.Errorf("want a verified TLS handshake with ~40 days left, got %+v (%s)", f.TLS, obs.Outcome)
	}
	if ts := f.TLSStartup; ts == nil || ts.Answer != AuthRequested || ts.Method != "sasl" || !slices.Contains(ts.Mechanisms, "SCRAM-SHA-256") {
		t.Errorf("over TLS want a SCRAM-SHA-256 request, got %+v", ts)
	}
	if ps := f.PlaintextStartup; ps == nil || ps.Answer != Refused || ps.SQLState != "28000" || !strings.Contains(ps.Message, "no encryption") {
		t.Errorf("without TLS want a 28000 refusal, got %+v", ps)
	}
	want := `FATAL:  pg_hba.conf rejects connection for host "127.0.0.1", user "probe", database "probe", no encryption`
	log := s.logged(t, want)
	if !strings.Contains(log, want) {
		t.Errorf("the server's log lacks %q:\n%s", want, log)
	}
	if n := strings.Count(log, "connection received: host=127.0.0.1"); n != 2 {
		t.Errorf("want 2 connections, the log shows %d:\n%s", n, log)
	}
	// The abandoned SCRAM exchange is not logged as a failed password.
	if strings.Contains(log, "password authentication failed") {
		t.Errorf("the probe caused a password failure:\n%s", log)
	}

	// The SSLRequest and the handshake alone, with no StartupMessage: one
	// connection, and nothing logged but its arrival.
	before := len(s.readLog())
	if _, f := run(t, s, Options{ServerName: "db.test", CAFiles: []string{s.caFile}}); !f.TLSUp() || f.TLSStartup != nil || f.PlaintextStartup != nil {
		t.Errorf("handshake only: got %+v", f)
	}
	time.Sleep(300 * time.Millisecond)
	if added := strings.TrimSpace(s.readLog()[before:]); strings.Count(added, "\n") != 0 || !strings.Contains(added, "connection received: host=127.0.0.1") {
		t.Errorf("handshake only: want one line, of the connection; the log added:\n%s", added)
	}
}

// No line for non-TLS connections at all: the refusal says so.
func TestRealServerWithoutPlaintextEntry(t *testing.T) {
	s := startPostgres(t, true, "hostssl all all 127.0.0.1/32 scram-sha-256")
	_, f := run(t, s, probeOpts(s))
	if ps := f.PlaintextStartup; ps == nil || ps.Answer != Refused || ps.SQLState != "28000" {
		t.Errorf("without TLS want a 28000 refusal, got %+v", ps)
	}
	want := `FATAL:  no pg_hba.conf entry for host "127.0.0.1", user "probe", database "probe", no encryption`
	if log := s.logged(t, want); !strings.Contains(log, want) {
		t.Errorf("the server's log lacks %q:\n%s", want, log)
	}
}

// TLS offered but not required: the plaintext StartupMessage draws a
// password request, which a client would answer in the clear.
func TestRealServerAcceptingPlaintext(t *testing.T) {
	s := startPostgres(t, true, "host all all 127.0.0.1/32 password")
	_, f := run(t, s, probeOpts(s))
	if !f.TLSUp() {
		t.Errorf("want TLS offered, got %+v", f)
	}
	for name, st := range map[string]*Startup{"over TLS": f.TLSStartup, "without TLS": f.PlaintextStartup} {
		// "password": the cleartext password request.
		if st == nil || st.Answer != AuthRequested || st.Method != "password" {
			t.Errorf("%s want a cleartext password request, got %+v", name, st)
		}
	}
}

// TLS turned off: 'N', and the same connection carries the plaintext
// StartupMessage, so the probe makes one connection.
func TestRealServerWithoutTLS(t *testing.T) {
	s := startPostgres(t, false, "host all all 127.0.0.1/32 scram-sha-256")
	obs, f := run(t, s, probeOpts(s))
	if f.SSLAnswer != "N" || f.TLS != nil || f.TLSStartup != nil {
		t.Errorf("want N and no TLS, got %+v", f)
	}
	if ps := f.PlaintextStartup; ps == nil || ps.Answer != AuthRequested || ps.Method != "sasl" {
		t.Errorf("without TLS want a SCRAM request, got %+v (%s)", ps, obs.Outcome)
	}
	time.Sleep(200 * time.Millisecond)
	if n := strings.Count(s.readLog(), "connection received: host=127.0.0.1"); n != 1 {
		t.Errorf("want 1 connection, the log shows %d:\n%s", n, s.readLog())
	}
}

// trust: let in with no password. The probe ends the session it got.
func TestRealServerTrust(t *testing.T) {
	s := startPostgres(t, true, "hostssl all all 127.0.0.1/32 trust", "hostnossl all all 127.0.0.1/32 reject")
	_, f := run(t, s, Options{AskAuth: true, User: "postgres", Database: "postgres", ServerName: "db.test", CAFiles: []string{s.caFile}})
	if ts := f.TLSStartup; ts == nil || ts.Answer != NoAuth || ts.Method != "trust" {
		t.Errorf("over TLS want AuthenticationOk, got %+v", ts)
	}
	want := "connection authorized: user=postgres database=postgres application_name=probe SSL enabled"
	if log := s.logged(t, want); !strings.Contains(log, want) {
		t.Errorf("the server's log lacks %q:\n%s", want, log)
	}
}
