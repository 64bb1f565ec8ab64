package udpsweep

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"probe/probes"
	"probe/probes/udp"
)

// A sweep of many ports of one host sends from one unconnected socket with
// IP_RECVERR set: a reply comes back from the port it answers for, and an
// ICMP error lands on the socket's error queue naming the address and port
// the failed datagram was sent to. So one socket hears every port, however
// many, and a port is listened for from its send until the sweep's end:
// the whole sweep costs its sends at the rate, then one wait.

// SweepOptions are what a sweep is given besides its ports.
type SweepOptions struct {
	// Pace, when set, waits for the target's rate limit before each port's
	// datagrams; the sweep ends early with ctx's error when it returns one.
	Pace func(ctx context.Context) error
	// Wait is how long the last port is listened for after its send
	// (every earlier port, longer): the configured timeout.
	Wait time.Duration
	// Refused, when set, is told of each ICMP error the sweep drew: the
	// target paid a token of its per-peer ICMP budget for it.
	Refused func()
}

// readBuffer is how much of a reply is read: enough for a SIP response's
// headers, a STUN or DNS answer; a longer datagram is cut, still an answer.
const readBuffer = 4096

// sweepPort is what one port's datagrams drew, as the sweep goes.
type sweepPort struct {
	sent    time.Time
	at      time.Time // when its answer came
	state   probes.State
	outcome string
	facts   *Facts
	// sendErr is why none of its datagrams could be sent: its silence
	// is then no silence.
	sendErr error
}

// Sweep sends each of ts (ports of one host, over UDP) its payloads, and
// returns one observation per target, in order. Silence is open|filtered,
// an answer open, ICMP port unreachable closed, a prohibited code
// filtered. Nothing is sent once ctx ends: those ports come back canceled.
func Sweep(ctx context.Context, ts []probes.Target, opt SweepOptions) []probes.Observation {
	out := make([]probes.Observation, len(ts))
	fail := func(o probes.Observation) []probes.Observation {
		for i := range out {
			out[i] = o
		}
		return out
	}
	if len(ts) == 0 {
		return out
	}
	start := probes.Start("UDP payloads")
	dst, err := resolve(ctx, ts[0])
	if err != nil {
		return fail(start.Settle(ts[0], err))
	}
	conn, err := listen(dst)
	if err != nil {
		return fail(start.Settle(ts[0], err))
	}
	defer conn.Close()
	local := conn.LocalAddr()

	// One datagram and one parser per payload: the same bytes go to every
	// port (the SIP request names the host, not the port).
	built := map[*Payload]builtPayload{}
	bare := probes.Target{Name: ts[0].Name, Host: dst.Addr().String(), Transport: "udp"}
	index := map[int]int{}
	for i, t := range ts {
		index[t.Port] = i
		for _, p := range For(t.Port) {
			if _, ok := built[p]; !ok {
				d, said := p.New(bare, local)
				built[p] = builtPayload{d, said}
			}
		}
	}

	ports := make([]sweepPort, len(ts))
	var mu sync.Mutex // guards ports
	errq := &errQueue{conn: conn, dst: dst}
	note := func(port int, state probes.State, outcome string, now time.Time) {
		i, ok := index[port]
		if !ok {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if p := &ports[i]; !p.sent.IsZero() && p.state == probes.NoState {
			p.state, p.outcome, p.at = state, outcome, now
		}
	}
	errq.note = func(port int, state probes.State, outcome string) {
		// Every error cost the target a token, the first to a port or
		// not (a closed port sent three datagrams may answer each).
		if opt.Refused != nil {
			opt.Refused()
		}
		note(port, state, outcome, time.Now())
	}

	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		buf := make([]byte, readBuffer)
		for {
			n, from, err := conn.ReadFromUDPAddrPort(buf)
			switch {
			case err == nil:
				if from.Addr().Unmap() != dst.Addr() {
					continue // not the target's: not an answer
				}
				i, ok := index[int(from.Port())]
				if !ok {
					continue
				}
				f := &Facts{Sent: names(For(int(from.Port())))}
				var saids []func([]byte) (string, bool)
				for _, p := range For(int(from.Port())) {
					saids = append(saids, built[p].said)
				}
				said := f.record(For(int(from.Port())), saids, buf[:n])
				mu.Lock()
				if p := &ports[i]; !p.sent.IsZero() && p.state == probes.NoState {
					p.state, p.outcome, p.at, p.facts = probes.Open, said, time.Now(), f
				}
				mu.Unlock()
			case errors.Is(err, net.ErrClosed), errors.Is(err, syscall.EBADF):
				return
			case isDeadline(err):
				errq.drain()
				return
			default:
				// A pending ICMP error, reported on the read: the error
				// queue says which port it was for.
				errq.drain()
			}
		}
	}()

	var last time.Time
	for i, t := range ts {
		if ctx.Err() != nil {
			break
		}
		if opt.Pace != nil && opt.Pace(ctx) != nil {
			break
		}
		to := netip.AddrPortFrom(dst.Addr(), uint16(t.Port))
		now := time.Now()
		mu.Lock()
		ports[i].sent = now // before the send: loopback answers at once
		mu.Unlock()
		var sendErr error
		sentOne := false
		for _, p := range For(t.Port) {
			if err := send(conn, errq, to, built[p].datagram); err != nil {
				sendErr = err
			} else {
				sentOne = true
			}
		}
		if !sentOne {
			mu.Lock()
			ports[i].sendErr = sendErr
			mu.Unlock()
		}
		last = now
	}
	// Listen until the last send has had its wait, or the run ends.
	if !last.IsZero() {
		wait := time.Until(last.Add(opt.Wait))
		select {
		case <-time.After(wait):
		case <-ctx.Done():
		}
	}
	_ = conn.SetReadDeadline(time.Now())
	<-readerDone
	errq.drain()

	end := time.Now()
	mu.Lock()
	defer mu.Unlock()
	// The words of the few payload sets, made once: 65535 observations
	// share them.
	sentWords, silentWords := map[**Payload]string{}, map[**Payload]string{}
	for i, t := range ts {
		p := ports[i]
		set := For(t.Port)
		key := &set[0]
		if _, ok := sentWords[key]; !ok {
			sentWords[key] = joinNames(set)
			silentWords[key] = fmt.Sprintf("no reply to %s", plural(len(set), "datagram"))
		}
		o := probes.Observation{Started: p.sent, Sent: sentWords[key], Attempts: 1}
		switch {
		case p.sent.IsZero():
			o = probes.Observation{State: probes.NoState, Error: probes.ErrCanceled, Outcome: "not sent: the run ended first", Started: start.Started}
		case p.sendErr != nil && p.state == probes.NoState:
			o = probes.Observation{State: probes.NoState, Error: probes.ErrLocal, Outcome: "not sent: " + p.sendErr.Error(), Started: p.sent, Sent: sentWords[key]}
		case p.state != probes.NoState:
			o.State, o.Outcome, o.Duration = p.state, p.outcome, p.at.Sub(p.sent)
			o.ICMPError = p.state != probes.Open
			if p.facts != nil {
				o.Facts = p.facts
			}
		case ctx.Err() != nil && end.Sub(p.sent) < opt.Wait:
			// The run ended before this port had its wait: its silence
			// says nothing.
			o = probes.Observation{State: probes.NoState, Error: probes.ErrCanceled, Outcome: "not heard out: the run ended first", Started: p.sent}
		default:
			o.State, o.Duration, o.Outcome = probes.OpenFiltered, end.Sub(p.sent), silentWords[key]
		}
		out[i] = o
	}
	return out
}

type builtPayload struct {
	datagram []byte
	said     func([]byte) (string, bool)
}

func names(ps []*Payload) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.Name
	}
	return out
}

func joinNames(ps []*Payload) string {
	s := ""
	for i, p := range ps {
		if i > 0 {
			s += ", "
		}
		s += p.Name
	}
	return s
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return strconv.Itoa(n) + " " + word + "s"
}

func isDeadline(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// resolve returns t's address, resolved once for the whole sweep.
func resolve(ctx context.Context, t probes.Target) (netip.AddrPort, error) {
	if a, err := netip.ParseAddr(t.Host); err == nil {
		return netip.AddrPortFrom(a.Unmap(), 0), nil
	}
	addrs, err := net.DefaultResolver.LookupNetIP(ctx, "ip", t.Host)
	if err != nil {
		return netip.AddrPort{}, err
	}
	if len(addrs) == 0 {
		return netip.AddrPort{}, &net.DNSError{Err: "no address", Name: t.Host, IsNotFound: true}
	}
	return netip.AddrPortFrom(addrs[0].Unmap(), 0), nil
}

// listen opens the sweep's socket on the address the route to dst leaves
// from (so the SIP request's Via names it), with IP_RECVERR set.
func listen(dst netip.AddrPort) (*net.UDPConn, error) {
	network := "udp4"
	if dst.Addr().Is6() {
		network = "udp6"
	}
	probe, err := net.DialUDP(network, nil, net.UDPAddrFromAddrPort(netip.AddrPortFrom(dst.Addr(), 9)))
	if err != nil {
		return nil, err // no route: nothing goes on the wire
	}
	local := probe.LocalAddr().(*net.UDPAddr).AddrPort().Addr()
	probe.Close()
	lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			if dst.Addr().Is6() {
				serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_IPV6, unix.IPV6_RECVERR, 1)
			} else {
				serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_RECVERR, 1)
			}
		})
		if err != nil {
			return err
		}
		return serr
	}}
	pc, err := lc.ListenPacket(context.Background(), network, netip.AddrPortFrom(local, 0).String())
	if err != nil {
		return nil, err
	}
	return pc.(*net.UDPConn), nil
}

// send writes one datagram to to, and says why it could not. A pending
// ICMP error fails a send without sending it: the error queue is read, and
// the send made again, at most four times.
func send(conn *net.UDPConn, q *errQueue, to netip.AddrPort, b []byte) error {
	var err error
	for range 4 {
		_, err = conn.WriteToUDPAddrPort(b, to)
		if err == nil || !isICMPErrno(err) {
			return err
		}
		q.drain()
	}
	return err
}

func isICMPErrno(err error) bool {
	for _, e := range []syscall.Errno{syscall.ECONNREFUSED, syscall.EHOSTUNREACH, syscall.ENETUNREACH, syscall.EACCES} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// errQueue reads the socket's error queue: each entry is one ICMP error,
// with the destination of the datagram that drew it.
type errQueue struct {
	conn *net.UDPConn
	dst  netip.AddrPort
	note func(port int, state probes.State, outcome string)
	mu   sync.Mutex
}

// drain reads every entry queued now.
func (q *errQueue) drain() {
	q.mu.Lock()
	defer q.mu.Unlock()
	rc, err := q.conn.SyscallConn()
	if err != nil {
		return
	}
	buf := make([]byte, 512)
	oob := make([]byte, 512)
	// Control, not Read: the reader goroutine holds the socket's read
	// lock while it waits, and the queue is read without blocking.
	_ = rc.Control(func(fd uintptr) {
		for {
			_, oobn, _, from, err := unix.Recvmsg(int(fd), buf, oob, unix.MSG_ERRQUEUE|unix.MSG_DONTWAIT)
			if err != nil {
				return // EAGAIN: the queue is empty
			}
			port, ok := destPort(from)
			if !ok {
				continue
			}
			if state, outcome, ok := icmpState(oob[:oobn]); ok {
				q.note(port, state, outcome)
			}
		}
	})
}

func destPort(sa unix.Sockaddr) (int, bool) {
	switch a := sa.(type) {
	case *unix.SockaddrInet4:
		return a.Port, true
	case *unix.SockaddrInet6:
		return a.Port, true
	}
	return 0, false
}

// icmpState reads the extended error of one error-queue entry's control
// message: which ICMP answer it was, in the states udp.Settle uses.
func icmpState(oob []byte) (probes.State, string, bool) {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return "", "", false
	}
	for _, m := range msgs {
		ip4 := m.Header.Level == unix.IPPROTO_IP && m.Header.Type == unix.IP_RECVERR
		ip6 := m.Header.Level == unix.IPPROTO_IPV6 && m.Header.Type == unix.IPV6_RECVERR
		if !ip4 && !ip6 || len(m.Data) < int(unsafe.Sizeof(unix.SockExtendedErr{})) {
			continue
		}
		ee := (*unix.SockExtendedErr)(unsafe.Pointer(&m.Data[0]))
		if ee.Origin != unix.SO_EE_ORIGIN_ICMP && ee.Origin != unix.SO_EE_ORIGIN_ICMP6 {
			continue
		}
		obs := udp.Settle(probes.Observation{}, probes.Target{Transport: "udp"}, syscall.Errno(ee.Errno))
		if obs.State == probes.NoState {
			continue
		}
		return obs.State, obs.Outcome, true
	}
	return "", "", false
}
