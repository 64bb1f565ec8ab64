package sip

import (
	"bytes"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"

	"probe/internal/testutil"
	"probe/probes"
)

// In-process SIP servers on loopback for the cases a real server will not
// produce on demand.

const fsUserAgent = "FreeSWITCH-mod_sofia/1.10.12-release~64bit"

const fsAllow = "INVITE, ACK, BYE, CANCEL, OPTIONS, MESSAGE, INFO, UPDATE, REGISTER, REFER, NOTIFY, PUBLISH, SUBSCRIBE"

// seen is one request a fake server received.
type seen struct {
	raw  []byte
	req  *sipmsg.Request
	from net.Addr // the datagram's source or the connection's remote address
}

// recorder keeps what a fake server received, safely across goroutines.
type recorder struct {
	mu   sync.Mutex
	reqs []seen
}

func (r *recorder) add(s seen) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reqs = append(r.reqs, s)
	return len(r.reqs)
}

func (r *recorder) all() []seen {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]seen(nil), r.reqs...)
}

// respondFunc returns what to send back to the nth (1-based) request: each
// element is one datagram, or one write on a stream.
type respondFunc func(req *sipmsg.Request, nth int) [][]byte

// freeswitch answers 200 as FreeSWITCH does: its version in User-Agent.
func freeswitch(req *sipmsg.Request, _ int) [][]byte {
	return [][]byte{response(req, 200, "OK", func(res *sipmsg.Response) {
		res.AppendHeader(sipmsg.NewHeader("User-Agent", fsUserAgent))
		res.AppendHeader(sipmsg.NewHeader("Allow", fsAllow))
		res.AppendHeader(sipmsg.NewHeader("Supported", "timer, path, replaces"))
	})}
}

// response builds a response to req, letting edit add headers.
func response(req *sipmsg.Request, code int, reason string, edit func(*sipmsg.Response)) []byte {
	res := sipmsg.NewResponseFromRequest(req, code, reason, nil)
	if edit != nil {
		edit(res)
	}
	return []byte(res.String())
}

// udpServer answers SIP over UDP on 127.0.0.1 with respond.
func udpServer(t *testing.T, respond respondFunc) (probes.Target, *recorder) {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	rec := &recorder{}
	go func() {
		buf := make([]byte, 65535)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			raw := append([]byte(nil), buf[:n]...)
			msg, err := sipmsg.ParseMessage(raw)
			req, _ := msg.(*sipmsg.Request)
			nth := rec.add(seen{raw: raw, req: req, from: from})
			if err != nil || req == nil {
				continue
			}
			for _, d := range respond(req, nth) {
				_, _ = pc.WriteTo(d, from)
			}
		}
	}()
	return target(pc.LocalAddr(), "udp"), rec
}

// streamServer answers SIP over TCP, or TLS when cfg is set.
func streamServer(t *testing.T, cfg *tls.Config, respond respondFunc) (probes.Target, *recorder) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	transport := "tcp"
	if cfg != nil {
		ln = tls.NewListener(ln, cfg)
		transport = "tls"
	}
	rec := &recorder{}
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go serveStream(conn, rec, respond)
		}
	}()
	return target(ln.Addr(), transport), rec
}

func serveStream(conn net.Conn, rec *recorder, respond respondFunc) {
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	stream := sipmsg.NewParser().NewSIPStream()
	buf := make([]byte, 4096)
	for {
		n, err := conn.Read(buf)
		if err != nil {
			return
		}
		_, _ = stream.Write(buf[:n])
		msg, _, err := stream.ParseNext()
		if errors.Is(err, io.ErrUnexpectedEOF) {
			continue
		}
		if err != nil {
			return
		}
		req, _ := msg.(*sipmsg.Request)
		nth := rec.add(seen{raw: []byte(msg.String()), req: req, from: conn.RemoteAddr()})
		if req == nil {
			return
		}
		for _, w := range respond(req, nth) {
			if _, err := conn.Write(w); err != nil {
				return
			}
		}
	}
}

// split sends each response of inner in two writes, cut mid-header, to
// show the reader reassembles a response that arrives in pieces.
func split(inner respondFunc) respondFunc {
	return func(req *sipmsg.Request, nth int) [][]byte {
		var out [][]byte
		for _, w := range inner(req, nth) {
			cut := bytes.Index(w, []byte("\r\nCall-ID")) + 5
			out = append(out, w[:cut], w[cut:])
		}
		return out
	}
}

func target(a net.Addr, transport string) probes.Target {
	host, port, _ := net.SplitHostPort(a.String())
	p, _ := strconv.Atoi(port)
	return probes.Target{Name: "fake", Host: host, Port: p, Transport: transport}
}

// testPKI is a CA and a server certificate it signed.
type testPKI struct {
	caFile string // the CA certificate, PEM, on disk
	server tls.Certificate
	leaf   testutil.Leaf
}

// newPKI makes a CA and a leaf valid for the given DNS names and IPs.
func newPKI(t *testing.T, dnsNames []string, ips []net.IP) testPKI {
	t.Helper()
	ca := testutil.NewCA(t, "probe test CA")
	names := append([]string(nil), dnsNames...)
	for _, ip := range ips {
		names = append(names, ip.String())
	}
	now := time.Now()
	leaf := ca.Issue(t, "sip test server", names, now.Add(-time.Hour), now.Add(24*time.Hour))
	return testPKI{caFile: ca.WriteFile(t, t.TempDir()), server: leaf.TLS, leaf: leaf}
}

// writePEM writes the server's certificate and key as PEM files, for a
// real server to load.
func (p testPKI) writePEM(t *testing.T) (certFile, keyFile string) {
	t.Helper()
	return p.leaf.WriteFiles(t, t.TempDir())
}
