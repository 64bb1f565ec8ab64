package http

import (
	"context"
	"crypto/tls"
	"io"
	"log"
	"net"
	nethttp "net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"probe/internal/testutil"
	"probe/probes"
)

// target returns the probe target of a listener's address.
func target(t *testing.T, addr net.Addr) probes.Target {
	t.Helper()
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		t.Fatal(err)
	}
	p, _ := strconv.Atoi(port)
	return probes.Target{Name: "web", Host: host, Port: p, Transport: "tcp"}
}

func probeCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func facts(t *testing.T, o probes.Observation) *Facts {
	t.Helper()
	f, ok := o.Facts.(*Facts)
	if !ok || f == nil {
		t.Fatalf("facts are %T; want *Facts (observation %+v)", o.Facts, o)
	}
	return f
}

// requestLog records what a test server was asked, and on how many
// connections.
type requestLog struct {
	mu    sync.Mutex
	reqs  []*nethttp.Request
	conns atomic.Int32
}

func (l *requestLog) serverFor(h nethttp.HandlerFunc) *httptest.Server {
	s := httptest.NewUnstartedServer(nethttp.HandlerFunc(func(w nethttp.ResponseWriter, r *nethttp.Request) {
		l.mu.Lock()
		l.reqs = append(l.reqs, r)
		l.mu.Unlock()
		h(w, r)
	}))
	s.Config.ConnState = func(_ net.Conn, st nethttp.ConnState) {
		if st == nethttp.StateNew {
			l.conns.Add(1)
		}
	}
	return s
}

func TestRedirectIsReportedNotFollowed(t *testing.T) {
	var log requestLog
	s := log.serverFor(func(w nethttp.ResponseWriter, r *nethttp.Request) {
		if r.URL.Path != "/" {
			nethttp.Error(w, "followed the redirect", nethttp.StatusTeapot)
			return
		}
		w.Header().Set("Server", "nginx/1.22.1")
		nethttp.Redirect(w, r, "https://"+r.Host+"/", nethttp.StatusMovedPermanently)
	})
	s.Start()
	defer s.Close()

	o := Probe(probeCtx(t), target(t, s.Listener.Addr()), Options{ServerName: "api.example.test"})
	if o.State != probes.Open || o.Error != "" {
		t.Fatalf("state %q error %q (%s); want open, no error", o.State, o.Error, o.Outcome)
	}
	f := facts(t, o)
	if f.StatusCode != 301 {
		t.Errorf("status %d; want 301", f.StatusCode)
	}
	// The Host header carries the server name with the non-default port,
	// and the redirect built from it says so.
	wantLoc := "https://api.example.test:" + strconv.Itoa(target(t, s.Listener.Addr()).Port) + "/"
	if f.Location != wantLoc {
		t.Errorf("Location %q; want %q", f.Location, wantLoc)
	}
	if f.Headers["Server"] != "nginx/1.22.1" {
		t.Errorf("Server header %q; want nginx/1.22.1", f.Headers["Server"])
	}
	if _, ok := f.Headers["Strict-Transport-Security"]; ok {
		t.Errorf("HSTS recorded although the server sent none: %v", f.Headers)
	}
	log.mu.Lock()
	defer log.mu.Unlock()
	if len(log.reqs) != 1 || log.conns.Load() != 1 {
		t.Fatalf("%d requests on %d connections; want 1 on 1", len(log.reqs), log.conns.Load())
	}
	r := log.reqs[0]
	if r.Method != "GET" || r.URL.Path != "/" || !r.Close || !strings.HasPrefix(r.UserAgent(), "probe") {
		t.Errorf("request %s %s close=%v UA %q; want GET / with Connection: close and our User-Agent", r.Method, r.URL.Path, r.Close, r.UserAgent())
	}
	if len(r.Header.Values("Authorization"))+len(r.Header.Values("Cookie")) != 0 {
		t.Errorf("request carried credentials: %v", r.Header)
	}
}

func TestPathAndHostDefault(t *testing.T) {
	var log requestLog
	s := log.serverFor(func(w nethttp.ResponseWriter, r *nethttp.Request) {
		w.Header().Set("X-Powered-By", "Express")
		w.WriteHeader(nethttp.StatusNoContent)
	})
	s.Start()
	defer s.Close()

	tg := target(t, s.Listener.Addr())
	o := Probe(probeCtx(t), tg, Options{Path: "/health?full=1"})
	f := facts(t, o)
	if f.StatusCode != 204 || f.Headers["X-Powered-By"] != "Express" {
		t.Errorf("status %d, X-Powered-By %q; want 204, Express", f.StatusCode, f.Headers["X-Powered-By"])
	}
	log.mu.Lock()
	defer log.mu.Unlock()
	r := log.reqs[0]
	if r.URL.RequestURI() != "/health?full=1" || r.Host != s.Listener.Addr().String() {
		t.Errorf("asked for %s with Host %q; want /health?full=1 with Host %q", r.URL.RequestURI(), r.Host, s.Listener.Addr())
	}
}

// tlsServer serves HTTPS on loopback with cert, recording the SNI it was
// asked for.
func tlsServer(t *testing.T, cert tls.Certificate, h nethttp.HandlerFunc) (*httptest.Server, func() string) {
	t.Helper()
	var mu sync.Mutex
	var sni string
	s := httptest.NewUnstartedServer(h)
	s.TLS = &tls.Config{
		Certificates: []tls.Certificate{cert},
		GetConfigForClient: func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
			mu.Lock()
			sni = hello.ServerName
			mu.Unlock()
			return nil, nil
		},
	}
	s.StartTLS()
	t.Cleanup(s.Close)
	return s, func() string { mu.Lock(); defer mu.Unlock(); return sni }
}

func TestTLSFactsAndVerification(t *testing.T) {
	ca := testutil.NewCA(t, "Probe Test CA", "probe tests")
	caFile := ca.WriteFile(t, t.TempDir())
	now := time.Now()
	cert := ca.Issue(t, "api.example.test", []string{"api.example.test", "127.0.0.1"}, now.Add(-time.Hour), now.Add(30*24*time.Hour+time.Hour))
	s, sni := tlsServer(t, cert.TLS, func(w nethttp.ResponseWriter, r *nethttp.Request) {
		w.Header().Set("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
		w.WriteHeader(200)
	})
	tg := target(t, s.Listener.Addr())

	cases := []struct {
		name       string
		opt        Options
		wantSNI    string
		verifyName string
		verified   bool
		errHas     string
	}{
		{"name and CA file", Options{TLS: true, ServerName: "api.example.test", CAFiles: []string{caFile}}, "api.example.test", "api.example.test", true, ""},
		{"IP and CA file", Options{TLS: true, CAFiles: []string{caFile}}, "", "127.0.0.1", true, ""},
		{"no CA file", Options{TLS: true, ServerName: "api.example.test"}, "api.example.test", "api.example.test", false, "unknown authority"},
		{"wrong name", Options{TLS: true, ServerName: "www.example.test", CAFiles: []string{caFile}}, "www.example.test", "www.example.test", false, "www.example.test"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := Probe(probeCtx(t), tg, c.opt)
			if o.State != probes.Open || o.Error != "" {
				t.Fatalf("state %q error %q (%s: %s); want open, no error", o.State, o.Error, o.Outcome, o.Detail)
			}
			f := facts(t, o)
			// A failed verification does not stop the request.
			if f.StatusCode != 200 || f.Headers["Strict-Transport-Security"] != "max-age=31536000; includeSubDomains" {
				t.Errorf("status %d, HSTS %q; want 200 and the server's HSTS", f.StatusCode, f.Headers["Strict-Transport-Security"])
			}
			if got := sni(); got != c.wantSNI {
				t.Errorf("server saw SNI %q; want %q", got, c.wantSNI)
			}
			tf := f.TLS
			if tf == nil {
				t.Fatal("no TLS facts")
			}
			if tf.Version != "TLS 1.3" || !strings.HasPrefix(tf.CipherSuite, "TLS_") {
				t.Errorf("version %q suite %q; want TLS 1.3 and a suite name", tf.Version, tf.CipherSuite)
			}
			if strings.Join(tf.SANs, ",") != "127.0.0.1,api.example.test" {
				t.Errorf("SANs %q; want [127.0.0.1 api.example.test]", tf.SANs)
			}
			if len(tf.Chain) != 1 || tf.Chain[0] != "CN=api.example.test" {
				t.Errorf("chain %q; want [CN=api.example.test]", tf.Chain)
			}
			if tf.Issuer != "CN=Probe Test CA,O=probe tests" {
				t.Errorf("issuer %q; want CN=Probe Test CA,O=probe tests", tf.Issuer)
			}
			if tf.DaysLeft != 30 {
				t.Errorf("days left %d; want 30", tf.DaysLeft)
			}
			if _, err := time.Parse(time.RFC3339, tf.NotAfter); err != nil {
				t.Errorf("not_after %q is not RFC 3339: %v", tf.NotAfter, err)
			}
			if tf.VerifyName != c.verifyName {
				t.Errorf("verified for %q; want %q", tf.VerifyName, c.verifyName)
			}
			if tf.Verified == nil || *tf.Verified != c.verified {
				t.Fatalf("verified %v (%s); want %v", tf.Verified, tf.VerifyError, c.verified)
			}
			if !strings.Contains(tf.VerifyError, c.errHas) || (c.verified != (tf.VerifyError == "")) {
				t.Errorf("verify error %q; want one containing %q", tf.VerifyError, c.errHas)
			}
		})
	}
}

func TestExpiredCertificateIsStillObserved(t *testing.T) {
	ca := testutil.NewCA(t, "Probe Test CA", "probe tests")
	caFile := ca.WriteFile(t, t.TempDir())
	now := time.Now()
	notAfter := now.Add(-36 * time.Hour)
	cert := ca.Issue(t, "old.example.test", []string{"old.example.test"}, now.Add(-90*24*time.Hour), notAfter)
	s, _ := tlsServer(t, cert.TLS, func(w nethttp.ResponseWriter, r *nethttp.Request) { w.WriteHeader(200) })

	o := Probe(probeCtx(t), target(t, s.Listener.Addr()), Options{TLS: true, ServerName: "old.example.test", CAFiles: []string{caFile}})
	if o.State != probes.Open || o.Error != "" {
		t.Fatalf("state %q error %q (%s); want open, no error", o.State, o.Error, o.Outcome)
	}
	tf := facts(t, o).TLS
	if tf.Verified == nil || *tf.Verified || !strings.Contains(tf.VerifyError, "expired") {
		t.Errorf("verified %v, error %q; want false, expired", tf.Verified, tf.VerifyError)
	}
	if tf.DaysLeft != -2 {
		t.Errorf("days left %d; want -2 (expired 36 hours ago)", tf.DaysLeft)
	}
	if tf.NotAfter != notAfter.UTC().Truncate(time.Second).Format(time.RFC3339) {
		t.Errorf("not_after %s; want %s", tf.NotAfter, notAfter.UTC().Format(time.RFC3339))
	}
}

// The injected clock decides both the days left and the verification.
func TestClockIsInjectable(t *testing.T) {
	ca := testutil.NewCA(t, "Probe Test CA", "probe tests")
	caFile := ca.WriteFile(t, t.TempDir())
	now := time.Now()
	cert := ca.Issue(t, "api.example.test", []string{"api.example.test"}, now.Add(-time.Hour), now.Add(100*24*time.Hour))
	s, _ := tlsServer(t, cert.TLS, func(w nethttp.ResponseWriter, r *nethttp.Request) {})
	tg := target(t, s.Listener.Addr())
	for _, c := range []struct {
		at       time.Time
		days     int
		verified bool
	}{
		{now.Add(90*24*time.Hour + time.Hour), 9, true},
		{now.Add(101*24*time.Hour + 12*time.Hour), -2, false}, // expired a day and a half ago
	} {
		o := Probe(probeCtx(t), tg, Options{TLS: true, ServerName: "api.example.test", CAFiles: []string{caFile}, Now: func() time.Time { return c.at }})
		tf := facts(t, o).TLS
		if tf.DaysLeft != c.days || tf.Verified == nil || *tf.Verified != c.verified {
			t.Errorf("at %s: days left %d, verified %v (%s); want %d, %v", c.at, tf.DaysLeft, tf.Verified, tf.VerifyError, c.days, c.verified)
		}
	}
}

// garbageServer accepts connections and answers each with reply, then
// closes.
func garbageServer(t *testing.T, reply string) net.Addr {
	t.Helper()
	return testutil.ServeTCP(t, func(c net.Conn) {
		c.Write([]byte(reply))
		c.SetReadDeadline(time.Now().Add(time.Second))
		buf := make([]byte, 4096)
		c.Read(buf)
	}).Addr()
}

func TestNotHTTP(t *testing.T) {
	addr := garbageServer(t, "SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n")
	for _, useTLS := range []bool{false, true} {
		o := Probe(probeCtx(t), target(t, addr), Options{TLS: useTLS})
		if o.State != probes.Open || o.Error != probes.ErrProtocol {
			t.Errorf("tls=%v: state %q error %q; want open, protocol", useTLS, o.State, o.Error)
		}
		if !strings.Contains(o.Outcome, "not HTTP") && !strings.Contains(o.Outcome, "closed the connection") {
			t.Errorf("tls=%v: outcome %q; want one saying the answer is not HTTP", useTLS, o.Outcome)
		}
		if !strings.Contains(o.Detail, "SSH-2.0") {
			t.Errorf("tls=%v: detail %q; want the server's first bytes", useTLS, o.Detail)
		}
	}
}

// Plain HTTP to a TLS port: the handshake fails with the server's answer
// shown.
func TestTLSToPlainHTTP(t *testing.T) {
	s := httptest.NewServer(nethttp.HandlerFunc(func(w nethttp.ResponseWriter, r *nethttp.Request) {}))
	defer s.Close()
	o := Probe(probeCtx(t), target(t, s.Listener.Addr()), Options{TLS: true})
	if o.State != probes.Open || o.Error != probes.ErrProtocol || !strings.Contains(o.Outcome, "TLS handshake") {
		t.Errorf("state %q error %q outcome %q; want open, protocol, the TLS handshake failed", o.State, o.Error, o.Outcome)
	}
	if f := facts(t, o); f.TLS == nil || f.TLS.Verified != nil || f.StatusCode != 0 {
		t.Errorf("facts %+v; want TLS facts without a certificate and no status", f)
	}
}

func TestClosedPort(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tg := target(t, ln.Addr())
	ln.Close()
	o := Probe(probeCtx(t), tg, Options{})
	if o.State != probes.Closed || o.Error != "" {
		t.Errorf("state %q error %q; want closed", o.State, o.Error)
	}
}

// silentListener accepts and never says a word; accepted receives each
// connection.
func silentListener(t *testing.T) (net.Addr, chan net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	accepted := make(chan net.Conn, 4)
	t.Cleanup(func() {
		ln.Close()
		close(accepted)
		for c := range accepted {
			c.Close()
		}
	})
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted <- c
		}
	}()
	return ln.Addr(), accepted
}

func TestAcceptsAndNeverAnswers(t *testing.T) {
	addr, _ := silentListener(t)
	for _, useTLS := range []bool{false, true} {
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		o := Probe(ctx, target(t, addr), Options{TLS: useTLS})
		cancel()
		if o.State != probes.Open || o.Error != probes.ErrProtocol || !strings.Contains(o.Outcome, "timeout") {
			t.Errorf("tls=%v: state %q error %q outcome %q; want open, protocol, no answer before the timeout", useTLS, o.State, o.Error, o.Outcome)
		}
	}
}

func TestCanceledRunIsNotTheServersFault(t *testing.T) {
	addr, accepted := silentListener(t)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-accepted
		cancel()
	}()
	o := Probe(ctx, target(t, addr), Options{})
	if o.State != probes.NoState || o.Error != probes.ErrCanceled {
		t.Errorf("state %q error %q; want no state, canceled", o.State, o.Error)
	}
}

func TestMissingCAFileIsALocalError(t *testing.T) {
	addr, _ := silentListener(t)
	o := Probe(probeCtx(t), target(t, addr), Options{TLS: true, CAFiles: []string{t.TempDir() + "/missing.pem"}})
	if o.State != probes.NoState || o.Error != probes.ErrLocal || o.Sent != "" {
		t.Errorf("state %q error %q sent %q; want no state, local, nothing sent", o.State, o.Error, o.Sent)
	}
}

// A server that offers nothing newer than TLS 1.1 is described with its
// version, for min_tls_version to judge, not lost as a handshake failure.
func TestLegacyTLSVersionIsObserved(t *testing.T) {
	ca := testutil.NewCA(t, "Probe Test CA", "probe tests")
	cert := ca.Issue(t, "old.example.test", []string{"old.example.test"}, time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour))
	s := httptest.NewUnstartedServer(nethttp.HandlerFunc(func(w nethttp.ResponseWriter, r *nethttp.Request) {}))
	s.TLS = &tls.Config{Certificates: []tls.Certificate{cert.TLS}, MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11}
	s.StartTLS()
	defer s.Close()
	o := Probe(probeCtx(t), target(t, s.Listener.Addr()), Options{TLS: true, ServerName: "old.example.test"})
	if o.State != probes.Open || o.Error != "" {
		t.Fatalf("state %q error %q (%s: %s); want open", o.State, o.Error, o.Outcome, o.Detail)
	}
	if v := facts(t, o).TLS.Version; v != "TLS 1.1" {
		t.Errorf("version %q; want TLS 1.1", v)
	}
}

// Asked for a minimum version, the probe offers each older one alone on a
// connection of its own, and says what the server did with it.
func TestOlderVersionsAreTried(t *testing.T) {
	cert := apiCert(t)
	cases := []struct {
		name        string
		serverMin   uint16
		refuseBelow uint16
		want        []VersionTry // outcomes only; Version is checked in order
		conns       int32
	}{
		{"modern server", tls.VersionTLS12, tls.VersionTLS12,
			[]VersionTry{{Version: "TLS 1.0", Refused: true}, {Version: "TLS 1.1", Refused: true}}, 3},
		{"old versions still on", tls.VersionTLS10, tls.VersionTLS12,
			[]VersionTry{{Version: "TLS 1.0", Accepted: true}, {Version: "TLS 1.1", Accepted: true}}, 3},
		{"TLS 1.3 only, 1.2 asked about", tls.VersionTLS13, tls.VersionTLS13,
			[]VersionTry{{Version: "TLS 1.0", Refused: true}, {Version: "TLS 1.1", Refused: true}, {Version: "TLS 1.2", Refused: true}}, 4},
		{"not asked", tls.VersionTLS10, 0, nil, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var log requestLog
			s := log.serverFor(func(w nethttp.ResponseWriter, r *nethttp.Request) { w.WriteHeader(200) })
			s.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: c.serverMin}
			s.Config.ErrorLog = quietLog()
			s.StartTLS()
			t.Cleanup(s.Close)

			o := Probe(probeCtx(t), target(t, s.Listener.Addr()), Options{TLS: true, ServerName: "api.example.test", RefuseBelow: c.refuseBelow})
			if o.State != probes.Open || o.Error != "" {
				t.Fatalf("state %q error %q (%s); want open", o.State, o.Error, o.Outcome)
			}
			got := facts(t, o).OlderVersions
			if len(got) != len(c.want) {
				t.Fatalf("tries %+v; want %d", got, len(c.want))
			}
			for i, w := range c.want {
				if got[i].Version != w.Version || got[i].Accepted != w.Accepted || got[i].Refused != w.Refused || got[i].Outcome == "" {
					t.Errorf("try %d: %+v; want %s accepted %v refused %v, with an outcome", i, got[i], w.Version, w.Accepted, w.Refused)
				}
			}
			if n := log.conns.Load(); n != c.conns {
				t.Errorf("%d connections; want %d (the request's, and one per version tried)", n, c.conns)
			}
			if len(log.reqs) != 1 {
				t.Errorf("%d requests; want 1: a version try sends none", len(log.reqs))
			}
		})
	}
}

// A server that just hangs up on an old ClientHello has not said it does
// not speak that version: the try is undecided, not refused.
func TestOlderVersionCloseIsUndecided(t *testing.T) {
	addr := versionServer(t, tls.VersionTLS10, func(_ int, c net.Conn) {
		_, _ = c.Read(make([]byte, 512)) // read the hello, hang up
		c.Close()
	})
	o := Probe(probeCtx(t), target(t, addr), Options{TLS: true, ServerName: "api.example.test", RefuseBelow: tls.VersionTLS11})
	got := facts(t, o).OlderVersions
	if len(got) != 1 || got[0].Accepted || got[0].Refused || !strings.HasPrefix(got[0].Outcome, "undecided") {
		t.Errorf("tries %+v; want one undecided TLS 1.0 try", got)
	}
}

// quietLog keeps a test server's expected handshake errors out of the test
// output.
func quietLog() *log.Logger { return log.New(io.Discard, "", 0) }

// A server that stalls one version's handshake leaves the next try its own
// share of the time: TLS 1.0 is undecided, TLS 1.1 still refused.
func TestOlderVersionStallLeavesTheNextItsShare(t *testing.T) {
	modern := &tls.Config{Certificates: []tls.Certificate{apiCert(t)}, MinVersion: tls.VersionTLS12}
	addr := versionServer(t, tls.VersionTLS12, func(n int, c net.Conn) {
		if n == 1 { // the TLS 1.0 try: read the hello, then say nothing
			defer c.Close()
			_, _ = c.Read(make([]byte, 512))
			_, _ = c.Read(make([]byte, 512)) // until the prober gives up
			return
		}
		tc := tls.Server(c, modern)
		defer tc.Close()
		_ = tc.Handshake() // refuses TLS 1.1 with protocol_version
	})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	o := Probe(ctx, target(t, addr), Options{TLS: true, ServerName: "api.example.test", RefuseBelow: tls.VersionTLS12})
	got := facts(t, o).OlderVersions
	if len(got) != 2 || got[0].Refused || got[0].Accepted || !got[1].Refused {
		t.Errorf("tries %+v; want TLS 1.0 undecided and TLS 1.1 refused", got)
	}
}

// apiCert is a certificate for api.example.test from a fresh test CA, valid
// for a day.
func apiCert(t *testing.T) tls.Certificate {
	t.Helper()
	ca := testutil.NewCA(t, "Probe Test CA", "probe tests")
	now := time.Now()
	return ca.Issue(t, "api.example.test", []string{"api.example.test"}, now.Add(-time.Hour), now.Add(24*time.Hour)).TLS
}

// versionServer listens on loopback for the older-version tests. Its first
// connection, the probe's request, gets a TLS server (at least minVersion)
// that answers one request with 200; every later one, a version try, goes
// to try with its number (1 for the first try), on a goroutine of its own.
func versionServer(t *testing.T, minVersion uint16, try func(n int, c net.Conn)) net.Addr {
	t.Helper()
	cfg := &tls.Config{Certificates: []tls.Certificate{apiCert(t)}, MinVersion: minVersion}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for n := 0; ; n++ {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			if n > 0 {
				go try(n, c)
				continue
			}
			go func() {
				tc := tls.Server(c, cfg)
				defer tc.Close()
				_, _ = tc.Read(make([]byte, 4096))
				_, _ = tc.Write([]byte("HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"))
			}()
		}
	}()
	return ln.Addr()
}
