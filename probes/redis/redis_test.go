package redis

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"probe/internal/testutil"
	"probe/probes"
)

func TestReadReply(t *testing.T) {
	tests := []struct {
		in, want string
		code     string
		err      error
	}{
		{"+PONG\r\n", "+PONG", "", nil},
		{"-NOAUTH Authentication required.\r\n", "-NOAUTH Authentication required.", "NOAUTH", nil},
		{"-NOPERM this user has no permissions to run the 'ping' command\r\n", "-NOPERM this user has no permissions to run the 'ping' command", "NOPERM", nil},
		{"$4\r\nPONG\r\n", "$4", "", nil},
		{"+PONG", "", "", io.ErrUnexpectedEOF},
		{"", "", "", io.EOF},
		{"\x15\x03\x01\x00\x02\x02\x46", "", "", errNotRESP},
		{"HTTP/1.1 400 Bad Request\r\n", "", "", errNotRESP},
		{"+PO\rNG\r\n", "", "", errNotRESP},
		{"!\n\r\n", "", "", errNotRESP},
		{"+" + strings.Repeat("x", 600) + "\r\n", "", "", errNotRESP},
	}
	for _, tc := range tests {
		r, _, err := readReply(bufio.NewReader(strings.NewReader(tc.in)))
		if !errors.Is(err, tc.err) || err == nil && (r.String() != tc.want || r.Code() != tc.code) {
			t.Errorf("%q: got %q (code %q), %v; want %q (code %q), %v", tc.in, r.String(), r.Code(), err, tc.want, tc.code, tc.err)
		}
	}
}

func FuzzReadReply(f *testing.F) {
	f.Add([]byte("+PONG\r\n"))
	f.Add([]byte("-NOAUTH Authentication required.\r\n"))
	f.Add([]byte("\x15\x03\x01\x00\x02\x02\x46"))
	f.Add([]byte("-\r\r\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		r, seen, err := readReply(bufio.NewReader(strings.NewReader(string(in))))
		if err == nil && (len(r.Type) != 1 || !strings.Contains(respTypes, r.Type) || strings.ContainsAny(r.Text, "\r\n")) {
			t.Fatalf("reply %q from %q", r.String(), in)
		}
		if len(r.Text) > 4*MaxReplyLine || len(seen) > 4*64 {
			t.Fatalf("unbounded: %d, %d bytes", len(r.Text), len(seen))
		}
	})
}

// A fake's behaviour on each connection: what it does with the plaintext
// PING (first connection) and with the TLS one (second).
type fake struct {
	plain   func(net.Conn)
	tlsConf *tls.Config // nil: no TLS, the second connection is closed
	tlsPing func(net.Conn)
	conns   atomic.Int32
}

func (f *fake) serve(c net.Conn) {
	n := f.conns.Add(1)
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if n == 1 {
		f.plain(c)
		return
	}
	if f.tlsConf == nil {
		return
	}
	tc := tls.Server(c, f.tlsConf)
	if tc.Handshake() != nil {
		return
	}
	f.tlsPing(tc)
}

func reply(s string) func(net.Conn) {
	return func(c net.Conn) {
		_, _ = c.Read(make([]byte, 64))
		_, _ = io.WriteString(c, s)
	}
}

func hang(c net.Conn) { _, _ = io.Copy(io.Discard, c) }
func shut(c net.Conn) { _, _ = c.Read(make([]byte, 64)) }

func TestFakeServers(t *testing.T) {
	ca := testutil.NewCA(t, "fake CA")
	leaf := ca.Issue(t, "cache.test", []string{"127.0.0.1"}, time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
	conf := &tls.Config{Certificates: []tls.Certificate{leaf.TLS}}
	tests := []struct {
		name    string
		fake    *fake
		err     probes.ErrorClass
		outcome string
		conns   int32
	}{
		{"plaintext PONG", &fake{plain: reply("+PONG\r\n")}, "", "no TLS: PING without TLS answered +PONG", 1},
		{"TLS NOAUTH", &fake{plain: shut, tlsConf: conf, tlsPing: reply("-NOAUTH Authentication required.\r\n")}, "",
			"PING without TLS drew no reply (closed); over TLS (TLS 1.3): -NOAUTH Authentication required.", 2},
		{"silent plaintext, then TLS", &fake{plain: hang, tlsConf: conf, tlsPing: reply("+PONG\r\n")}, "",
			"no reply (no answer before the timeout); over TLS (TLS 1.3): +PONG", 2},
		{"garbage, no TLS", &fake{plain: reply("SSH-2.0-OpenSSH_9.2\r\n")}, probes.ErrProtocol,
			"connected, but no Redis reply: PING without TLS drew no reply (not RESP); the TLS handshake failed", 2},
		{"TLS, silent after the handshake", &fake{plain: shut, tlsConf: conf, tlsPing: hang}, probes.ErrProtocol,
			"over TLS (TLS 1.3): no reply to PING (no answer before the timeout)", 2},
		{"TLS, closed mid-reply", &fake{plain: shut, tlsConf: conf, tlsPing: reply("-NOAU")}, probes.ErrProtocol,
			"no reply to PING (closed mid-reply)", 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// Registered first, so run last: after the server's handlers
			// have returned.
			t.Cleanup(func() {
				if n := tc.fake.conns.Load(); n != tc.conns {
					t.Errorf("%d connections, want %d", n, tc.conns)
				}
			})
			ln := testutil.ServeTCP(t, tc.fake.serve)
			target := probes.Target{Name: "redis", Host: "127.0.0.1", Port: testutil.Port(ln.Addr()), Transport: "tcp"}
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second) // generous: a loaded CI machine
			defer cancel()
			obs := Probe(ctx, target, Options{CAFiles: []string{ca.WriteFile(t, t.TempDir())}})
			if obs.State != probes.Open || obs.Error != tc.err || !strings.Contains(obs.Outcome, tc.outcome) {
				t.Errorf("got %s/%s %q (%s), want open/%s and %q", obs.State, obs.Error, obs.Outcome, obs.Detail, tc.err, tc.outcome)
			}
		})
	}
}

func TestClosedPort(t *testing.T) {
	target := probes.Target{Name: "redis", Host: "127.0.0.1", Port: testutil.FreePort(t), Transport: "tcp"}
	if obs := Probe(context.Background(), target, Options{}); obs.State != probes.Closed || obs.Facts != nil {
		t.Errorf("got %+v, want closed without facts", obs)
	}
}
