package udpsweep

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
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

// Result is what a sweep saw of one host's ports, kept by port in a few
// bytes each: when each port's datagrams left and its answer came (µs
// after the sweep's start), and what answered. What an answer said, and
// why a send failed, are kept for those ports alone. Observation states a
// port's evidence when asked. A port listed twice is sent once, and
// answers for each listing.
type Result struct {
	start time.Time
	wait  time.Duration
	// failed, when set, is why the sweep sent nothing at all (the host
	// did not resolve, no socket): every port's observation.
	failed *probes.Observation

	mu   sync.Mutex
	want [65536 / 8]byte // the ports asked for, a bit each
	// sent and heard are µs after start: 64 bits, since a slow sweep
	// (65535 ports at 15 a second) outlasts 32 bits' 71 minutes, and a
	// wrapped time would make a port cut short look heard out.
	sent  []uint64    // by port: when its datagrams left, plus one; 0: not sent
	heard []uint64    // by port: when its answer came
	what  []uint8     // by port: noAnswer, answerOpen, or icmpAnswer plus an index into icmp
	icmp  []icmpWords // the ICMP answers heard, each once
	facts map[uint16]*Facts
	// sendErr is why none of a port's datagrams could be sent: its
	// silence is then no silence.
	sendErr map[uint16]error
	end     time.Time
	// cut says the run ended before the last port had its wait.
	cut bool
	// heldBack says the pace kept the ports not yet sent back while the
	// run went on: at the rate, their turn came after the deadline.
	heldBack bool
	words    map[**Payload][2]string // a payload set's sent and silent words
}

type icmpWords struct {
	state   probes.State
	outcome string
}

const (
	noAnswer   = 0
	answerOpen = 1
	icmpAnswer = 2
)

func newResult(start time.Time, ports []int, wait time.Duration) *Result {
	r := &Result{
		start: start, wait: wait,
		sent: make([]uint64, 65536), heard: make([]uint64, 65536), what: make([]uint8, 65536),
		facts: map[uint16]*Facts{}, sendErr: map[uint16]error{}, words: map[**Payload][2]string{},
	}
	for _, p := range ports {
		if p >= 0 && p < 65536 {
			r.want[p/8] |= 1 << (p % 8)
		}
	}
	return r
}

func (r *Result) wanted(port int) bool {
	return port >= 0 && port < 65536 && r.want[port/8]&(1<<(port%8)) != 0
}

func (r *Result) since(t time.Time) uint64 { return uint64(max(0, t.Sub(r.start)/time.Microsecond)) }

func (r *Result) at(us uint64) time.Time { return r.start.Add(time.Duration(us) * time.Microsecond) }

// noteSent records port's datagrams leaving at now; false when it was sent
// already (a port listed twice).
func (r *Result) noteSent(port int, now time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.sent[port] != 0 {
		return false
	}
	r.sent[port] = r.since(now) + 1
	return true
}

// noteOpen records port's answer, and what it said; the first answer stands.
func (r *Result) noteOpen(port int, f *Facts, now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.sent[port] != 0 && r.what[port] == noAnswer {
		r.what[port], r.heard[port], r.facts[uint16(port)] = answerOpen, r.since(now), f
	}
}

// noteICMP records the ICMP error port drew; the first answer stands.
func (r *Result) noteICMP(port int, state probes.State, outcome string, now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.wanted(port) || r.sent[port] == 0 || r.what[port] != noAnswer {
		return
	}
	i := slices.Index(r.icmp, icmpWords{state, outcome})
	if i < 0 {
		if len(r.icmp) >= 255-icmpAnswer {
			i = len(r.icmp) - 1 // never: udp.Settle has a handful
		} else {
			r.icmp, i = append(r.icmp, icmpWords{state, outcome}), len(r.icmp)
		}
	}
	r.what[port], r.heard[port] = uint8(icmpAnswer+i), r.since(now)
}

func (r *Result) noteSendErr(port int, err error) {
	r.mu.Lock()
	r.sendErr[uint16(port)] = err
	r.mu.Unlock()
}

// Observation is what the sweep saw of port. Silence is open|filtered, an
// answer open, ICMP port unreachable closed, a prohibited code filtered;
// a port not sent, or not heard out for its wait, is canceled.
func (r *Result) Observation(port int) probes.Observation {
	if !r.wanted(port) {
		return probes.Observation{Error: probes.ErrInternal, Outcome: "port not in the sweep", Started: r.start}
	}
	if r.failed != nil {
		return *r.failed
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	set := For(port)
	w, ok := r.words[&set[0]]
	if !ok {
		w = [2]string{joinNames(set), fmt.Sprintf("no reply to %s", plural(len(set), "datagram"))}
		r.words[&set[0]] = w
	}
	if r.sent[port] == 0 {
		why := "not sent: the run ended first"
		if r.heldBack {
			why = "not sent: at the rate per target, its turn came after the run's deadline"
		}
		return probes.Observation{State: probes.NoState, Error: probes.ErrCanceled, Outcome: why, Started: r.start}
	}
	sent := r.at(r.sent[port] - 1)
	o := probes.Observation{Started: sent, Sent: w[0], Attempts: 1}
	what, sendErr := r.what[port], r.sendErr[uint16(port)]
	switch {
	case sendErr != nil && what == noAnswer:
		o = probes.Observation{State: probes.NoState, Error: probes.ErrLocal, Outcome: "not sent: " + sendErr.Error(), Started: sent, Sent: w[0]}
	case what == answerOpen:
		f := r.facts[uint16(port)]
		o.State, o.Outcome, o.Duration, o.Facts = probes.Open, f.Said, r.at(r.heard[port]).Sub(sent), f
	case what >= icmpAnswer:
		a := r.icmp[what-icmpAnswer]
		o.State, o.Outcome, o.Duration, o.ICMPError = a.state, a.outcome, r.at(r.heard[port]).Sub(sent), true
	case r.cut && r.end.Sub(sent) < r.wait:
		// The run ended before this port had its wait: its silence
		// says nothing.
		o = probes.Observation{State: probes.NoState, Error: probes.ErrCanceled, Outcome: "not heard out: the run ended first", Started: sent}
	default:
		o.State, o.Duration, o.Outcome = probes.OpenFiltered, r.end.Sub(sent), w[1]
	}
	return o
}

// Answered lists the ports that answered or were refused by the host's
// own stack (ICMP port unreachable), in order.
func (r *Result) Answered() []int {
	return r.ports(func(what uint8) bool {
		return what == answerOpen || what >= icmpAnswer && r.icmp[what-icmpAnswer].state == probes.Closed
	})
}

// Open lists the ports that answered, in order.
func (r *Result) Open() []int { return r.ports(func(what uint8) bool { return what == answerOpen }) }

// ICMP lists the ports that drew an ICMP error, in order.
func (r *Result) ICMP() []int { return r.ports(func(what uint8) bool { return what >= icmpAnswer }) }

func (r *Result) ports(keep func(uint8) bool) []int {
	if r.failed != nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []int
	for port, what := range r.what {
		if what != noAnswer && keep(what) {
			out = append(out, port)
		}
	}
	return out
}

// Sweep sends each of ports of t's host its payloads (For), once however
// often a port is listed, and returns what each showed. Nothing is sent
// once ctx ends: those ports come back canceled.
func Sweep(ctx context.Context, t probes.Target, ports []int, opt SweepOptions) *Result {
	start := probes.Start("UDP payloads")
	res := newResult(start.Started, ports, opt.Wait)
	fail := func(err error) *Result {
		o := start.Settle(t, err)
		res.failed = &o
		return res
	}
	if len(ports) == 0 {
		return res
	}
	dst, err := resolve(ctx, t)
	if err != nil {
		return fail(err)
	}
	conn, err := listen(dst)
	if err != nil {
		return fail(err)
	}
	defer conn.Close()
	local := conn.LocalAddr()

	// One datagram and one parser per payload: the same bytes go to every
	// port (the SIP request names the host, not the port).
	built := map[*Payload]builtPayload{}
	bare := probes.Target{Name: t.Name, Host: dst.Addr().String(), Transport: "udp"}
	for _, port := range ports {
		for _, p := range For(port) {
			if _, ok := built[p]; !ok {
				d, said := p.New(bare, local)
				built[p] = builtPayload{d, said}
			}
		}
	}

	errq := &errQueue{conn: conn, dst: dst}
	errq.note = func(port int, state probes.State, outcome string) {
		// Every error cost the target a token, the first to a port or
		// not (a closed port sent three datagrams may answer each).
		if opt.Refused != nil {
			opt.Refused()
		}
		res.noteICMP(port, state, outcome, time.Now())
	}

	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		buf := make([]byte, readBuffer)
		for {
			n, from, err := conn.ReadFromUDPAddrPort(buf)
			switch {
			case err == nil:
				port := int(from.Port())
				if from.Addr().Unmap() != dst.Addr() || !res.wanted(port) {
					continue // not the target's, or not a port of the sweep: not an answer
				}
				set := For(port)
				f := &Facts{Sent: names(set)}
				saids := make([]func([]byte) (string, bool), len(set))
				for i, p := range set {
					saids[i] = built[p].said
				}
				f.record(set, saids, buf[:n])
				res.noteOpen(port, f, time.Now())
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
	for _, port := range ports {
		if ctx.Err() != nil {
			break
		}
		if port < 0 || port > 65535 || res.sent[port] != 0 {
			continue // sent already: it answers for every listing
		}
		if opt.Pace != nil && opt.Pace(ctx) != nil {
			res.mu.Lock()
			res.heldBack = ctx.Err() == nil
			res.mu.Unlock()
			break
		}
		to := netip.AddrPortFrom(dst.Addr(), uint16(port))
		now := time.Now()
		res.noteSent(port, now) // before the send: loopback answers at once
		var sendErr error
		sentOne := false
		for _, p := range For(port) {
			if err := send(conn, errq, to, built[p].datagram); err != nil {
				sendErr = err
			} else {
				sentOne = true
			}
		}
		if !sentOne {
			res.noteSendErr(port, sendErr)
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

	res.mu.Lock()
	res.end, res.cut = time.Now(), ctx.Err() != nil
	res.mu.Unlock()
	return res
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

// resolve returns t's address, resolved once for the whole sweep, over
// t's family when it names one (its A or its AAAA records).
func resolve(ctx context.Context, t probes.Target) (netip.AddrPort, error) {
	if a, err := netip.ParseAddr(t.Host); err == nil {
		return netip.AddrPortFrom(a.Unmap(), 0), nil
	}
	addrs, err := net.DefaultResolver.LookupNetIP(ctx, t.Network("ip"), t.Host)
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
