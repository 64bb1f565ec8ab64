package syn

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"probe/probes"
	"probe/probes/tcp"
)

// openScanner opens a Scanner, or skips the test where raw sockets are
// not allowed (CI runs as root, so it runs there).
func openScanner(t *testing.T) *Scanner {
	t.Helper()
	s, err := Open()
	if errors.Is(err, os.ErrPermission) || errors.Is(err, unix.EPERM) {
		t.Skipf("needs CAP_NET_RAW (root) for raw sockets: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// fullListener is a port whose listener drops every SYN: its accept queue
// (backlog 0: one connection) holds a connection never accepted, and Linux
// drops a SYN to a full queue without a word. It is the silence of a
// firewall's drop, on loopback.
func fullListener(t *testing.T) int {
	t.Helper()
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := unix.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	sa, _ := unix.Getsockname(fd)
	port := sa.(*unix.SockaddrInet4).Port
	// Fill the queue: connections that complete and are never accepted.
	for range 2 {
		c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), 200*time.Millisecond)
		if err == nil {
			t.Cleanup(func() { c.Close() })
		}
	}
	return port
}

// closedPort is a port nothing listens on: one a listener just gave back.
func closedPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	return port
}

// The half-open sweep sees what the connect probe sees, port for port, on
// real listeners, closed ports and a port that drops SYNs on 127.0.0.1;
// and it completes no handshake: the listeners have nothing to accept.
func TestScanMatchesConnect(t *testing.T) {
	s := openScanner(t)
	var listeners []*net.TCPListener
	var ports []int
	for range 3 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ln.Close() })
		listeners = append(listeners, ln.(*net.TCPListener))
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	for range 3 {
		ports = append(ports, closedPort(t))
	}
	silent := fullListener(t)
	ports = append(ports, silent)

	const wait = 300 * time.Millisecond
	res := s.Scan(context.Background(), []Target{{Addr: netip.MustParseAddr("127.0.0.1"), Ports: ports}}, Options{Rate: 1000, Timeout: wait})
	if len(res) != 1 {
		t.Fatalf("%d results; want 1", len(res))
	}
	for _, ln := range listeners {
		_ = ln.SetDeadline(time.Now().Add(200 * time.Millisecond))
		if c, err := ln.Accept(); err == nil {
			c.Close()
			t.Errorf("listener %s accepted a connection: the sweep completed a handshake", ln.Addr())
		}
	}
	for _, port := range ports {
		got := res[0].Observation(port)
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		want := tcp.Probe(ctx, probes.Target{Host: "127.0.0.1", Port: port, Transport: "tcp"}, tcp.Options{})
		cancel()
		if got.State != want.State || got.Error != "" {
			t.Errorf("port %d: half-open saw %s (%s, error %q); connect saw %s (%s)", port, got.State, got.Outcome, got.Error, want.State, want.Outcome)
		}
		switch got.State {
		case probes.Open, probes.Closed:
			if got.RTT <= 0 || got.Attempts != 1 {
				t.Errorf("port %d answered: RTT %s, attempts %d; want a round trip and one SYN", port, got.RTT, got.Attempts)
			}
		case probes.Filtered:
			if got.Attempts != 2 || got.Duration < wait {
				t.Errorf("port %d silent: attempts %d, waited %s; want 2 SYNs, each waited %s", port, got.Attempts, got.Duration, wait)
			}
		}
	}
	if st := res[0].Observation(silent).State; st != probes.Filtered {
		t.Errorf("the port whose listener drops SYNs: %s; want filtered", st)
	}
	if obs := res[0].Observation(1); obs.Error != probes.ErrInternal {
		t.Errorf("a port not asked for: %+v; want an internal error", obs)
	}
}

// Two targets in one scan are told apart by their answers' addresses, and
// a scan cut short reports the ports it did not decide as canceled, not
// as silent.
func TestScanTargetsAndCancel(t *testing.T) {
	s := openScanner(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	open := ln.Addr().(*net.TCPAddr).Port
	res := s.Scan(context.Background(), []Target{
		{Addr: netip.MustParseAddr("127.0.0.1"), Ports: []int{open}},
		{Addr: netip.MustParseAddr("127.0.0.2"), Ports: []int{open}}, // nothing listens there
	}, Options{Timeout: 300 * time.Millisecond})
	if st := res[0].Observation(open).State; st != probes.Open {
		t.Errorf("127.0.0.1:%d: %s; want open", open, st)
	}
	if st := res[1].Observation(open).State; st != probes.Closed {
		t.Errorf("127.0.0.2:%d: %s; want closed", open, st)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res = s.Scan(ctx, []Target{{Addr: netip.MustParseAddr("127.0.0.1"), Ports: []int{open, closedPort(t)}}}, Options{Rate: 10, Timeout: time.Second})
	for _, p := range []int{open} {
		if obs := res[0].Observation(p); obs.Error != probes.ErrCanceled {
			t.Errorf("port %d of a canceled scan: %s %q; want canceled", p, obs.State, obs.Error)
		}
	}
}

// countingBudget is a target's shared budget that lets every token go at
// once and counts them.
type countingBudget struct {
	mu            sync.Mutex
	taken, widest int
	burst         int
}

func (b *countingBudget) WaitN(_ context.Context, n int) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.taken += n
	b.widest = max(b.widest, n)
	return nil
}

func (b *countingBudget) Burst() int { return b.burst }

// Every SYN a scan sends, the second to a silent port included, takes a
// token of the target's shared budget (so the sweep and the connects
// beside it share one rate), never more at once than its burst.
func TestScanTakesATokenPerSYN(t *testing.T) {
	s := openScanner(t)
	var ports []int
	for range 5 {
		ports = append(ports, closedPort(t))
	}
	silent := fullListener(t)
	ports = append(ports, silent)
	budget := &countingBudget{burst: 2}
	res := s.Scan(context.Background(), []Target{{Addr: netip.MustParseAddr("127.0.0.1"), Ports: ports, Budget: budget}},
		Options{Rate: 1000, Timeout: 300 * time.Millisecond})
	sent := 0
	for _, port := range ports {
		sent += res[0].Observation(port).Attempts
	}
	if res[0].Observation(silent).Attempts != 2 {
		t.Fatalf("the silent port was sent %d SYNs; want 2", res[0].Observation(silent).Attempts)
	}
	if budget.taken != sent || budget.widest > budget.burst {
		t.Errorf("%d tokens taken of the shared budget, at most %d at once, for %d SYNs; want one a SYN, at most the burst of %d", budget.taken, budget.widest, sent, budget.burst)
	}
}
