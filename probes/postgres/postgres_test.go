package postgres

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"probe/internal/testutil"
	"probe/probes"
)

// msg frames a backend message.
func msg(typ byte, payload ...[]byte) []byte {
	body := bytes.Join(payload, nil)
	b := []byte{typ, 0, 0, 0, 0}
	binary.BigEndian.PutUint32(b[1:], uint32(4+len(body)))
	return append(b, body...)
}

func u32(n uint32) []byte { return binary.BigEndian.AppendUint32(nil, n) }

func authRequest(code uint32, extra ...byte) []byte { return msg('R', u32(code), extra) }

func errorResponse(code, text string) []byte {
	return msg('E', []byte("SFATAL\x00VFATAL\x00C"+code+"\x00M"+text+"\x00\x00"))
}

// readStartup reads a StartupMessage (or an SSLRequest) from a client.
func readStartup(c net.Conn) ([]byte, error) {
	var n uint32
	if err := binary.Read(c, binary.BigEndian, &n); err != nil {
		return nil, err
	}
	if n < 8 || n > 1024 {
		return nil, io.ErrUnexpectedEOF
	}
	b := make([]byte, n-4)
	_, err := io.ReadFull(c, b)
	return b, err
}

// fake is a server that answers the SSLRequest with ssl, then (when ssl is
// 'N') answers the StartupMessage with reply; hang keeps the connection
// open without a word after what it sent.
type fake struct {
	ssl    []byte // the answer to the SSLRequest; nil: close at once
	reply  []byte // the answer to a StartupMessage
	hang   bool
	conns  atomic.Int32
	gotEnd atomic.Bool // the client sent Terminate
}

func (f *fake) serve(c net.Conn) {
	f.conns.Add(1)
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	first, err := readStartup(c)
	if err != nil {
		return
	}
	if binary.BigEndian.Uint32(first) == sslRequestCode {
		if f.ssl == nil {
			f.wait(c)
			return
		}
		_, _ = c.Write(f.ssl)
		if f.ssl[0] == 'S' {
			// Read the ClientHello's first bytes and leave mid-handshake.
			_, _ = c.Read(make([]byte, 16))
			return
		}
		if f.ssl[0] != 'N' {
			f.wait(c)
			return
		}
		if _, err := readStartup(c); err != nil {
			return
		}
	}
	_, _ = c.Write(f.reply)
	if bytes.Equal(f.reply, authRequest(0)) {
		var b [5]byte
		if _, err := io.ReadFull(c, b[:]); err == nil && b[0] == 'X' {
			f.gotEnd.Store(true)
		}
	}
	f.wait(c)
}

func (f *fake) wait(c net.Conn) {
	if f.hang {
		_, _ = io.Copy(io.Discard, c)
	}
}

func TestFakeServers(t *testing.T) {
	md5 := authRequest(5, 1, 2, 3, 4)
	tests := []struct {
		name     string
		fake     *fake
		opt      Options
		err      probes.ErrorClass
		outcome  string // in the observation's outcome
		plain    Answer // the plaintext startup's answer; "" when none is expected
		method   string
		conns    int32
		terminat bool
	}{
		{name: "closed at once", fake: &fake{}, err: probes.ErrProtocol, outcome: "no answer to the SSLRequest: the server closed the connection", conns: 1},
		{name: "silent", fake: &fake{hang: true, ssl: nil}, err: probes.ErrProtocol, outcome: "no answer to the SSLRequest: no answer before the timeout", conns: 1},
		{name: "not postgres", fake: &fake{ssl: []byte("HTTP/1.1 400 Bad Request\r\n\r\n")}, err: probes.ErrProtocol, outcome: "not PostgreSQL's", conns: 1},
		{name: "TLS cut short", fake: &fake{ssl: []byte("S")}, err: probes.ErrProtocol, outcome: "the TLS handshake failed", conns: 1},
		{name: "no TLS, md5 in plaintext", fake: &fake{ssl: []byte("N"), reply: md5}, opt: Options{Plaintext: true},
			outcome: "TLS refused (N); without TLS: authentication requested (md5)", plain: AuthRequested, method: "md5", conns: 1},
		{name: "no TLS, refused", fake: &fake{ssl: []byte("N"), reply: errorResponse("28000", `no pg_hba.conf entry for host "x", no encryption`)},
			opt: Options{Plaintext: true}, outcome: "refused before authentication (FATAL 28000", plain: Refused, conns: 1},
		{name: "no TLS, trust", fake: &fake{ssl: []byte("N"), reply: authRequest(0)}, opt: Options{Plaintext: true},
			outcome: "let in without authentication", plain: NoAuth, method: "trust", conns: 1, terminat: true},
		{name: "no TLS, garbage after the startup", fake: &fake{ssl: []byte("N"), reply: []byte("\x00\x01garbage")}, opt: Options{Plaintext: true},
			outcome: "no answer (not a PostgreSQL message", plain: NoAnswer, conns: 1},
		{name: "no TLS, silent after the startup", fake: &fake{ssl: []byte("N"), hang: true}, opt: Options{Plaintext: true},
			outcome: "no answer (no answer before the timeout)", plain: NoAnswer, conns: 1},
		{name: "no TLS, closed mid-message", fake: &fake{ssl: []byte("N"), reply: md5[:6]}, opt: Options{Plaintext: true},
			outcome: "no answer (the server closed the connection)", plain: NoAnswer, conns: 1},
		{name: "an error to the SSLRequest, then plaintext", fake: &fake{ssl: errorResponse("08P01", "unsupported frontend protocol"), reply: md5},
			opt: Options{Plaintext: true}, outcome: "drew an error: no TLS; without TLS: authentication requested (md5)", plain: AuthRequested, method: "md5", conns: 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// Registered first, so run last: after the server's handlers
			// have returned.
			t.Cleanup(func() {
				if n := tc.fake.conns.Load(); n != tc.conns {
					t.Errorf("the probe made %d connections, want %d", n, tc.conns)
				}
				if tc.fake.gotEnd.Load() != tc.terminat {
					t.Errorf("Terminate sent: %v, want %v", tc.fake.gotEnd.Load(), tc.terminat)
				}
			})
			ln := testutil.ServeTCP(t, tc.fake.serve)
			target := probes.Target{Name: "db", Host: "127.0.0.1", Port: testutil.Port(ln.Addr()), Transport: "tcp"}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second) // generous: a loaded CI machine
			defer cancel()
			obs := Probe(ctx, target, tc.opt)
			if obs.State != probes.Open || obs.Error != tc.err || !strings.Contains(obs.Outcome, tc.outcome) {
				t.Errorf("got %s/%s %q (%s), want open/%s and %q", obs.State, obs.Error, obs.Outcome, obs.Detail, tc.err, tc.outcome)
			}
			f, _ := obs.Facts.(*Facts)
			if f == nil {
				t.Fatalf("no facts in %+v", obs)
			}
			ps := f.PlaintextStartup
			switch {
			case tc.plain == "" && ps != nil:
				t.Errorf("want no plaintext startup, got %+v", ps)
			case tc.plain != "" && (ps == nil || ps.Answer != tc.plain || ps.Method != tc.method):
				t.Errorf("want plaintext answer %s %q, got %+v", tc.plain, tc.method, ps)
			}
		})
	}
}

// A port nothing listens on is closed, and nothing is claimed about it.
func TestClosedPort(t *testing.T) {
	target := probes.Target{Name: "db", Host: "127.0.0.1", Port: testutil.FreePort(t), Transport: "tcp"}
	obs := Probe(context.Background(), target, Options{Plaintext: true, AskAuth: true})
	if obs.State != probes.Closed || obs.Facts != nil {
		t.Errorf("got %+v, want closed without facts", obs)
	}
}

func TestReadStartupAnswer(t *testing.T) {
	sasl := authRequest(10, []byte("SCRAM-SHA-256-PLUS\x00SCRAM-SHA-256\x00\x00")...)
	tests := []struct {
		name   string
		in     []byte
		want   Answer
		method string
		detail string // an error is expected, containing this
	}{
		{"sasl", sasl, AuthRequested, "sasl", ""},
		{"notice first", append(msg('N', []byte("SNOTICE\x00Mhello\x00\x00")), authRequest(3)...), AuthRequested, "password", ""},
		{"negotiate first", append(msg('v', u32(196608), u32(0)), authRequest(5, 0, 0, 0, 0)...), AuthRequested, "md5", ""},
		{"unknown code", authRequest(99), AuthRequested, "unknown (99)", ""},
		{"ok", authRequest(0), NoAuth, "trust", ""},
		{"error", errorResponse("28000", "no"), Refused, "", ""},
		{"short auth", msg('R', []byte{0, 0}), NoAnswer, "", "authentication request of 2 bytes"},
		{"huge length", []byte{'R', 0x7f, 0, 0, 0}, NoAnswer, "", "length"},
		{"length below 4", []byte{'R', 0, 0, 0, 3}, NoAnswer, "", "length"},
		{"binary type", []byte{0x16, 3, 1, 0, 5}, NoAnswer, "", "message type"},
		{"ready before auth", msg('Z', []byte{'I'}), NoAnswer, "", "unexpected message"},
		{"only notices", bytes.Repeat(msg('N', []byte("Mx\x00\x00")), 20), NoAnswer, "", "no authentication request"},
		{"empty", nil, NoAnswer, "", "EOF"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := readStartupAnswer(bufio.NewReader(bytes.NewReader(tc.in)))
			if s.Answer != tc.want || s.Method != tc.method {
				t.Errorf("got %+v, want %s %q", s, tc.want, tc.method)
			}
			if (err != nil) != (tc.detail != "") || err != nil && !strings.Contains(err.Error(), tc.detail) {
				t.Errorf("error %v, want one containing %q", err, tc.detail)
			}
		})
	}
	s, _ := readStartupAnswer(bufio.NewReader(bytes.NewReader(sasl)))
	if strings.Join(s.Mechanisms, ",") != "SCRAM-SHA-256-PLUS,SCRAM-SHA-256" {
		t.Errorf("mechanisms %q", s.Mechanisms)
	}
	s, _ = readStartupAnswer(bufio.NewReader(bytes.NewReader(errorResponse("28000", "pg_hba.conf rejects connection\x01"))))
	if s.SQLState != "28000" || s.Severity != "FATAL" || s.Message != `pg_hba.conf rejects connection\x01` {
		t.Errorf("error fields %+v", s)
	}
}

func TestStartupMessage(t *testing.T) {
	got := startupMessage("user", "probe", "database", "probe")
	want := "\x00\x00\x00\x23\x00\x03\x00\x00user\x00probe\x00database\x00probe\x00\x00"
	if string(got) != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if string(sslRequest()) != "\x00\x00\x00\x08\x04\xd2\x16\x2f" {
		t.Errorf("SSLRequest %q", sslRequest())
	}
}

func FuzzReadStartupAnswer(f *testing.F) {
	f.Add(authRequest(10, []byte("SCRAM-SHA-256\x00\x00")...))
	f.Add(errorResponse("28000", "no pg_hba.conf entry"))
	f.Add(append(msg('N', []byte("Mx\x00")), authRequest(0)...))
	f.Add([]byte("E\x00\x00\x00\x05"))
	f.Fuzz(func(t *testing.T, in []byte) {
		r := bufio.NewReader(bytes.NewReader(in))
		s, err := readStartupAnswer(r)
		if (s.Answer == NoAnswer) != (err != nil) {
			t.Fatalf("answer %s with error %v", s.Answer, err)
		}
		if s.Answer == AuthRequested && (s.AuthCode == nil || *s.AuthCode == 0) || s.Answer == NoAuth && (s.AuthCode == nil || *s.AuthCode != 0) {
			t.Fatalf("answer %s with code %v", s.Answer, s.AuthCode)
		}
		if len(s.Message) > 512*4 || len(s.Mechanisms) > 16 || len(s.Notices) > 4 {
			t.Fatalf("unbounded facts: %+v", s)
		}
	})
}
