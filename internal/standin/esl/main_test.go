package main

import (
	"bufio"
	"io"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"
)

func start(t *testing.T, s *server) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go s.serve(ln)
	return ln.Addr().String()
}

func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(3 * time.Second))
	t.Cleanup(func() { c.Close() })
	return c
}

func loopback() []netip.Prefix { return []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")} }

func TestRudeRejectionOutsideACL(t *testing.T) {
	addr := start(t, &server{allow: []netip.Prefix{netip.MustParsePrefix("203.0.113.10/32")}, idle: time.Second})
	got, err := io.ReadAll(dial(t, addr))
	if err != nil {
		t.Fatal(err)
	}
	want := "Content-Type: text/rude-rejection\nContent-Length: 24\n\nAccess Denied, go away.\n"
	if string(got) != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func TestAuthRequestThenInvalid(t *testing.T) {
	addr := start(t, &server{allow: loopback(), idle: time.Second})
	c := dial(t, addr)
	r := bufio.NewReader(c)
	greet := readBlock(t, r)
	if greet != "Content-Type: auth/request\n" {
		t.Fatalf("greeting %q", greet)
	}
	io.WriteString(c, "auth ClueCon\n\n")
	if got := readBlock(t, r); !strings.Contains(got, "Reply-Text: -ERR invalid") {
		t.Fatalf("reply %q", got)
	}
	if _, err := r.ReadByte(); err != io.EOF {
		t.Fatalf("connection not closed after failed auth: %v", err)
	}
}

func TestAuthAccepted(t *testing.T) {
	addr := start(t, &server{allow: loopback(), password: "ClueCon", idle: time.Second})
	c := dial(t, addr)
	r := bufio.NewReader(c)
	readBlock(t, r)
	io.WriteString(c, "auth ClueCon\n\n")
	if got := readBlock(t, r); !strings.Contains(got, "Reply-Text: +OK accepted") {
		t.Fatalf("reply %q", got)
	}
	io.WriteString(c, "exit\n\n")
	if got := readBlock(t, r); !strings.Contains(got, "+OK bye") {
		t.Fatalf("reply %q", got)
	}
}

func TestCIDRFlag(t *testing.T) {
	var l cidrList
	if err := l.Set("203.0.113.10, 127.0.0.0/8"); err != nil {
		t.Fatal(err)
	}
	if err := l.Set("192.0.2.0/24"); err != nil {
		t.Fatal(err)
	}
	if len(l) != 3 || l[0].String() != "203.0.113.10/32" {
		t.Fatalf("got %v", l)
	}
	if err := l.Set("nonsense"); err == nil {
		t.Fatal("want error")
	}
}

// readBlock reads header lines up to the blank line that ends them.
func readBlock(t *testing.T, r *bufio.Reader) string {
	t.Helper()
	var b strings.Builder
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("read: %v (so far %q)", err, b.String())
		}
		if line == "\n" {
			return b.String()
		}
		b.WriteString(line)
	}
}
