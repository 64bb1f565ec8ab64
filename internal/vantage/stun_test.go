package vantage

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/stun/v3"

	"probe/internal/testutil"
)

// stunServer is an in-process STUN responder on loopback, for the cases
// coturn will not produce. answer builds the reply to a request (nil: no
// reply); with no answer at all the socket is never read, as behind a
// firewall that drops.
type stunServer struct {
	conn *net.UDPConn
	addr string
	got  atomic.Int64
}

func newSTUNServer(t *testing.T, answer func(req *stun.Message) *stun.Message) *stunServer {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	s := &stunServer{conn: c, addr: c.LocalAddr().String()}
	if answer == nil {
		return s
	}
	go func() {
		buf := make([]byte, 1500)
		for {
			n, from, err := c.ReadFromUDP(buf)
			if err != nil {
				return
			}
			s.got.Add(1)
			req := &stun.Message{Raw: append([]byte{}, buf[:n]...)}
			if req.Decode() != nil || req.Type != stun.BindingRequest {
				continue
			}
			if res := answer(req); res != nil {
				_, _ = c.WriteToUDP(res.Raw, from)
			}
		}
	}()
	return s
}

// drained counts the requests queued on a server that never read.
func (s *stunServer) drained() int {
	n := 0
	buf := make([]byte, 1500)
	for {
		_ = s.conn.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		if _, _, err := s.conn.ReadFromUDP(buf); err != nil {
			return n
		}
		n++
	}
}

// says answers every request with the given mapped address.
func says(ip string) func(*stun.Message) *stun.Message {
	return func(req *stun.Message) *stun.Message {
		return stun.MustBuild(stun.NewTransactionIDSetter(req.TransactionID), stun.BindingSuccess,
			&stun.XORMappedAddress{IP: net.ParseIP(ip), Port: 40000}, stun.NewSoftware("test-stun"), stun.Fingerprint)
	}
}

var reference = []Vantage{
	{Name: "admin", CIDRs: []netip.Prefix{netip.MustParsePrefix("73.6.78.238/32")}},
	{Name: "internet", CatchAll: true},
}

func TestDiscoverMappedAddress(t *testing.T) {
	tests := []struct {
		name, ip     string
		wantVantage  string
		adminErrWant bool
	}{
		{"inside the admin CIDR", "73.6.78.238", "admin", false},
		{"outside every CIDR", "198.51.100.7", "internet", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newSTUNServer(t, says(tc.ip))
			d, err := Discover(context.Background(), []string{s.addr}, 2*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			if d.Address != netip.MustParseAddr(tc.ip) || d.Server != s.addr || !d.Consistent || !d.NetworkOK() {
				t.Errorf("got %s from %q consistent %v network %v; want %s from %q, consistent, network ok",
					d.Address, d.Server, d.Consistent, d.NetworkOK(), tc.ip, s.addr)
			}
			a := d.Answers[0]
			if a.Port != 40000 || a.Software != "test-stun" || a.Attempts != 1 || a.Err != nil {
				t.Errorf("answer %+v; want port 40000, software test-stun, 1 attempt, no error", a)
			}
			if got := Match(d.Address, reference); got != tc.wantVantage {
				t.Errorf("Match = %q; want %q", got, tc.wantVantage)
			}
			if err := Check("admin", d.Address, reference); (err != nil) != tc.adminErrWant {
				t.Errorf("Check(admin) = %v; want error %v", err, tc.adminErrWant)
			}
		})
	}
}

// An RFC 3489 server sends MAPPED-ADDRESS only.
func TestDiscoverMappedAddressFallback(t *testing.T) {
	s := newSTUNServer(t, func(req *stun.Message) *stun.Message {
		return stun.MustBuild(stun.NewTransactionIDSetter(req.TransactionID), stun.BindingSuccess,
			&stun.MappedAddress{IP: net.ParseIP("203.0.113.9"), Port: 1234})
	})
	d, err := Discover(context.Background(), []string{s.addr}, 2*time.Second)
	if err != nil || d.Address != netip.MustParseAddr("203.0.113.9") || d.Answers[0].Port != 1234 {
		t.Errorf("got %s:%d, %v; want 203.0.113.9:1234", d.Address, d.Answers[0].Port, err)
	}
}

// Silence: every request goes unanswered until the deadline.
func TestDiscoverNoAnswer(t *testing.T) {
	s := newSTUNServer(t, nil)
	d, err := Discover(context.Background(), []string{s.addr}, 300*time.Millisecond)
	if !errors.Is(err, ErrNoSTUNAnswer) {
		t.Fatalf("err = %v; want ErrNoSTUNAnswer", err)
	}
	if d.Address.IsValid() || d.NetworkOK() || d.Consistent {
		t.Errorf("address %s network %v consistent %v; want none, false, false", d.Address, d.NetworkOK(), d.Consistent)
	}
	a := d.Answers[0]
	if a.Err == nil || a.Error == "" || a.Answered {
		t.Errorf("answer %+v; want an error and no answer", a)
	}
	if got := s.drained(); got == 0 || got != a.Attempts {
		t.Errorf("server got %d requests, answer says %d attempts; want the same, at least 1", got, a.Attempts)
	}
	if !strings.Contains(err.Error(), s.addr) {
		t.Errorf("error %q does not name the server %s", err, s.addr)
	}
}

// A reply to another transaction is ignored, so the request times out.
func TestDiscoverWrongTransaction(t *testing.T) {
	s := newSTUNServer(t, func(*stun.Message) *stun.Message {
		return stun.MustBuild(stun.TransactionID, stun.BindingSuccess,
			&stun.XORMappedAddress{IP: net.ParseIP("73.6.78.238"), Port: 1}, stun.Fingerprint)
	})
	d, err := Discover(context.Background(), []string{s.addr}, 1200*time.Millisecond)
	if !errors.Is(err, ErrNoSTUNAnswer) || d.Address.IsValid() || d.NetworkOK() {
		t.Errorf("err %v address %s network %v; want ErrNoSTUNAnswer, no address, no network evidence", err, d.Address, d.NetworkOK())
	}
	if got := s.got.Load(); got < 1 || int(got) != d.Answers[0].Attempts {
		t.Errorf("server answered %d requests; attempts %d; want the same, at least 1", got, d.Answers[0].Attempts)
	}
}

// A reply whose fingerprint is wrong is not an answer.
func TestDiscoverBadFingerprint(t *testing.T) {
	s := newSTUNServer(t, func(req *stun.Message) *stun.Message {
		m := says("73.6.78.238")(req)
		m.Raw[len(m.Raw)-1] ^= 0xFF
		return m
	})
	_, err := Discover(context.Background(), []string{s.addr}, 300*time.Millisecond)
	if !errors.Is(err, ErrNoSTUNAnswer) {
		t.Errorf("err = %v; want ErrNoSTUNAnswer", err)
	}
}

// An error response carries no address, but the network worked.
func TestDiscoverErrorResponse(t *testing.T) {
	s := newSTUNServer(t, func(req *stun.Message) *stun.Message {
		return stun.MustBuild(stun.NewTransactionIDSetter(req.TransactionID), stun.BindingError, stun.CodeBadRequest)
	})
	d, err := Discover(context.Background(), []string{s.addr}, 2*time.Second)
	if !errors.Is(err, ErrNoSTUNAnswer) || !d.NetworkOK() {
		t.Errorf("err %v network %v; want ErrNoSTUNAnswer and network ok", err, d.NetworkOK())
	}
	if !strings.Contains(d.Answers[0].Error, "400") {
		t.Errorf("answer error %q; want it to give the code 400", d.Answers[0].Error)
	}
}

func TestDiscoverDisagree(t *testing.T) {
	a, b := newSTUNServer(t, says("73.6.78.238")), newSTUNServer(t, says("198.51.100.7"))
	d, err := Discover(context.Background(), []string{a.addr, b.addr}, 2*time.Second)
	if !errors.Is(err, ErrSTUNDisagree) || d.Consistent {
		t.Fatalf("err %v consistent %v; want ErrSTUNDisagree, not consistent", err, d.Consistent)
	}
	if got := d.Addresses(); len(got) != 2 || !d.NetworkOK() {
		t.Errorf("addresses %v network %v; want both addresses, network ok", got, d.NetworkOK())
	}
	for _, ip := range []string{"73.6.78.238", "198.51.100.7"} {
		if !strings.Contains(err.Error(), ip) {
			t.Errorf("error %q does not say who said %s", err, ip)
		}
	}

	// Two against one: the majority's address, still flagged.
	c := newSTUNServer(t, says("198.51.100.7"))
	d, err = Discover(context.Background(), []string{a.addr, b.addr, c.addr}, 2*time.Second)
	if !errors.Is(err, ErrSTUNDisagree) || d.Address != netip.MustParseAddr("198.51.100.7") {
		t.Errorf("err %v address %s; want ErrSTUNDisagree and the majority's 198.51.100.7", err, d.Address)
	}
}

// A dead server does not spoil a live one's answer; its failure is listed.
func TestDiscoverOneServerClosed(t *testing.T) {
	live := newSTUNServer(t, says("73.6.78.238"))
	dead, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	deadAddr := dead.LocalAddr().String()
	dead.Close()
	d, err := Discover(context.Background(), []string{deadAddr, live.addr, "turn:example.net"}, 2*time.Second)
	if err != nil || !d.Consistent || d.Server != live.addr {
		t.Fatalf("err %v consistent %v server %q; want the live server's answer", err, d.Consistent, d.Server)
	}
	if e := d.Answers[0].Error; !strings.Contains(e, "ICMP port unreachable: ") || !strings.Contains(e, "connection refused") {
		t.Errorf("closed server's error %q; want ICMP port unreachable and the socket's own error", e)
	}
	if !strings.Contains(d.Answers[2].Error, "only stun:") {
		t.Errorf("turn: server's error %q; want it refused", d.Answers[2].Error)
	}
}

// No timeout given (zero or less) is the default, not none.
func TestDiscoverDefaultTimeout(t *testing.T) {
	s := newSTUNServer(t, says("73.6.78.238"))
	for _, timeout := range []time.Duration{0, -time.Second} {
		d, err := Discover(context.Background(), []string{s.addr}, timeout)
		if err != nil || d.Address != netip.MustParseAddr("73.6.78.238") {
			t.Errorf("timeout %v: address %v, err %v; want 73.6.78.238 within the default timeout", timeout, d.Address, err)
		}
	}
}

func TestDiscoverNoServers(t *testing.T) {
	if _, err := Discover(context.Background(), nil, time.Second); !errors.Is(err, ErrNoSTUNAnswer) {
		t.Errorf("err = %v; want ErrNoSTUNAnswer", err)
	}
}

// coturn, as the testbed runs it, in STUN-only mode on loopback: the mapped
// address must be loopback itself.
func TestDiscoverCoturn(t *testing.T) {
	port, logPath := testutil.Coturn(t)
	server := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	// coturn takes a moment to bind (until then its port refuses); ask
	// until it answers, for at most a generous while.
	var d Discovery
	var err error
	for start := time.Now(); time.Since(start) < 15*time.Second; time.Sleep(100 * time.Millisecond) {
		d, err = Discover(context.Background(), []string{"stun:" + server}, 500*time.Millisecond)
		if err == nil {
			break
		}
	}
	if err != nil {
		log, _ := os.ReadFile(logPath)
		t.Fatalf("coturn never answered: %v\n%s", err, log)
	}
	if d.Address != netip.MustParseAddr("127.0.0.1") || !d.Consistent || !d.NetworkOK() {
		t.Errorf("coturn says %s (consistent %v); want 127.0.0.1", d.Address, d.Consistent)
	}
	if d.Answers[0].Port == 0 {
		t.Errorf("no mapped port in %+v", d.Answers[0])
	}
}
