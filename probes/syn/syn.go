// Package syn is the half-open TCP sweep: a SYN to every port of a range,
// sent from one raw socket at a set rate per target, the answers read from
// raw sockets, as nmap -sS does. A SYN-ACK says the port is open, a RST
// that it is closed, an ICMP destination unreachable (prohibited, host
// unreachable) that something on the way refused it, and silence after a
// second SYN that something dropped it.
//
// It never completes a handshake: no socket of the prober owns the source
// port (it is reserved by a bound socket that does not listen), so the
// prober's own kernel answers a SYN-ACK with a RST, and the service sees a
// connection attempt abandoned, never a connection. It sends nothing but
// SYNs, each port at most twice (the second only to a port that stayed
// silent), and knows nothing of expectations: it returns, per port, what
// a TCP probe would have seen.
//
// Raw sockets need CAP_NET_RAW: Open fails without it, and the caller then
// sweeps with connects. IPv4 only. Headers are built and read with
// gopacket's layers.
//
// Memory is bounded per target, not per port: a few arrays indexed by port
// (Result) and one goroutine sending to each target.
package syn

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"

	"golang.org/x/sys/unix"
	"golang.org/x/time/rate"
)

// Scanner holds the raw sockets and the reserved source port of the sweeps
// of one run. It is safe for one Scan at a time.
type Scanner struct {
	tcp, icmp *net.IPConn
	// reserved is the bound, not listening, TCP socket that owns the
	// source port, so the kernel never gives it to a connect of this or
	// another process, and answers a SYN-ACK to it with a RST.
	reserved int
	port     uint16
	cookies  cookies
}

// ReadBuffer is the receive buffer asked of each raw socket: a host whose
// every port refuses answers 20,000 RSTs a second, and an answer dropped
// here would be taken for a firewall's silence.
const ReadBuffer = 8 << 20

// Open opens the raw sockets and reserves a source port. Without
// CAP_NET_RAW it fails (operation not permitted).
func Open() (*Scanner, error) {
	s := &Scanner{reserved: -1, cookies: newCookies()}
	var err error
	if s.tcp, err = listenRaw("ip4:tcp"); err != nil {
		return nil, err
	}
	if s.icmp, err = listenRaw("ip4:icmp"); err != nil {
		s.Close()
		return nil, err
	}
	if s.reserved, s.port, err = reservePort(); err != nil {
		s.Close()
		return nil, err
	}
	if err := attachFilter(s.tcp, tcpFilter(s.port)); err != nil {
		s.Close()
		return nil, fmt.Errorf("raw socket (ip4:tcp): %w", err)
	}
	if err := attachFilter(s.icmp, icmpFilter(s.port)); err != nil {
		s.Close()
		return nil, fmt.Errorf("raw socket (ip4:icmp): %w", err)
	}
	return s, nil
}

func listenRaw(network string) (*net.IPConn, error) {
	c, err := net.ListenIP(network, &net.IPAddr{IP: net.IPv4zero})
	if err != nil {
		return nil, fmt.Errorf("raw socket (%s): %w", network, err)
	}
	if rc, err := c.SyscallConn(); err == nil {
		_ = rc.Control(func(fd uintptr) {
			// FORCE passes net.core.rmem_max with CAP_NET_ADMIN;
			// without it the plain one is capped there.
			if unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, ReadBuffer) != nil {
				_ = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF, ReadBuffer)
			}
		})
	}
	return c, nil
}

// reservePort binds a TCP socket to a free port without listening on it.
func reservePort() (int, uint16, error) {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, 0, fmt.Errorf("reserving a source port: %w", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrInet4{}); err != nil {
		unix.Close(fd)
		return -1, 0, fmt.Errorf("reserving a source port: %w", err)
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		unix.Close(fd)
		return -1, 0, fmt.Errorf("reserving a source port: %w", err)
	}
	return fd, uint16(sa.(*unix.SockaddrInet4).Port), nil
}

// Close releases the sockets and the port.
func (s *Scanner) Close() error {
	var errs []error
	for _, c := range []*net.IPConn{s.tcp, s.icmp} {
		if c != nil {
			errs = append(errs, c.Close())
		}
	}
	if s.reserved >= 0 {
		errs = append(errs, unix.Close(s.reserved))
		s.reserved = -1
	}
	return errors.Join(errs...)
}

// Port is the source port the SYNs leave from.
func (s *Scanner) Port() uint16 { return s.port }

// Target is one address to sweep.
type Target struct {
	Addr netip.Addr
	// Ports are the ports to sweep, each once, in the order to send.
	Ports []int
	// Timing, when set, is the caller's round-trip estimate of the
	// target: it says how long a SYN is waited for and learns from the
	// answers. Nil: every SYN waits Options.Timeout.
	Timing Timing
	// Budget, when set, is the caller's rate limit of the target, shared
	// with its other probes (the engine's per-target limiter): every SYN
	// takes a token of it, so the sweep and the connects beside it send
	// no more than the one rate together. Options.Rate still smooths the
	// SYNs into short bursts.
	Budget Budget
}

// Budget is a token bucket shared by everything sent to one target
// (*rate.Limiter is one).
type Budget interface {
	// WaitN waits until n tokens may be taken, and takes them.
	WaitN(ctx context.Context, n int) error
	// Burst is the most tokens one WaitN may take.
	Burst() int
}

// Timing is a caller's round-trip estimate of one target.
type Timing interface {
	// Sample is told a round trip measured from a SYN to its answer.
	Sample(rtt time.Duration)
	// Wait is how long, now, a SYN is waited for before it counts as
	// unanswered.
	Wait() time.Duration
}

// Options tune a scan.
type Options struct {
	// Rate is the most SYNs a second to one target (resends included);
	// unpaced when zero.
	Rate float64
	// Timeout is how long a SYN is waited for when the target has no
	// Timing.
	Timeout time.Duration
}

// burstOf is how many SYNs go out together at rate r: a two-hundredth of a
// second's worth, so the pace stays smooth (a burst of a whole second's
// SYNs would overflow a receiver's backlog of 1,000 packets and lose the
// very answers the sweep is for) while the sender sleeps only every few
// milliseconds.
func burstOf(r float64) int { return max(1, int(r/200)) }

// Scan sweeps ts: every port gets a SYN, paced at opt.Rate per target;
// when a target's last SYN has been waited for, each port still silent gets
// a second SYN, waited for the same way. It returns one Result per target,
// in order; a Result's Observation says what each port showed. When ctx
// ends first, the ports not yet decided are reported as canceled.
func (s *Scanner) Scan(ctx context.Context, ts []Target, opt Options) []*Result {
	start := time.Now()
	results := make([]*Result, len(ts))
	byAddr := make(map[netip.Addr]*Result, len(ts))
	for i, t := range ts {
		results[i] = newResult(t.Addr.Unmap(), t.Ports, start)
		byAddr[results[i].addr] = results[i]
	}
	timings := make(map[netip.Addr]Timing, len(ts))
	for _, t := range ts {
		if t.Timing != nil {
			timings[t.Addr.Unmap()] = t.Timing
		}
	}
	stop := make(chan struct{})
	var readers sync.WaitGroup
	for _, c := range []*net.IPConn{s.tcp, s.icmp} {
		readers.Go(func() { s.read(c, byAddr, timings, stop) })
	}
	var senders sync.WaitGroup
	for i, t := range ts {
		senders.Go(func() { s.sweep(ctx, t, results[i], opt) })
	}
	senders.Wait()
	close(stop)
	readers.Wait()
	return results
}

// readPoll bounds a reader's wait, so it sees the scan's end.
const readPoll = 100 * time.Millisecond

// read matches the answers arriving on c to their SYNs until stop.
func (s *Scanner) read(c *net.IPConn, byAddr map[netip.Addr]*Result, timings map[netip.Addr]Timing, stop <-chan struct{}) {
	buf := make([]byte, 1500)
	isICMP := c == s.icmp
	for {
		select {
		case <-stop:
			return
		default:
		}
		_ = c.SetReadDeadline(time.Now().Add(readPoll))
		n, from, err := c.ReadFromIP(buf)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			select {
			case <-stop: // the scan was over
			default:
				// Every answer from here on is lost: a silence
				// heard by a deaf scan must not pass as a filter.
				for _, res := range byAddr {
					res.deaf(err)
				}
			}
			return
		}
		now := time.Now()
		var r reply
		var ok bool
		if isICMP {
			r, ok = parseICMP(buf[:n])
		} else if addr, okAddr := netip.AddrFromSlice(from.IP); okAddr {
			r, ok = parseTCP(addr.Unmap(), buf[:n])
		}
		if !ok || r.local != s.port || r.seq != s.cookies.of(r.to, s.port) {
			continue
		}
		res := byAddr[r.to.Addr()]
		if res == nil || !res.wanted(int(r.to.Port())) {
			continue
		}
		if rtt, sample := res.note(r.to.Port(), r.what, now); sample && r.what < icmpUnreachable {
			if t := timings[r.to.Addr()]; t != nil {
				t.Sample(rtt)
			}
		}
	}
}

// sweep sends t's SYNs, waits for their answers, resends to the silent
// ports once and waits again.
func (s *Scanner) sweep(ctx context.Context, t Target, res *Result, opt Options) {
	src, err := sourceFor(t.Addr)
	if err != nil {
		for _, p := range t.Ports {
			res.noteFailed(uint16(p), err)
		}
		res.finish(nil)
		return
	}
	var lim *rate.Limiter
	if opt.Rate > 0 {
		lim = rate.NewLimiter(rate.Limit(opt.Rate), burstOf(opt.Rate))
	}
	wait := func() time.Duration {
		if t.Timing != nil {
			return t.Timing.Wait()
		}
		return opt.Timeout
	}
	b, err := newSYNBuilder(netip.AddrPortFrom(src, s.port), res.addr)
	if err != nil {
		for _, p := range t.Ports {
			res.noteFailed(uint16(p), err)
		}
		res.finish(nil)
		return
	}
	var waits []time.Duration
	ports := t.Ports
	for pass := 0; pass < 2 && len(ports) > 0; pass++ {
		if !s.send(ctx, b, res, ports, lim, t.Budget) {
			return
		}
		w := wait()
		waits = append(waits, w)
		select {
		case <-ctx.Done():
			return
		case <-time.After(w):
		}
		var again []int
		for _, p := range ports {
			if res.silent(uint16(p)) {
				again = append(again, p)
			}
		}
		ports = again
	}
	res.finish(waits)
}

// finish marks the target's scan complete, with each pass's wait.
func (r *Result) finish(waits []time.Duration) {
	r.mu.Lock()
	r.waits, r.finished = waits, true
	if len(r.waits) == 0 {
		r.waits = []time.Duration{0}
	}
	r.mu.Unlock()
}

// send sends a SYN to each of ports, paced by lim and by the target's
// shared budget; false when ctx ended.
func (s *Scanner) send(ctx context.Context, b *synBuilder, res *Result, ports []int, lim *rate.Limiter, budget Budget) bool {
	dst := &net.IPAddr{IP: res.addr.AsSlice()}
	burst := len(ports)
	if lim != nil {
		burst = lim.Burst()
	}
	if budget != nil {
		burst = min(burst, max(1, budget.Burst()))
	}
	for len(ports) > 0 {
		n := min(burst, len(ports))
		if lim != nil && lim.WaitN(ctx, n) != nil {
			return false
		}
		if budget != nil && budget.WaitN(ctx, n) != nil {
			return false
		}
		if ctx.Err() != nil {
			return false
		}
		for _, p := range ports[:n] {
			seg, err := b.build(uint16(p), s.cookies.of(netip.AddrPortFrom(res.addr, uint16(p)), s.port))
			if err == nil {
				res.noteSent(uint16(p), time.Now())
				err = s.write(seg, dst)
			}
			if err != nil {
				res.noteFailed(uint16(p), err)
			}
		}
		ports = ports[n:]
	}
	return true
}

// write sends one segment, waiting out a full transmit queue (ENOBUFS) a
// few times before giving up on the port.
func (s *Scanner) write(b []byte, dst *net.IPAddr) error {
	var err error
	for try := 0; try < 5; try++ {
		if _, err = s.tcp.WriteToIP(b, dst); !errors.Is(err, unix.ENOBUFS) {
			return err
		}
		time.Sleep(time.Millisecond << try)
	}
	return err
}

// sourceFor is the address the kernel sends from to dst: a UDP socket
// connected to it consults the routing table and sends nothing.
func sourceFor(dst netip.Addr) (netip.Addr, error) {
	if !dst.Is4() {
		return netip.Addr{}, fmt.Errorf("%s: the half-open sweep is IPv4 only", dst)
	}
	c, err := net.DialUDP("udp4", nil, net.UDPAddrFromAddrPort(netip.AddrPortFrom(dst, 9)))
	if err != nil {
		return netip.Addr{}, err
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).AddrPort().Addr().Unmap(), nil
}
