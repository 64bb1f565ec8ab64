package udpsweep

import (
	"context"
	"net"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"probe/probes"
)

// A sweep of loopback ports from one socket: a SIP server's port is open,
// with what it said; a STUN server's too; a port bound by a socket that
// never answers is open|filtered; the ports nothing listens on are closed,
// each told apart by the ICMP error on the socket's error queue (loopback
// is exempt from the ICMP rate limit, so every one is refused), and every
// error is counted for the target's ICMP budget.
func TestSweep(t *testing.T) {
	sipT := fakeServer(t, sipAnswer)
	silentT := silentPort(t)
	dnsT := fakeServer(t, dnsRefuse)
	lo, hi := sipT.Port, sipT.Port
	for _, p := range []int{silentT.Port, dnsT.Port} {
		lo, hi = min(lo, p), max(hi, p)
	}
	if hi-lo > 20000 {
		t.Skipf("the fakes' ports are %d apart: too long a sweep for a unit test", hi-lo)
	}
	lo, hi = max(1024, lo-200), min(65535, hi+200)
	var ports []int
	for p := lo; p <= hi; p++ {
		ports = append(ports, p)
	}
	var refused atomic.Int64
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res := Sweep(ctx, loopback, ports, SweepOptions{Wait: 300 * time.Millisecond, Refused: func() { refused.Add(1) }})
	closed := 0
	for _, port := range ports {
		o := res.Observation(port)
		f, _ := o.Facts.(*Facts)
		switch port {
		case sipT.Port:
			if o.State != probes.Open || f == nil || f.Answered != "SIP OPTIONS" || !strings.Contains(o.Outcome, "User-Agent: "+fakeAgent) {
				t.Errorf("SIP port %d: %s (%s), facts %+v; want open, answered by SIP OPTIONS", port, o.State, o.Outcome, f)
			}
		case dnsT.Port:
			if o.State != probes.Open || f == nil || f.Answered != "DNS query" {
				t.Errorf("DNS port %d: %s (%s); want open, answered by the DNS query", port, o.State, o.Outcome)
			}
		case silentT.Port:
			if o.State != probes.OpenFiltered || o.ICMPError || o.Outcome != "no reply to 3 datagrams" {
				t.Errorf("silent port %d: %s (%s); want open|filtered, no reply", port, o.State, o.Outcome)
			}
		default:
			// Another process may hold one of these ports: only a port
			// that refused is counted, never asserted of each.
			if o.State == probes.Closed {
				closed++
				if !o.ICMPError || o.Outcome != "ICMP port unreachable" {
					t.Errorf("port %d: %+v; want an ICMP port unreachable, marked as an ICMP error", port, o)
				}
			}
		}
		if o.Started.IsZero() || o.Attempts != 1 {
			t.Errorf("port %d: started %v, %d attempts; want its send's time, one attempt", port, o.Started, o.Attempts)
		}
	}
	if closed < len(ports)-10 {
		t.Errorf("%d of %d ports refused; want all but the fakes' (and any another process holds)", closed, len(ports))
	}
	if int(refused.Load()) < closed {
		t.Errorf("%d ICMP errors counted for the budget; want at least the %d refused ports'", refused.Load(), closed)
	}
	// Another process's port may answer too: the fakes' must be among
	// the open ones, and every port listed open or refused is one.
	open := res.Open()
	if !slices.Contains(open, sipT.Port) || !slices.Contains(open, dnsT.Port) {
		t.Errorf("open ports %v; want the SIP and DNS fakes' %d, %d among them", open, sipT.Port, dnsT.Port)
	}
	if a, icmp := res.Answered(), res.ICMP(); len(a) != closed+len(open) || len(icmp) != closed {
		t.Errorf("%d answered, %d ICMP errors; want the %d open and %d refused ports answered, the refused ones by ICMP", len(a), len(icmp), len(open), closed)
	}
}

// loopback is the host the sweeps of these tests go to.
var loopback = probes.Target{Name: "lo", Host: "127.0.0.1", Transport: "udp"}

// A run that ends part-way sends nothing more, and a port not heard out
// for its wait is not called silent.
func TestSweepCanceled(t *testing.T) {
	var ports []int
	for range 4 {
		ports = append(ports, silentPort(t).Port)
	}
	ctx, cancel := context.WithCancel(context.Background())
	sent := 0
	res := Sweep(ctx, loopback, ports, SweepOptions{Wait: time.Hour, Pace: func(ctx context.Context) error {
		sent++
		if sent == 3 {
			cancel()
			return ctx.Err()
		}
		return nil
	}})
	for i, port := range ports {
		o := res.Observation(port)
		if o.Error != probes.ErrCanceled || o.State != probes.NoState {
			t.Errorf("port %d of %d: %s/%s (%s); want canceled: not sent, or not heard out", i, len(ports), o.State, o.Error, o.Outcome)
		}
	}
	if o, o3 := res.Observation(ports[0]), res.Observation(ports[3]); o.Outcome != "not heard out: the run ended first" || o3.Outcome != "not sent: the run ended first" {
		t.Errorf("outcomes %q, %q; want the sent one not heard out, the last not sent", o.Outcome, o3.Outcome)
	}
}

// A port listed twice is sent its payloads once, and its answer is the
// answer of every listing: the SIP server hears one OPTIONS, and the port
// is open, with what it said, wherever the sweep listed it.
func TestSweepPortListedTwice(t *testing.T) {
	var heard atomic.Int64
	sipT := fakeServer(t, func(req []byte) []byte {
		heard.Add(1)
		return sipAnswer(req)
	})
	silentT := silentPort(t)
	paced := 0
	res := Sweep(context.Background(), loopback, []int{sipT.Port, silentT.Port, sipT.Port}, SweepOptions{
		Wait: 300 * time.Millisecond, Pace: func(context.Context) error { paced++; return nil }})
	if o := res.Observation(sipT.Port); o.State != probes.Open || !strings.Contains(o.Outcome, fakeAgent) || o.Attempts != 1 {
		t.Errorf("SIP port listed twice: %s (%s), %d attempts; want open with what it said, sent once", o.State, o.Outcome, o.Attempts)
	}
	if n := heard.Load(); n != int64(len(For(sipT.Port))) {
		t.Errorf("the SIP server heard %d datagrams; want its port's %d payloads once", n, len(For(sipT.Port)))
	}
	if o := res.Observation(silentT.Port); o.State != probes.OpenFiltered {
		t.Errorf("silent port: %s (%s); want open|filtered", o.State, o.Outcome)
	}
	if paced != 2 {
		t.Errorf("paced %d times; want once for each of the 2 distinct ports", paced)
	}
	if o := res.Observation(closedPort(t).Port); o.Error != probes.ErrInternal {
		t.Errorf("a port not in the sweep: %s/%s (%s); want the prober's internal error", o.State, o.Error, o.Outcome)
	}
}

// A sweep is paced by the target's rate limit: Pace is asked once a port.
func TestSweepPacedOncePerPort(t *testing.T) {
	var ports []int
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	base := pc.LocalAddr().(*net.UDPAddr).Port
	for i := range 50 {
		ports = append(ports, min(65535, base+i))
	}
	paced := 0
	Sweep(context.Background(), loopback, ports, SweepOptions{Wait: 50 * time.Millisecond, Pace: func(context.Context) error { paced++; return nil }})
	if paced != len(ports) {
		t.Errorf("paced %d times; want once for each of %d ports", paced, len(ports))
	}
}

// A port none of whose datagrams could be sent (port 0 draws EINVAL from
// the kernel, as a local firewall's EPERM would) is the prober's error,
// never a silence: "nothing else is open" must not pass on sends that
// never left. A port beside it is swept as usual.
func TestSweepSendFailureIsNoSilence(t *testing.T) {
	silentT := silentPort(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res := Sweep(ctx, loopback, []int{0, silentT.Port}, SweepOptions{Wait: 200 * time.Millisecond})
	if o := res.Observation(0); o.State != probes.NoState || o.Error != probes.ErrLocal || !strings.Contains(o.Outcome, "not sent") {
		t.Errorf("unsendable port: %s/%s (%s); want the prober's local error, not sent", o.State, o.Error, o.Outcome)
	}
	if o := res.Observation(silentT.Port); o.State != probes.OpenFiltered {
		t.Errorf("silent port beside it: %s (%s); want open|filtered", o.State, o.Outcome)
	}
}

// A sweep of a name dials it over the row's family: localhost over IPv6,
// where it has no AAAA record, is the prober's error for every port (no
// address of that family), not a sweep of its IPv4 address.
func TestSweepResolvesOverTheRowsFamily(t *testing.T) {
	// The SIP fake listens on 127.0.0.1 alone. Over IPv6, localhost is
	// ::1 where /etc/hosts says so (nothing listens there: closed) or no
	// address at all (the prober's error): never the fake's answer.
	sipT := fakeServer(t, sipAnswer)
	v4 := probes.Target{Name: "lo", Host: "localhost", Transport: "udp", Family: "ipv4"}
	v6 := v4
	v6.Family = "ipv6"
	if o := Sweep(context.Background(), v4, []int{sipT.Port}, SweepOptions{Wait: 300 * time.Millisecond}).Observation(sipT.Port); o.State != probes.Open {
		t.Errorf("localhost over IPv4: %s/%s (%s); want the SIP fake on 127.0.0.1 open", o.State, o.Error, o.Outcome)
	}
	if o := Sweep(context.Background(), v6, []int{sipT.Port}, SweepOptions{Wait: 300 * time.Millisecond}).Observation(sipT.Port); o.State == probes.Open {
		t.Errorf("localhost over IPv6: open (%s); want it sent to an IPv6 address, where the fake does not listen", o.Outcome)
	}
}

// A sweep slow enough to outlast 32 bits of microseconds (71 minutes:
// 65535 ports at 15 a second) still knows a port sent half a second
// before the run was cut from one heard out: the first is canceled, not
// a silence that a not_open row would pass.
func TestSweepTimesOutlast71Minutes(t *testing.T) {
	start := time.Now().Add(-72 * time.Minute)
	res := newResult(start, []int{1000}, 2*time.Second)
	sent := start.Add(72 * time.Minute)
	res.noteSent(1000, sent)
	res.end, res.cut = sent.Add(500*time.Millisecond), true
	o := res.Observation(1000)
	if o.Error != probes.ErrCanceled {
		t.Errorf("port sent 0.5 s before the cut: %s (%s); want canceled", o.State, o.Outcome)
	}
	if o.Started.Sub(sent).Abs() > time.Millisecond {
		t.Errorf("started %v; want %v", o.Started, sent)
	}
}

// A listed port (a connected socket each) is dialled over the row's family
// too: an IPv6 row of a name is never answered from its IPv4 address.
func TestProbeDialsOverTheRowsFamily(t *testing.T) {
	sipT := fakeServer(t, sipAnswer) // on 127.0.0.1 alone
	v6 := probes.Target{Name: "lo/ipv6", Host: "localhost", Port: sipT.Port, Transport: "udp", Family: "ipv6"}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if o := Probe(ctx, v6); o.State == probes.Open {
		t.Errorf("localhost over IPv6: open (%s); want it sent to an IPv6 address, where the fake does not listen", o.Outcome)
	}
	v4 := v6
	v4.Family = "ipv4"
	if o := Probe(ctx, v4); o.State != probes.Open {
		t.Errorf("localhost over IPv4: %s/%s (%s); want the fake's answer", o.State, o.Error, o.Outcome)
	}
}
