package engine

import (
	"context"
	"fmt"
	"net"
	"strings"
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

// The order test's record: the ICMP budget the range was given, and a
// channel closed when it started.
var (
	rangeBudget  atomic.Pointer[udp.Budget]
	rangeStarted chan struct{}
)

func rangeProbe(ctx context.Context, ts []probes.Target, p kinds.Params) []probes.Observation {
	rangeBudget.Store(p.ICMP)
	close(rangeStarted)
	out := make([]probes.Observation, len(ts))
	for i, t := range ts {
		out[i] = probes.Start("RTP").Settle(t, nil)
	}
	return out
}

// singleProbe waits until the range has started, which it could not do if
// the engine held the range back behind it; it is refused (an ICMP error
// drawn from its target's bucket).
func singleProbe(ctx context.Context, t probes.Target, p kinds.Params) probes.Observation {
	o := probes.Start("SIP")
	select {
	case <-rangeStarted:
		o = o.Settle(t, nil)
		o.State, o.ICMPError = probes.Closed, true
		return o
	case <-ctx.Done():
		return o.Settle(t, ctx.Err())
	}
}

// A range is not held behind its target's single UDP probes: both run at
// once, pacing themselves by one live ICMP budget, which the range is given.
func TestRangeRunsBesideItsTargetsSingleUDPProbes(t *testing.T) {
	rangeStarted = make(chan struct{})
	p := &plan.Plan{}
	add := func(kind, host string, port int, group string) {
		p.Tasks = append(p.Tasks, plan.Task{
			Kind: kind, Group: group,
			Target: probes.Target{Name: host, Host: host, Port: port, Transport: "udp"},
			Params: kinds.Params{Timeout: time.Second},
		})
	}
	for port := range 3 {
		add("single", "10.0.0.1", 5060+port, "")
	}
	for _, port := range []int{16384, 16386, 16388} {
		add("range", "10.0.0.1", port, "rtp")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res := (&Engine{Concurrency: 2}).Run(ctx, p)
	for i, o := range res.Observations[:3] {
		if o.State != probes.Closed {
			t.Errorf("single probe %d: %+v; want it to have run beside the range", i, o)
		}
	}
	if rangeBudget.Load() == nil {
		t.Errorf("the range was given no ICMP budget to pace itself by")
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

// concurrency records how many callers are inside at once, and the most.
type concurrency struct{ now, peak atomic.Int32 }

// enter counts one more inside; the returned func counts it out.
func (c *concurrency) enter() (leave func()) {
	n := c.now.Add(1)
	for {
		old := c.peak.Load()
		if n <= old || c.peak.CompareAndSwap(old, n) {
			break
		}
	}
	return func() { c.now.Add(-1) }
}

var probesAtOnce concurrency

func counting(ctx context.Context, t probes.Target, p kinds.Params) probes.Observation {
	defer probesAtOnce.enter()()
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
	probesAtOnce.peak.Store(0)
	res := (&Engine{Concurrency: 3}).Run(context.Background(), tasks("counting", 12))
	if got := probesAtOnce.peak.Load(); got > 3 || got < 1 {
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
	r := (&Engine{Concurrency: 1, RatePerTarget: 100}).start(context.Background(), p)
	lim := &countingLimiter{}
	r.limiters.by["127.0.0.1"] = lim
	res := r.run()
	rc, ok := res.Recheck["box"]
	if !ok || rc.Obs.State != probes.Open {
		t.Errorf("closing re-check = %+v (present %v); want an open answer from box", rc, ok)
	}
	// The re-check's connect is paced as every probe is: a token for the
	// probe, one for the re-check.
	if lim.taken != 2 {
		t.Errorf("%d tokens taken of the target's limiter; want 2, the probe's and the re-check's", lim.taken)
	}
}

// More single UDP probes of one target than its bucket holds all run,
// each refused: the seventh once the bucket has earned a token back.
func TestManySingleUDPProbesAllRun(t *testing.T) {
	rangeStarted = make(chan struct{})
	close(rangeStarted) // no range here: the single probes answer at once
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
		if !ran || res.Observations[i].State != probes.Closed {
			t.Errorf("task %d: ran %v, %+v; want run, closed", i, ran, res.Observations[i])
		}
	}
}

var rangesAtOnce concurrency

func overlapRange(ctx context.Context, ts []probes.Target, p kinds.Params) []probes.Observation {
	defer rangesAtOnce.enter()()
	select { // room for another range to start beside this one
	case <-time.After(50 * time.Millisecond):
	case <-ctx.Done():
	}
	out := make([]probes.Observation, len(ts))
	for i, t := range ts {
		out[i] = probes.Start("RTP").Settle(t, nil)
	}
	return out
}

func init() {
	kinds.Register(&kinds.Kind{Name: "overlap", Transports: []string{"udp"}, RunPorts: overlapRange})
}

// Two ranges of one target run one after the other (each paces itself
// against the target's whole ICMP bucket); ranges of two targets run side
// by side.
func TestRangesOfOneTargetDoNotOverlap(t *testing.T) {
	for _, tc := range []struct {
		hosts []string
		peak  int32
	}{
		{[]string{"10.0.0.1", "10.0.0.1"}, 1},
		{[]string{"10.0.0.1", "10.0.0.2"}, 2},
	} {
		rangesAtOnce.peak.Store(0)
		p := &plan.Plan{}
		for g, host := range tc.hosts {
			for _, port := range []int{16384, 16386} {
				p.Tasks = append(p.Tasks, plan.Task{
					Kind: "overlap", Group: fmt.Sprintf("range-%d", g),
					Target: probes.Target{Name: host, Host: host, Port: port + 2*g, Transport: "udp"},
					Params: kinds.Params{Timeout: time.Second},
				})
			}
		}
		res := (&Engine{Concurrency: 4}).Run(context.Background(), p)
		if got := rangesAtOnce.peak.Load(); got != tc.peak {
			t.Errorf("hosts %v: %d ranges at once; want %d", tc.hosts, got, tc.peak)
		}
		for i, ran := range res.Ran {
			if !ran {
				t.Errorf("hosts %v: task %d did not run", tc.hosts, i)
			}
		}
	}
}

// A range's silent ports are doubtful when another probe of its target
// drew an ICMP error while the range was probed; not when that probe was of
// another target, or outside the range's time.
func TestRangeSilenceBesideOtherICMPErrorsIsDoubtful(t *testing.T) {
	t0 := time.Date(2026, 11, 27, 4, 0, 0, 0, time.UTC)
	at := func(s, d float64) probes.Observation {
		return probes.Observation{Started: t0.Add(time.Duration(s * float64(time.Second))), Duration: time.Duration(d * float64(time.Second))}
	}
	silent := func(s float64) probes.Observation { o := at(s, 2); o.State = probes.OpenFiltered; return o }
	refused := func(s float64) probes.Observation {
		o := at(s, 0.001)
		o.State, o.ICMPError = probes.Closed, true
		return o
	}
	prohibited := func(s float64) probes.Observation {
		o := at(s, 0.001)
		o.State, o.ICMPError = probes.Filtered, true
		return o
	}
	timeout := func(s float64) probes.Observation { o := at(s, 3); o.State = probes.Filtered; return o }

	for _, tc := range []struct {
		name  string
		other probes.Observation
		host  string
		doubt bool
	}{
		{"ICMP prohibited during the range", prohibited(1), "a", true},
		{"port unreachable during the range", refused(1.5), "a", true},
		{"a timeout draws nothing", timeout(1), "a", false},
		{"another target's error", prohibited(1), "b", false},
		{"before the range", prohibited(-5), "a", false},
		{"after the range", prohibited(10), "a", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := &plan.Plan{Tasks: []plan.Task{
				{Group: "r", Target: probes.Target{Host: "a", Port: 16384, Transport: "udp"}},
				{Group: "r", Target: probes.Target{Host: "a", Port: 16386, Transport: "udp"}},
				{Target: probes.Target{Host: tc.host, Port: 22, Transport: "tcp"}},
			}}
			res := &Results{
				Observations: []probes.Observation{silent(0), refused(1), tc.other},
				Ran:          []bool{true, true, true},
			}
			doubtOtherICMP(p, res, map[string][]int{"r": {0, 1}}, []int{2})
			if got := res.Observations[0].BesideICMP != ""; got != tc.doubt {
				t.Errorf("silent port doubtful %v (%q); want %v", got, res.Observations[0].BesideICMP, tc.doubt)
			}
			if res.Observations[1].BesideICMP != "" {
				t.Errorf("a refused port of the range got a doubt: %q", res.Observations[1].BesideICMP)
			}
		})
	}
}

func init() {
	// A range whose ports are all silent for a second, and a TCP probe
	// answered with ICMP prohibited, as a rejecting firewall does.
	kinds.Register(&kinds.Kind{Name: "silentrange", Transports: []string{"udp"}, RunPorts: func(ctx context.Context, ts []probes.Target, p kinds.Params) []probes.Observation {
		out := make([]probes.Observation, len(ts))
		for i := range ts {
			out[i] = probes.Observation{State: probes.OpenFiltered, Started: time.Now(), Duration: time.Second, Attempts: 1}
		}
		return out
	}})
	kinds.Register(&kinds.Kind{Name: "rejected", Transports: []string{"tcp"}, Run: func(ctx context.Context, t probes.Target, p kinds.Params) probes.Observation {
		return probes.Observation{State: probes.Filtered, ICMPError: true, Started: time.Now(), Duration: time.Millisecond, Attempts: 1}
	}})
}

// Run applies the rule: a TCP probe of the range's target answered with an
// ICMP error while the range ran makes the range's silences doubtful.
func TestRunDoubtsARangeBesideICMPErrors(t *testing.T) {
	p := &plan.Plan{Tasks: []plan.Task{
		{Kind: "silentrange", Group: "r", Target: probes.Target{Host: "10.0.0.1", Port: 16384, Transport: "udp"}, Params: kinds.Params{Timeout: time.Second}},
		{Kind: "rejected", Target: probes.Target{Host: "10.0.0.1", Port: 22, Transport: "tcp"}, Params: kinds.Params{Timeout: time.Second}},
	}}
	res := (&Engine{Concurrency: 4}).Run(context.Background(), p)
	if o := res.Observations[0]; !strings.Contains(o.BesideICMP, "22/tcp") {
		t.Errorf("range port: %+v; want a doubt naming 22/tcp", o)
	}
}

// A single UDP probe's silence is doubtful beside another probe's ICMP
// error on the same target at the same time; a TCP probe's is not (no ICMP
// error was owed to it), nor one heard at another time.
func TestSingleUDPSilenceBesideOtherICMPErrorsIsDoubtful(t *testing.T) {
	t0 := time.Date(2026, 11, 27, 4, 0, 0, 0, time.UTC)
	sipSilent := probes.Observation{State: probes.Filtered, Started: t0, Duration: 3 * time.Second}
	tcpSilent := sipSilent
	rejected := probes.Observation{State: probes.Filtered, ICMPError: true, Started: t0.Add(time.Second), Duration: time.Millisecond}
	later := rejected
	later.Started = t0.Add(10 * time.Second)
	p := &plan.Plan{Tasks: []plan.Task{
		{Target: probes.Target{Host: "a", Port: 5060, Transport: "udp"}},
		{Target: probes.Target{Host: "a", Port: 3000, Transport: "tcp"}},
		{Target: probes.Target{Host: "a", Port: 22, Transport: "tcp"}},
		{Target: probes.Target{Host: "b", Port: 5060, Transport: "udp"}},
		{Target: probes.Target{Host: "b", Port: 22, Transport: "tcp"}},
	}}
	res := &Results{
		Observations: []probes.Observation{sipSilent, tcpSilent, rejected, sipSilent, later},
		Ran:          []bool{true, true, true, true, true},
	}
	doubtOtherICMP(p, res, nil, []int{0, 1, 2, 3, 4})
	for i, want := range []bool{true, false, false, false, false} {
		if got := res.Observations[i].BesideICMP != ""; got != want {
			t.Errorf("task %d (%s:%d/%s): doubtful %v (%q); want %v", i, p.Tasks[i].Target.Host, p.Tasks[i].Target.Port,
				p.Tasks[i].Target.Transport, got, res.Observations[i].BesideICMP, want)
		}
	}
	if !strings.Contains(res.Observations[0].BesideICMP, "22/tcp") {
		t.Errorf("doubt %q; want it to name 22/tcp", res.Observations[0].BesideICMP)
	}
}

func init() {
	// A kind of three exchanges that reports the time it was given.
	kinds.Register(&kinds.Kind{Name: "threefold", Transports: []string{"tcp"},
		Exchanges: func(kinds.Params) int { return 3 },
		Run: func(ctx context.Context, t probes.Target, p kinds.Params) probes.Observation {
			o := probes.Start("x").Settle(t, nil)
			if dl, ok := ctx.Deadline(); ok {
				o.Duration = time.Until(dl)
			}
			return o
		}})
}

// A probe of several exchanges gets the timeout once for each.
func TestEachExchangeGetsTheTimeout(t *testing.T) {
	p := tasks("threefold", 1)
	res := (&Engine{Concurrency: 1}).Run(context.Background(), p)
	if got := res.Observations[0].Duration; got <= 2*p.Tasks[0].Params.Timeout {
		t.Errorf("the probe was given %v; want about 3 × its %v timeout", got, p.Tasks[0].Params.Timeout)
	}
}

// frozenClock never moves: a bucket kept in its time never earns a token
// back.
type frozenClock struct{ at time.Time }

func (c frozenClock) Now() time.Time { return c.at }

func (frozenClock) AfterFunc(time.Duration, func()) func() bool { return func() bool { return true } }

// The targets' ICMP accounts are kept in the engine's clock: with a clock
// that never moves, six refused UDP probes spend the bucket, and a seventh
// never gets a token before the run ends.
func TestICMPBudgetRunsOnTheEnginesClock(t *testing.T) {
	rangeStarted = make(chan struct{})
	close(rangeStarted) // no range here: the single probes are refused at once
	p := &plan.Plan{}
	for port := range udp.ICMPBurst + 1 {
		p.Tasks = append(p.Tasks, plan.Task{
			Kind:   "single",
			Target: probes.Target{Name: "h", Host: "10.0.0.1", Port: 5060 + port, Transport: "udp"},
			Params: kinds.Params{Timeout: time.Second},
		})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	res := (&Engine{Concurrency: 16, Clock: frozenClock{time.Unix(1e9, 0)}}).Run(ctx, p)
	ran := 0
	for _, r := range res.Ran {
		if r {
			ran++
		}
	}
	if ran != udp.ICMPBurst || !res.Interrupted {
		t.Errorf("%d of %d refused probes ran (interrupted %v); want the bucket's %d, the rest waiting on a clock that never moves", ran, len(p.Tasks), res.Interrupted, udp.ICMPBurst)
	}
}

func init() {
	// A sweeping UDP kind whose every port refuses, as a host without a
	// firewall's closed ports do.
	kinds.Register(&kinds.Kind{Name: "refusing_sweep", Transports: []string{"udp"}, Sweeps: true,
		Run: func(ctx context.Context, t probes.Target, p kinds.Params) probes.Observation {
			o := probes.Start("payloads").Settle(t, nil)
			o.State, o.ICMPError = probes.Closed, true
			return o
		}})
}

// A UDP sweep waits for no ICMP token: on a clock that never gives one
// back, where a seventh single UDP probe waits forever, every port of the
// sweep runs; the next single UDP probe of the same target, which waits
// for a token, finds the bucket spent by the sweep's refusals.
func TestUDPSweepWaitsForNoICMPToken(t *testing.T) {
	p := &plan.Plan{}
	const ports = 200
	for port := range ports {
		p.Tasks = append(p.Tasks, plan.Task{
			Kind:   "refusing_sweep",
			Target: probes.Target{Name: "h", Host: "10.0.0.1", Port: 1 + port, Transport: "udp"},
			Params: kinds.Params{Timeout: time.Second},
		})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	e := &Engine{Concurrency: 16, Clock: frozenClock{time.Unix(1e9, 0)}}
	r := e.start(ctx, p)
	r.firstPass(interleave(p, allTasks(p)))
	for i, ran := range r.res.Ran {
		if !ran || r.res.Observations[i].State != probes.Closed {
			t.Fatalf("sweep port %d: ran %v, %+v; want run, closed", i+1, ran, r.res.Observations[i])
		}
	}
	short, cancelShort := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancelShort()
	if _, err := r.budgets.get("10.0.0.1").Take(short, udp.ClaimExchange); err == nil {
		t.Error("after the sweep's 200 refusals a single UDP probe got a token at once: the sweep's errors were not counted")
	}
}

func allTasks(p *plan.Plan) []int {
	idx := make([]int, len(p.Tasks))
	for i := range idx {
		idx[i] = i
	}
	return idx
}

// A sweep's silence beside ICMP errors is not made doubtful (it states
// not_open, which a withheld refusal is too), but its errors make a single
// UDP probe's silence doubtful.
func TestSweepSilenceIsNotDoubtedButItsErrorsDoubtOthers(t *testing.T) {
	t0 := time.Date(2026, 11, 27, 4, 0, 0, 0, time.UTC)
	silent := probes.Observation{State: probes.OpenFiltered, Started: t0, Duration: 3 * time.Second}
	refused := probes.Observation{State: probes.Closed, ICMPError: true, Started: t0.Add(time.Second), Duration: time.Millisecond}
	sipSilent := probes.Observation{State: probes.Filtered, Started: t0, Duration: 3 * time.Second}
	p := &plan.Plan{Tasks: []plan.Task{
		{Kind: "udp", Target: probes.Target{Host: "a", Port: 9999, Transport: "udp"}},
		{Kind: "udp", Target: probes.Target{Host: "a", Port: 10000, Transport: "udp"}},
		{Kind: "sip", Target: probes.Target{Host: "a", Port: 5060, Transport: "udp"}},
	}}
	res := &Results{Observations: []probes.Observation{silent, refused, sipSilent}, Ran: []bool{true, true, true}}
	doubtOtherICMP(p, res, nil, []int{0, 1, 2})
	if d := res.Observations[0].BesideICMP; d != "" {
		t.Errorf("the sweep's silent port is doubted: %q", d)
	}
	if d := res.Observations[2].BesideICMP; !strings.Contains(d, "10000/udp") {
		t.Errorf("the SIP probe's silence beside the sweep's refusal: doubt %q; want it to name 10000/udp", d)
	}
}

// The second look (the kind's Identify: a connect that reads the banner)
// goes to the ports found open, and only to them: what it read is the
// port's observation, its send counted; a closed port is never looked at,
// so nothing it could say replaces the refusal.
func TestSecondLookOnlyAtOpenPorts(t *testing.T) {
	setScripts(map[string][]string{"a:1": {"open"}, "a:2": {"closed"}})
	p := scriptedPlan(time.Second, "a 1", "a 2")
	for i := range p.Tasks {
		p.Tasks[i].Identify = true
	}
	res := (&Engine{Concurrency: 2}).Run(context.Background(), p)
	if o := res.Observations[0]; o.State != probes.Open || o.Detail != "banner: fake" || o.Attempts != 2 {
		t.Errorf("open port: %s, %q, %d sends; want open with the banner of the second look, 2 sends", o.State, o.Detail, o.Attempts)
	}
	if o := res.Observations[1]; o.State != probes.Closed || scriptOf(p.Tasks[1].Target).looks != 0 {
		t.Errorf("closed port: %s after %d second looks; want closed, never looked at", o.State, scriptOf(p.Tasks[1].Target).looks)
	}
}

func init() {
	kinds.Register(&kinds.Kind{Name: "keepsback", Transports: []string{"udp"}, RunPorts: keepsBack})
}

// keepsBack is a paced range that keeps its last port back, as RTP does
// when that port's wait would end after the run's deadline.
func keepsBack(ctx context.Context, ts []probes.Target, p kinds.Params) []probes.Observation {
	out := make([]probes.Observation, len(ts))
	for i, t := range ts {
		out[i] = probes.Start("RTP").Settle(t, nil)
	}
	out[len(ts)-1] = probes.Observation{Error: probes.ErrCanceled, Outcome: "kept back: its wait would end after the deadline"}
	return out
}

// A port a range kept back while the run went on is not run, in the
// range's own words (not the run's end), and the run is partial.
func TestAPortARangeKeptBackIsNotRun(t *testing.T) {
	p := &plan.Plan{}
	for _, port := range []int{16384, 16386} {
		p.Tasks = append(p.Tasks, plan.Task{
			Kind: "keepsback", Group: "rtp",
			Target: probes.Target{Name: "h", Host: "127.0.0.1", Port: port, Transport: "udp"},
			Params: kinds.Params{Timeout: time.Second},
		})
	}
	res := (&Engine{Concurrency: 2}).Run(context.Background(), p)
	if !res.Ran[0] || res.Observations[0].State != probes.Open {
		t.Errorf("the port sent: ran %v, %+v; want open", res.Ran[0], res.Observations[0])
	}
	if o := res.Observations[1]; res.Ran[1] || o.Outcome != "kept back: its wait would end after the deadline" || !res.Interrupted {
		t.Errorf("the port kept back: ran %v, %q, run partial %v; want not run, in the range's words, the run partial", res.Ran[1], o.Outcome, res.Interrupted)
	}
}

// A UDP sweep whose every port is excluded (except_declared, every port
// of its range declared elsewhere) plans a task with no port: the run
// takes it in its stride and sends nothing.
func TestASweepWithNoPortSendsNothing(t *testing.T) {
	p := &plan.Plan{
		Tasks: []plan.Task{{
			Kind: "udp", Whole: true, Identify: true, Group: "sweep",
			Target: probes.Target{Name: "h", Host: "127.0.0.1", Transport: "udp"},
			Params: kinds.Params{Timeout: 200 * time.Millisecond},
		}},
		Rows: []plan.Row{{ID: "sweep", Sweep: true}},
	}
	res := (&Engine{Concurrency: 2}).Run(context.Background(), p)
	if !res.Ran[0] || res.Interrupted || len(res.Swept[0].Answered()) != 0 {
		t.Errorf("ran %v, interrupted %v, answered %v; want run whole, nothing sent", res.Ran[0], res.Interrupted, res.Swept[0].Answered())
	}
}
