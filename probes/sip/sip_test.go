package sip

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"

	"probe/probes"
)

// fast shortens T1 so a retransmission test takes milliseconds; what the
// tests count is sends, never time.
var fast = Options{t1: 20 * time.Millisecond}

func probe(t *testing.T, tg probes.Target, opt Options, timeout time.Duration) (probes.Observation, *Facts) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	obs := Probe(ctx, tg, opt)
	f, _ := obs.Facts.(*Facts)
	return obs, f
}

func wantState(t *testing.T, obs probes.Observation, want probes.State) {
	t.Helper()
	if obs.State != want {
		t.Fatalf("state = %q (%s: %s); want %q", obs.State, obs.Outcome, obs.Detail, want)
	}
}

func TestUDPAnsweredLikeFreeSWITCH(t *testing.T) {
	tg, rec := udpServer(t, freeswitch)
	obs, f := probe(t, tg, Options{}, 3*time.Second)
	wantState(t, obs, probes.Open)
	if obs.Error != "" {
		t.Errorf("error = %q; want none", obs.Error)
	}
	if f == nil {
		t.Fatal("no facts")
	}
	if f.StatusCode != 200 || f.Reason != "OK" || !f.Final {
		t.Errorf("status = %d %q final=%v; want 200 \"OK\" final", f.StatusCode, f.Reason, f.Final)
	}
	if f.UserAgent != fsUserAgent || f.Server != "" {
		t.Errorf("User-Agent = %q, Server = %q; want %q and none", f.UserAgent, f.Server, fsUserAgent)
	}
	wantAllow := []string{"ACK", "BYE", "CANCEL", "INFO", "INVITE", "MESSAGE", "NOTIFY", "OPTIONS", "PUBLISH", "REFER", "REGISTER", "SUBSCRIBE", "UPDATE"}
	if !slices.Equal(f.Allow, wantAllow) {
		t.Errorf("Allow = %q; want %q", f.Allow, wantAllow)
	}
	if want := []string{"path", "replaces", "timer"}; !slices.Equal(f.Supported, want) {
		t.Errorf("Supported = %q; want %q", f.Supported, want)
	}
	if f.Transport != "udp" || f.RTT <= 0 {
		t.Errorf("transport = %q, rtt = %v; want udp and a positive RTT", f.Transport, f.RTT)
	}
	if obs.Attempts != 1 {
		t.Errorf("attempts = %d; want 1", obs.Attempts)
	}

	// What the server received is a well-formed OPTIONS that names the
	// prober truthfully.
	got := rec.all()
	if len(got) != 1 || got[0].req == nil {
		t.Fatalf("server saw %d messages; want one request", len(got))
	}
	checkRequest(t, got[0], tg, "UDP", f)
}

// checkRequest checks the request a server received against what a SIP
// server, or a SIP firewall, would look at.
func checkRequest(t *testing.T, s seen, tg probes.Target, transport string, f *Facts) {
	t.Helper()
	req := s.req
	scheme := "sip"
	if transport == "TLS" {
		scheme = "sips"
	}
	wantLine := "OPTIONS " + scheme + ":" + net.JoinHostPort(tg.Host, strconv.Itoa(tg.Port)) + " SIP/2.0"
	if req.StartLine() != wantLine || f.RequestLine != wantLine {
		t.Errorf("request line = %q (facts say %q); want %q", req.StartLine(), f.RequestLine, wantLine)
	}
	via := req.Via()
	if via == nil {
		t.Fatal("no Via")
	}
	srcHost, srcPort, _ := net.SplitHostPort(s.from.String())
	if via.Transport != transport || via.Host != srcHost || strconv.Itoa(via.Port) != srcPort {
		t.Errorf("Via sent-by = %s %s:%d; want %s %s:%s (the socket's real address)", via.Transport, via.Host, via.Port, transport, srcHost, srcPort)
	}
	if br, _ := via.Params.Get("branch"); !strings.HasPrefix(br, "z9hG4bK") {
		t.Errorf("Via branch = %q; want the RFC 3261 magic cookie", br)
	}
	if !via.Params.Has("rport") {
		t.Errorf("Via = %q; want rport", via.Value())
	}
	if f.Via != via.Value() {
		t.Errorf("facts Via = %q; server saw %q", f.Via, via.Value())
	}
	if from := req.From(); from == nil || from.Params == nil || !from.Params.Has("tag") {
		t.Errorf("From = %v; want a tag", req.From())
	}
	for name, want := range map[string]string{
		"Max-Forwards": "70", "Content-Length": "0", "Accept": "application/sdp", "CSeq": "1 OPTIONS",
	} {
		if h := req.GetHeader(name); h == nil || h.Value() != want {
			t.Errorf("%s = %v; want %q", name, h, want)
		}
	}
	if req.CallID() == nil || req.To() == nil {
		t.Error("Call-ID or To missing")
	}
	ua := req.GetHeader("User-Agent")
	if ua == nil || !strings.HasPrefix(ua.Value(), "probe/") {
		t.Fatalf("User-Agent = %v; want probe/<version>", ua)
	}
	for _, banned := range []string{"friendly-scanner", "sipvicious", "sipcli", "sipsak", "VaxSIPUserAgent"} {
		if strings.Contains(strings.ToLower(ua.Value()), strings.ToLower(banned)) {
			t.Errorf("User-Agent %q names a banned scanner", ua.Value())
		}
	}
}

func TestUDPRetransmitsUntilAnswered(t *testing.T) {
	// Answers only the second retransmission: the third copy of the request.
	tg, rec := udpServer(t, func(req *sipmsg.Request, nth int) [][]byte {
		if nth < 3 {
			return nil
		}
		return freeswitch(req, nth)
	})
	obs, f := probe(t, tg, fast, 5*time.Second)
	wantState(t, obs, probes.Open)
	got := rec.all()
	if len(got) != 3 || obs.Attempts != 3 {
		t.Fatalf("server saw %d sends, probe counts %d attempts; want 3 and 3", len(got), obs.Attempts)
	}
	for i := 1; i < len(got); i++ {
		if !bytes.Equal(got[i].raw, got[0].raw) {
			t.Errorf("send %d differs from the first; a retransmission must be the same request:\n%s\n---\n%s", i+1, got[i].raw, got[0].raw)
		}
	}
	if f.StatusCode != 200 {
		t.Errorf("status = %d; want 200", f.StatusCode)
	}
}

// MaxSends (defaults.retries + 1) caps the retransmissions (how long the
// last send is listened to is udp.AtMost's, tested there).
func TestUDPMaxSends(t *testing.T) {
	for _, sends := range []int{1, 2} {
		t.Run(fmt.Sprint(sends), func(t *testing.T) {
			tg, rec := udpServer(t, func(*sipmsg.Request, int) [][]byte { return nil })
			opt := fast
			opt.MaxSends = sends
			obs, _ := probe(t, tg, opt, 400*time.Millisecond)
			wantState(t, obs, probes.Filtered)
			if got := len(rec.all()); got != sends || obs.Attempts != sends {
				t.Errorf("server saw %d sends, probe counts %d; want %d", got, obs.Attempts, sends)
			}
		})
	}
}

func TestUDPSilenceIsFiltered(t *testing.T) {
	// A socket that is never read: the cheapest honest dropping firewall.
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	obs, _ := probe(t, target(pc.LocalAddr(), "udp"), fast, 300*time.Millisecond)
	wantState(t, obs, probes.Filtered)
	if obs.Attempts < 2 {
		t.Errorf("attempts = %d; want retransmissions before giving up", obs.Attempts)
	}
	if obs.SilenceDoubt != "" {
		t.Errorf("silence doubt = %q; nothing came back, so there is none", obs.SilenceDoubt)
	}
}

func TestUDPClosedPortIsClosed(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tg := target(pc.LocalAddr(), "udp")
	pc.Close()
	obs, _ := probe(t, tg, fast, 3*time.Second)
	wantState(t, obs, probes.Closed)
}

func TestUDPWrongBranchIsNotAnAnswer(t *testing.T) {
	tg, rec := udpServer(t, func(req *sipmsg.Request, nth int) [][]byte {
		return [][]byte{response(req, 200, "OK", func(res *sipmsg.Response) {
			res.Via().Params.Add("branch", "z9hG4bK.someone-else")
		})}
	})
	obs, f := probe(t, tg, fast, 300*time.Millisecond)
	wantState(t, obs, probes.Filtered)
	if f == nil || f.StatusCode != 0 {
		t.Errorf("facts = %+v; want no status recorded", f)
	}
	if n := len(rec.all()); f == nil || f.Ignored != n {
		t.Errorf("ignored = %v; want %d (one stray answer per send)", f, n)
	}
	if obs.SilenceDoubt == "" {
		t.Error("no silence doubt, though something answered with the wrong branch")
	}
}

func TestUDPAnswerToAnotherMethodIsNotAnAnswer(t *testing.T) {
	tg, _ := udpServer(t, func(req *sipmsg.Request, nth int) [][]byte {
		return [][]byte{response(req, 200, "OK", func(res *sipmsg.Response) {
			res.CSeq().MethodName = sipmsg.INVITE
		})}
	})
	obs, _ := probe(t, tg, fast, 300*time.Millisecond)
	wantState(t, obs, probes.Filtered)
}

func TestUDPUnauthorizedIsOpenAndNotRetried(t *testing.T) {
	tg, rec := udpServer(t, func(req *sipmsg.Request, nth int) [][]byte {
		return [][]byte{response(req, 401, "Unauthorized", func(res *sipmsg.Response) {
			res.AppendHeader(sipmsg.NewHeader("WWW-Authenticate", `Digest realm="test", nonce="abc"`))
		})}
	})
	obs, f := probe(t, tg, fast, 2*time.Second)
	wantState(t, obs, probes.Open)
	if f.StatusCode != 401 {
		t.Errorf("status = %d; want 401", f.StatusCode)
	}
	got := rec.all()
	if len(got) != 1 {
		t.Fatalf("server saw %d requests; want 1 (no retry with credentials)", len(got))
	}
	if got[0].req.GetHeader("Authorization") != nil || got[0].req.GetHeader("Proxy-Authorization") != nil {
		t.Error("the request carried credentials")
	}
}

func TestUDPProvisionalOnlyIsOpen(t *testing.T) {
	tg, _ := udpServer(t, func(req *sipmsg.Request, nth int) [][]byte {
		return [][]byte{response(req, 100, "Trying", nil)}
	})
	obs, f := probe(t, tg, fast, 300*time.Millisecond)
	wantState(t, obs, probes.Open)
	if f.StatusCode != 100 || f.Final {
		t.Errorf("status = %d final=%v; want 100, not final", f.StatusCode, f.Final)
	}
}

func TestTCPAnsweredInPiecesAfterTrying(t *testing.T) {
	tg, rec := streamServer(t, nil, split(func(req *sipmsg.Request, nth int) [][]byte {
		return append([][]byte{response(req, 100, "Trying", nil)}, freeswitch(req, nth)...)
	}))
	obs, f := probe(t, tg, Options{}, 3*time.Second)
	wantState(t, obs, probes.Open)
	if obs.Error != "" {
		t.Errorf("error = %q (%s); want none", obs.Error, obs.Detail)
	}
	if f.StatusCode != 200 || !f.Final || f.UserAgent != fsUserAgent || f.Transport != "tcp" {
		t.Errorf("facts = %+v; want the final 200 from FreeSWITCH over tcp", f)
	}
	got := rec.all()
	if len(got) != 1 {
		t.Fatalf("server saw %d requests; want 1", len(got))
	}
	checkRequest(t, got[0], tg, "TCP", f)
}

func TestTCPClosedPortIsClosed(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tg := target(ln.Addr(), "tcp")
	ln.Close()
	obs, _ := probe(t, tg, Options{}, 3*time.Second)
	wantState(t, obs, probes.Closed)
}

func TestTCPWrongBranchIsNotAnAnswer(t *testing.T) {
	tg, _ := streamServer(t, nil, func(req *sipmsg.Request, nth int) [][]byte {
		return [][]byte{response(req, 200, "OK", func(res *sipmsg.Response) {
			res.Via().Params.Add("branch", "z9hG4bK.someone-else")
		})}
	})
	obs, f := probe(t, tg, Options{}, 300*time.Millisecond)
	// The connection was accepted, so the port is open; but no SIP answer
	// to this request came, and the observation says so.
	wantState(t, obs, probes.Open)
	if obs.Error != probes.ErrProtocol || f.StatusCode != 0 || f.Ignored != 1 {
		t.Errorf("error = %q, status = %d, ignored = %d; want protocol error, no status, 1 ignored", obs.Error, f.StatusCode, f.Ignored)
	}
}

func TestTCPSilentServerIsAProtocolFailure(t *testing.T) {
	tg, _ := streamServer(t, nil, func(*sipmsg.Request, int) [][]byte { return nil })
	obs, f := probe(t, tg, Options{}, 300*time.Millisecond)
	wantState(t, obs, probes.Open)
	if obs.Error != probes.ErrProtocol || f.StatusCode != 0 {
		t.Errorf("error = %q, status = %d; want a protocol error and no status", obs.Error, f.StatusCode)
	}
}

func TestTLS(t *testing.T) {
	pki := newPKI(t, []string{"sip.example.test"}, []net.IP{net.ParseIP("127.0.0.1")})
	var sni string
	cfg := &tls.Config{
		Certificates: []tls.Certificate{pki.server},
		GetConfigForClient: func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
			sni = hello.ServerName // read after the probe returns
			return nil, nil
		},
	}
	tg, rec := streamServer(t, cfg, freeswitch)

	cases := []struct {
		name       string
		opt        Options
		verified   *bool
		verifyName string
		sni        string
	}{
		{"verified by the CA file, for the IP", Options{CAFile: pki.caFile}, ptr(true), "127.0.0.1", ""},
		{"verified for the server name", Options{CAFile: pki.caFile, ServerName: "sip.example.test"}, ptr(true), "sip.example.test", "sip.example.test"},
		{"wrong server name", Options{CAFile: pki.caFile, ServerName: "other.example.test"}, ptr(false), "other.example.test", "other.example.test"},
		{"unknown CA against the system roots", Options{}, ptr(false), "127.0.0.1", ""},
		{"verification off", Options{InsecureSkipVerify: true}, nil, "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := len(rec.all())
			obs, f := probe(t, tg, c.opt, 3*time.Second)
			wantState(t, obs, probes.Open)
			// A certificate that does not verify is a fact, not the end
			// of the exchange: the server's answer is still there.
			if obs.Error != "" || f.StatusCode != 200 || f.UserAgent != fsUserAgent {
				t.Fatalf("error = %q (%s), status = %d, UA = %q; want the 200", obs.Error, obs.Detail, f.StatusCode, f.UserAgent)
			}
			tf := f.TLS
			if tf == nil {
				t.Fatal("no TLS facts")
			}
			if (tf.Verified == nil) != (c.verified == nil) || (tf.Verified != nil && *tf.Verified != *c.verified) {
				t.Errorf("verified = %v (%s); want %v", deref(tf.Verified), tf.VerifyError, deref(c.verified))
			}
			if tf.Verified != nil && !*tf.Verified && tf.VerifyError == "" {
				t.Error("verification failed without a reason")
			}
			if tf.VerifyName != c.verifyName || sni != c.sni || tf.ServerName != c.sni {
				t.Errorf("verify name = %q, SNI seen = %q, SNI in facts = %q; want %q, %q", tf.VerifyName, sni, tf.ServerName, c.verifyName, c.sni)
			}
			if tf.Version == "" || tf.CipherSuite == "" || len(tf.Chain) == 0 || tf.Chain[0] != "CN=sip test server" || tf.Issuer != "CN=probe test CA" {
				t.Errorf("TLS facts = %+v", tf)
			}
			if want := []string{"127.0.0.1", "sip.example.test"}; !slices.Equal(tf.SANs, want) {
				t.Errorf("SANs = %q; want %q", tf.SANs, want)
			}
			got := rec.all()
			if len(got) != before+1 {
				t.Fatalf("server saw %d new requests; want 1", len(got)-before)
			}
			checkRequest(t, got[before], tg, "TLS", f)
		})
	}
}

func TestTLSToAPlainPortIsAProtocolFailure(t *testing.T) {
	tg, _ := streamServer(t, nil, freeswitch)
	tg.Transport = "tls"
	obs, f := probe(t, tg, Options{InsecureSkipVerify: true}, 2*time.Second)
	wantState(t, obs, probes.Open)
	if obs.Error != probes.ErrProtocol || f.StatusCode != 0 || !strings.Contains(obs.Outcome, "TLS handshake failed") {
		t.Errorf("error = %q, outcome = %q, status = %d; want a failed TLS handshake", obs.Error, obs.Outcome, f.StatusCode)
	}
}

func TestTLSUnreadableCAFileIsALocalError(t *testing.T) {
	tg, _ := streamServer(t, nil, freeswitch)
	tg.Transport = "tls"
	obs, _ := probe(t, tg, Options{CAFile: t.TempDir() + "/missing.pem"}, 2*time.Second)
	if obs.State != probes.NoState || obs.Error != probes.ErrLocal {
		t.Errorf("state = %q, error = %q; want no state and a local error", obs.State, obs.Error)
	}
}

func TestUnknownTransportIsAnError(t *testing.T) {
	obs, _ := probe(t, probes.Target{Host: "127.0.0.1", Port: 5060, Transport: "sctp"}, Options{}, time.Second)
	if obs.State != probes.NoState || obs.Error != probes.ErrInternal {
		t.Errorf("state = %q, error = %q; want no state, internal error", obs.State, obs.Error)
	}
}

func TestUserAgent(t *testing.T) {
	for _, c := range []struct{ in, prefix string }{
		{"", "probe/"},
		{"probe", "probe/"},
		{"acme-check", "acme-check/"},
		{"acme-check/2.1", "acme-check/2.1"},
	} {
		if got := userAgent(Options{UserAgent: c.in}); !strings.HasPrefix(got, c.prefix) || strings.Count(got, "/") != 1 {
			t.Errorf("userAgent(%q) = %q; want %q followed by a version", c.in, got, c.prefix)
		}
	}
}

func ptr[T any](v T) *T { return &v }

func deref(b *bool) string {
	if b == nil {
		return "not checked"
	}
	return strconv.FormatBool(*b)
}
