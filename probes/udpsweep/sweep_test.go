package udpsweep

import (
	"context"
	"net"
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
	var ts []probes.Target
	for p := lo; p <= hi; p++ {
		ts = append(ts, probes.Target{Name: "lo", Host: "127.0.0.1", Port: p, Transport: "udp"})
	}
	var refused atomic.Int64
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	obs := Sweep(ctx, ts, SweepOptions{Wait: 300 * time.Millisecond, Refused: func() { refused.Add(1) }})
	if len(obs) != len(ts) {
		t.Fatalf("%d observations for %d ports", len(obs), len(ts))
	}
	closed := 0
	for i, o := range obs {
		port := ts[i].Port
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
	if closed < len(ts)-10 {
		t.Errorf("%d of %d ports refused; want all but the fakes' (and any another process holds)", closed, len(ts))
	}
	if int(refused.Load()) < closed {
		t.Errorf("%d ICMP errors counted for the budget; want at least the %d refused ports'", refused.Load(), closed)
	}
}

// A run that ends part-way sends nothing more, and a port not heard out
// for its wait is not called silent.
func TestSweepCanceled(t *testing.T) {
	silentT := silentPort(t)
	ts := []probes.Target{silentT}
	for range 3 {
		ts = append(ts, silentT)
	}
	ctx, cancel := context.WithCancel(context.Background())
	sent := 0
	obs := Sweep(ctx, ts, SweepOptions{Wait: time.Hour, Pace: func(ctx context.Context) error {
		sent++
		if sent == 3 {
			cancel()
			return ctx.Err()
		}
		return nil
	}})
	for i, o := range obs {
		if o.Error != probes.ErrCanceled || o.State != probes.NoState {
			t.Errorf("port %d of %d: %s/%s (%s); want canceled: not sent, or not heard out", i, len(obs), o.State, o.Error, o.Outcome)
		}
	}
	if obs[0].Outcome != "not heard out: the run ended first" || obs[3].Outcome != "not sent: the run ended first" {
		t.Errorf("outcomes %q, %q; want the sent one not heard out, the last not sent", obs[0].Outcome, obs[3].Outcome)
	}
}

// A sweep is paced by the target's rate limit: Pace is asked once a port.
func TestSweepPacedOncePerPort(t *testing.T) {
	var ts []probes.Target
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	base := pc.LocalAddr().(*net.UDPAddr).Port
	for i := range 50 {
		ts = append(ts, probes.Target{Host: "127.0.0.1", Port: min(65535, base+i), Transport: "udp"})
	}
	paced := 0
	Sweep(context.Background(), ts, SweepOptions{Wait: 50 * time.Millisecond, Pace: func(context.Context) error { paced++; return nil }})
	if paced != len(ts) {
		t.Errorf("paced %d times; want once for each of %d ports", paced, len(ts))
	}
}

// A port none of whose datagrams could be sent (port 0 draws EINVAL from
// the kernel, as a local firewall's EPERM would) is the prober's error,
// never a silence: "nothing else is open" must not pass on sends that
// never left. A port beside it is swept as usual.
func TestSweepSendFailureIsNoSilence(t *testing.T) {
	silentT := silentPort(t)
	unsendable := probes.Target{Name: "lo", Host: "127.0.0.1", Port: 0, Transport: "udp"}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	obs := Sweep(ctx, []probes.Target{unsendable, silentT}, SweepOptions{Wait: 200 * time.Millisecond})
	if o := obs[0]; o.State != probes.NoState || o.Error != probes.ErrLocal || !strings.Contains(o.Outcome, "not sent") {
		t.Errorf("unsendable port: %s/%s (%s); want the prober's local error, not sent", o.State, o.Error, o.Outcome)
	}
	if o := obs[1]; o.State != probes.OpenFiltered {
		t.Errorf("silent port beside it: %s (%s); want open|filtered", o.State, o.Outcome)
	}
}
