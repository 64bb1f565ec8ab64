package engine

import (
	"context"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"probe/internal/kinds"
	"probe/internal/plan"
	"probe/probes"
	"probe/probes/udp"
)

func init() {
	// A kind declared but not implemented, as a new protocol is before it
	// lands.
	kinds.Register(&kinds.Kind{Name: "future", Transports: []string{"tcp"}})
	// A kind that counts how many of its probes run at once.
	kinds.Register(&kinds.Kind{Name: "counting", Transports: []string{"tcp"}, Run: counting})
	// A kind whose first packet is always lost, as on a lossy path.
	kinds.Register(&kinds.Kind{Name: "lossy", Transports: []string{"tcp"}, Run: lossy})
	// A range kind and a single UDP kind that record their order.
	kinds.Register(&kinds.Kind{Name: "range", Transports: []string{"udp"}, RunPorts: rangeProbe})
	kinds.Register(&kinds.Kind{Name: "single", Transports: []string{"udp"}, Run: singleProbe})
}

// The order test's record: how many single probes of the ranged host had
// ended when the range started, and a channel closed when it started.
var (
	singlesEnded   atomic.Int32
	singlesAtStart atomic.Int32
	rangeStarted   chan struct{}
)

func rangeProbe(ctx context.Context, ts []probes.Target, p kinds.Params) []probes.Observation {
	singlesAtStart.Store(singlesEnded.Load())
	close(rangeStarted)
	out := make([]probes.Observation, len(ts))
	for i, t := range ts {
		out[i] = probes.Start("RTP").Settle(t, nil)
	}
	return out
}

// singleProbe answers at once for the ranged host (10.0.0.1, never
// dialled); for another host it waits until the range has started, which
// it could not do if the engine held it back behind that range.
func singleProbe(ctx context.Context, t probes.Target, p kinds.Params) probes.Observation {
	o := probes.Start("SIP")
	if t.Host == "10.0.0.1" {
		singlesEnded.Add(1)
		return o.Settle(t, nil)
	}
	select {
	case <-rangeStarted:
		return o.Settle(t, nil)
	case <-ctx.Done():
		return o.Settle(t, ctx.Err())
	}
}

// A target's single UDP probes end before its range starts (they share the
// target's ICMP error bucket); another target's do not wait for the range.
func TestSingleUDPProbesGoBeforeTheirTargetsRange(t *testing.T) {
	singlesEnded.Store(0)
	rangeStarted = make(chan struct{})
	p := &plan.Plan{}
	add := func(kind, host string, port int, group string) {
		p.Tasks = append(p.Tasks, plan.Task{
			Kind: kind, Group: group,
			Target: probes.Target{Name: host, Host: host, Port: port, Transport: "udp"},
			Params: kinds.Params{Timeout: time.Second},
		})
	}
	add("single", "10.0.0.2", 5060, "") // another host: runs beside the range
	for _, port := range []int{16384, 16386, 16388} {
		add("range", "10.0.0.1", port, "rtp")
	}
	for port := range 5 {
		add("single", "10.0.0.1", 5060+port, "")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res := (&Engine{Concurrency: 2}).Run(ctx, p)
	if got := singlesAtStart.Load(); got != 5 {
		t.Errorf("the range started after %d of its host's 5 single UDP probes; want all 5", got)
	}
	if o := res.Observations[0]; o.State != probes.Open {
		t.Errorf("the other host's probe: %+v; want it to have run beside the range", o)
	}
}

// A gated range waits one ICMP interval per refusal its host's single UDP
// probes drew, up to a full bucket, from when the last of them ended.
func TestGateWaitsForRefusalsToBeEarnedBack(t *testing.T) {
	closed := probes.Observation{State: probes.Closed}
	for _, tc := range []struct {
		obs  []probes.Observation
		want time.Duration
	}{
		{[]probes.Observation{{State: probes.Open}, {State: probes.Filtered}}, 0},
		{[]probes.Observation{closed, {State: probes.Open}}, udp.ICMPInterval},
		{[]probes.Observation{closed, closed, closed, closed, closed, closed, closed, closed}, udp.ICMPBurst * udp.ICMPInterval},
	} {
		p := &plan.Plan{Tasks: []plan.Task{{Target: probes.Target{Host: "h", Transport: "udp"}}}}
		var single []int
		for range tc.obs {
			single = append(single, len(p.Tasks))
			p.Tasks = append(p.Tasks, plan.Task{Target: probes.Target{Host: "h", Transport: "udp"}})
		}
		g := gateUDP(p, map[string][]int{"r": {0}}, single)
		for j, i := range single {
			g.release(i, tc.obs[j])
		}
		gate := g.byHost["h"]
		if got := gate.ready().Sub(gate.last); got != tc.want {
			t.Errorf("%d refusal(s) among %v: ready %v after the last; want %v", gate.refused, tc.obs, got, tc.want)
		}
	}
}

var lossyCalls atomic.Int32

func lossy(ctx context.Context, t probes.Target, p kinds.Params) probes.Observation {
	o := probes.Start("SYN")
	if lossyCalls.Add(1)%2 == 1 {
		return o.Settle(t, context.DeadlineExceeded)
	}
	return o.Settle(t, nil)
}

func TestASilenceWhereAnAnswerIsOwedIsAskedAgain(t *testing.T) {
	for _, owed := range []bool{true, false} {
		lossyCalls.Store(0)
		p := tasks("lossy", 1)
		p.Tasks[0].AnswerOwed = owed
		res := (&Engine{Concurrency: 1}).Run(context.Background(), p)
		o := res.Observations[0]
		switch {
		case owed && (o.State != probes.Open || o.Attempts != 2):
			t.Errorf("answer owed: %+v; want open after a second attempt", o)
		case !owed && (o.State != probes.Filtered || lossyCalls.Load() != 1):
			t.Errorf("no answer owed: %+v after %d calls; want the silence kept, asked once", o, lossyCalls.Load())
		}
	}
}

var inFlight, peak atomic.Int32

func counting(ctx context.Context, t probes.Target, p kinds.Params) probes.Observation {
	n := inFlight.Add(1)
	defer inFlight.Add(-1)
	for {
		old := peak.Load()
		if n <= old || peak.CompareAndSwap(old, n) {
			break
		}
	}
	select {
	case <-time.After(20 * time.Millisecond):
	case <-ctx.Done():
	}
	o := probes.Start("nothing")
	return o.Settle(t, nil)
}

func tasks(kind string, n int) *plan.Plan {
	p := &plan.Plan{}
	for i := range n {
		p.Tasks = append(p.Tasks, plan.Task{
			Kind:   kind,
			Target: probes.Target{Name: "t", Host: "127.0.0.1", Port: 1000 + i, Transport: "tcp"},
			Params: kinds.Params{Timeout: time.Second},
		})
	}
	return p
}

func TestUnimplementedKindIsAnErrorNotASkip(t *testing.T) {
	res := (&Engine{Concurrency: 4}).Run(context.Background(), tasks("future", 1))
	o := res.Observations[0]
	if !res.Ran[0] || o.Error != probes.ErrInternal || o.Outcome != "probe kind future is not implemented yet" {
		t.Errorf("ran %v, observation %+v; want an internal error saying the kind is not implemented yet", res.Ran[0], o)
	}
}

func TestConcurrencyLimitHolds(t *testing.T) {
	peak.Store(0)
	res := (&Engine{Concurrency: 3}).Run(context.Background(), tasks("counting", 12))
	if got := peak.Load(); got > 3 || got < 1 {
		t.Errorf("peak probes in flight = %d; want 1-3", got)
	}
	for i, ran := range res.Ran {
		if !ran {
			t.Errorf("task %d did not run", i)
		}
	}
}

func TestCanceledRunMarksTasksNotRun(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res := (&Engine{Concurrency: 2}).Run(ctx, tasks("counting", 5))
	if !res.Interrupted {
		t.Errorf("a canceled run is not marked interrupted")
	}
	for i, o := range res.Observations {
		if res.Ran[i] || o.Error != probes.ErrCanceled {
			t.Errorf("task %d: ran %v, %+v; want not run", i, res.Ran[i], o)
		}
	}
}

func TestRecheckFindsATargetStillAlive(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	p := &plan.Plan{Tasks: []plan.Task{{
		Kind:   "tcp",
		Target: probes.Target{Name: "box", Host: "127.0.0.1", Port: ln.Addr().(*net.TCPAddr).Port, Transport: "tcp"},
		Params: kinds.Params{Timeout: time.Second},
	}}}
	res := (&Engine{Concurrency: 1}).Run(context.Background(), p)
	rc, ok := res.Recheck["box"]
	if !ok || rc.Obs.State != probes.Open {
		t.Errorf("closing re-check = %+v (present %v); want an open answer from box", rc, ok)
	}
}

// A target's single UDP probes start as its kernel earns ICMP errors back:
// six at once, then one a second, per target.
func TestICMPLimiterMirrorsTheTargetsBucket(t *testing.T) {
	l := icmpLimiters()
	lim := l.get("a")
	t0 := time.Now()
	if !lim.AllowN(t0, udp.ICMPBurst) {
		t.Fatalf("a burst of %d is not allowed at once", udp.ICMPBurst)
	}
	if lim.AllowN(t0, 1) {
		t.Errorf("a probe beyond the burst is allowed at once")
	}
	if !lim.AllowN(t0.Add(udp.ICMPInterval), 1) {
		t.Errorf("no probe allowed one interval after the burst")
	}
	if l.get("b") == lim {
		t.Errorf("another target shares a's limiter")
	}
}

// More single UDP probes of one target than its bucket holds all run.
func TestManySingleUDPProbesAllRun(t *testing.T) {
	p := &plan.Plan{}
	for port := range udp.ICMPBurst + 1 {
		p.Tasks = append(p.Tasks, plan.Task{
			Kind:   "single",
			Target: probes.Target{Name: "h", Host: "10.0.0.1", Port: 5060 + port, Transport: "udp"},
			Params: kinds.Params{Timeout: time.Second},
		})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res := (&Engine{Concurrency: 16}).Run(ctx, p)
	for i, ran := range res.Ran {
		if !ran || res.Observations[i].State != probes.Open {
			t.Errorf("task %d: ran %v, %+v; want run, open", i, ran, res.Observations[i])
		}
	}
}
