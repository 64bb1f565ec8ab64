package tcp

import (
	"context"
	"net"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"probe/internal/testutil"
	"probe/probes"
)

func target(t *testing.T, addr string) probes.Target {
	t.Helper()
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := net.LookupPort("tcp", port)
	return probes.Target{Name: "local", Host: host, Port: p, Transport: "tcp"}
}

// closedPort returns a loopback port that nothing listens on.
func closedPort(t *testing.T) string {
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(testutil.FreePort(t)))
}

// fullBacklog returns a listener whose accept queue is full and never
// drained: the kernel drops further SYNs, as a DROP firewall rule would.
func fullBacklog(t *testing.T) string {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	sa, _ := syscall.Getsockname(fd)
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(sa.(*syscall.SockaddrInet4).Port))
	// Fill the queue: with a backlog of 0 the kernel queues one handshake.
	for i := 0; i < 2; i++ {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			t.Cleanup(func() { c.Close() })
		}
	}
	return addr
}

func TestProbeStates(t *testing.T) {
	tests := []struct {
		name  string
		addr  func(t *testing.T) string
		want  probes.State
		error probes.ErrorClass
	}{
		{"open", func(t *testing.T) string { return testutil.Greeter(t, "127.0.0.1:0", "").Addr().String() }, probes.Open, ""},
		{"closed", closedPort, probes.Closed, ""},
		{"filtered_when_syn_dropped", fullBacklog, probes.Filtered, ""},
		{"name_does_not_resolve_without_a_query", func(*testing.T) string { return "no..such..name:22" }, probes.NoState, probes.ErrResolve},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			defer cancel()
			tg := target(t, tt.addr(t))
			got := Probe(ctx, tg, Options{})
			if got.State != tt.want || got.Error != tt.error {
				t.Errorf("state = %q, error = %q (%s: %s); want %q, %q", got.State, got.Error, got.Outcome, got.Detail, tt.want, tt.error)
			}
		})
	}
}

func TestProbeBanner(t *testing.T) {
	tests := []struct {
		name, greet, want, outcome string
	}{
		{"esl_accepts", "Content-Type: auth/request\n\n", "Content-Type: auth/request\n\n", "received"},
		{"esl_rejects", "Content-Type: text/rude-rejection\nContent-Length: 24\n\nAccess Denied, go away.\n", "Content-Type: text/rude-rejection", "received"},
		{"silent_then_close", "", "", "closed by peer"},
		{"unprintable", "SSH-2.0-x\r\n\x00\x01", `SSH-2.0-x\r` + "\n" + `\x00\x01`, "received"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ln := testutil.Greeter(t, "127.0.0.1:0", tt.greet)
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			got := Probe(ctx, target(t, ln.Addr().String()), Options{ReadBanner: true})
			f, ok := got.Facts.(*Facts)
			if got.State != probes.Open || !ok {
				t.Fatalf("state = %s, facts %T; want open with facts", got.State, got.Facts)
			}
			if !strings.HasPrefix(f.Banner, tt.want) || f.BannerOutcome != tt.outcome {
				t.Errorf("banner = %q (%s); want prefix %q (%s)", f.Banner, f.BannerOutcome, tt.want, tt.outcome)
			}
		})
	}
}

func TestBannerSilentServerTimesOut(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err == nil {
			defer c.Close()
			time.Sleep(2 * time.Second)
		}
	}()
	got := Probe(context.Background(), target(t, ln.Addr().String()), Options{ReadBanner: true, BannerWait: 100 * time.Millisecond})
	f := got.Facts.(*Facts)
	if got.State != probes.Open || f.Banner != "" || f.BannerOutcome != "none before timeout" {
		t.Errorf("state %s, banner %q (%s); want open with no banner before timeout", got.State, f.Banner, f.BannerOutcome)
	}
}

// FuzzPrintable: whatever a server sends, the banner shown is valid UTF-8
// with no control bytes but newline and tab, and at most 4 bytes per input
// byte (an invalid byte becomes \xNN; a rune's escape is no longer than
// 2.5 times its encoding).
func FuzzPrintable(f *testing.F) {
	f.Add([]byte("SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n"))
	f.Add([]byte("Content-Type: auth/request\n\n"))
	f.Add([]byte{0, 1, 2, 0xff, 0xfe, '\t', 0x1b, '[', '3', '1', 'm'})
	f.Fuzz(func(t *testing.T, b []byte) {
		s := Printable(b)
		if !utf8.ValidString(s) {
			t.Fatalf("Printable(%q) = %q: not UTF-8", b, s)
		}
		for _, r := range s {
			if r != '\n' && r != '\t' && !unicode.IsPrint(r) {
				t.Fatalf("Printable(%q) = %q: holds unprintable %U", b, s, r)
			}
		}
		if len(s) > 4*len(b) {
			t.Fatalf("Printable grew %d bytes to %d", len(b), len(s))
		}
	})
}
