package engine

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"probe/internal/kinds"
	"probe/internal/plan"
	"probe/probes"
)

// The scripted kind is a one-round-trip TCP probe (as a bare connect is)
// whose every port hears what the test wrote for it, attempt by attempt;
// the last word repeats:
//
//	open    answered, 1 ms after the send
//	closed  refused
//	silent  nothing, until the probe's deadline
//	quiet   a connection that went quiet before the protocol answered
//	icmp    an ICMP error
//
// Its Identify (the second look at an open port) answers open with a
// banner, whatever port it is sent to.
func init() {
	kinds.Register(&kinds.Kind{
		Name: "scripted", Transports: []string{"tcp", "udp"},
		Run:          scriptedRun,
		OneRoundTrip: func(kinds.Params) bool { return true },
		Identify:     scriptedIdentify,
	})
}

type script struct {
	words []string
	calls int
	looks int // Identify calls
}

var scripts = struct {
	sync.Mutex
	by    map[string]*script // by "host:port"
	order []string           // "host:port" of each Run, in the order they began
}{by: map[string]*script{}}

func scriptKey(t probes.Target) string { return fmt.Sprintf("%s:%d", t.Host, t.Port) }

// setScripts replaces every script with those given ("host:port" → words).
func setScripts(by map[string][]string) {
	scripts.Lock()
	defer scripts.Unlock()
	scripts.by, scripts.order = map[string]*script{}, nil
	for k, w := range by {
		scripts.by[k] = &script{words: w}
	}
}

func scriptOf(t probes.Target) *script {
	scripts.Lock()
	defer scripts.Unlock()
	return scripts.by[scriptKey(t)]
}

func scriptedRun(ctx context.Context, t probes.Target, p kinds.Params) probes.Observation {
	scripts.Lock()
	s := scripts.by[scriptKey(t)]
	word := s.words[min(s.calls, len(s.words)-1)]
	s.calls++
	scripts.order = append(scripts.order, scriptKey(t))
	scripts.Unlock()
	o := probes.Start("SYN")
	if ctx.Err() != nil { // as a dial with a context already ended
		return o.Settle(t, ctx.Err())
	}
	switch word {
	case "open":
		o.RTT = time.Millisecond
		return o.Settle(t, nil)
	case "closed":
		o.RTT = time.Millisecond
		return o.Settle(t, syscall.ECONNREFUSED)
	case "quiet":
		o.RTT = time.Millisecond
		o = o.Settle(t, nil)
		o.Error, o.Outcome = probes.ErrProtocol, "connected, then nothing"
		return o
	case "icmp":
		return o.Settle(t, syscall.EHOSTUNREACH)
	}
	<-ctx.Done()
	return o.Settle(t, ctx.Err())
}

func scriptedIdentify(ctx context.Context, t probes.Target, p kinds.Params) probes.Observation {
	scripts.Lock()
	scripts.by[scriptKey(t)].looks++
	scripts.Unlock()
	o := probes.Start("SYN, then read")
	o = o.Settle(t, nil)
	o.Detail = "banner: fake"
	return o
}

// scriptedPlan is one task of the scripted kind per port, in order.
func scriptedPlan(timeout time.Duration, ports ...string) *plan.Plan {
	p := &plan.Plan{}
	for _, hp := range ports {
		var host string
		var port int
		if _, err := fmt.Sscanf(hp, "%s %d", &host, &port); err != nil {
			panic(err)
		}
		p.Tasks = append(p.Tasks, plan.Task{
			Kind:   "scripted",
			Target: probes.Target{Name: host, Host: host, Port: port, Transport: "tcp"},
			Params: kinds.Params{Timeout: timeout},
		})
	}
	return p
}

// A silence heard under the adaptive timeout (the target was measured by
// another port's answer) counts only once heard twice. How it is asked
// again depends on what that costs: at once with the full timeout when
// every such re-probe of the run fits in flight and within the rate;
// after the pass, with the full timeout, when the re-probes that remain
// fit; else once more with the adaptive timeout, as nmap retransmits. A
// silence heard under the full timeout (a target never measured) is not
// asked again. The report's outcome says which it was.
func TestShortSilencesAreAskedAgainAsTheirCostAllows(t *testing.T) {
	const (
		full = 500 * time.Millisecond
		// the silence of an unmeasured target, in the probe's own words
		ownWords = "no answer before the timeout"
	)
	type port struct {
		words    []string
		attempts int
		outcome  string
	}
	for _, c := range []struct {
		name        string
		concurrency int
		rate        float64
		ports       map[string]port
	}{
		{
			name: "every re-probe fits: at once, with the full timeout", concurrency: 4,
			ports: map[string]port{
				"a 1": {[]string{"open"}, 1, "answered"},
				"a 2": {[]string{"silent"}, 2, outcomeTwiceSilent},
			},
		},
		{
			// 3 one-round-trip tasks, 2 in flight: not at once. The 2
			// re-probes at 4 a second take exactly the 500 ms timeout.
			name: "the remaining re-probes fit the rate exactly: full timeout", concurrency: 2, rate: 4,
			ports: map[string]port{
				"a 1": {[]string{"open"}, 1, "answered"},
				"a 2": {[]string{"silent"}, 2, outcomeTwiceSilent},
				"a 3": {[]string{"silent"}, 2, outcomeTwiceSilent},
			},
		},
		{
			name: "a silence that ends in an answer is the answer", concurrency: 4,
			ports: map[string]port{
				"a 1": {[]string{"open"}, 1, "answered"},
				"a 2": {[]string{"silent", "closed"}, 2, "connection refused"},
			},
		},
		{
			// 4 one-round-trip tasks, 2 in flight: not at once. The 2
			// short silences then fit in flight: full timeout.
			name: "the remaining re-probes fit: after the pass, full timeout", concurrency: 2,
			ports: map[string]port{
				"a 1": {[]string{"open"}, 1, "answered"},
				"a 2": {[]string{"silent"}, 2, outcomeTwiceSilent},
				"a 3": {[]string{"silent"}, 2, outcomeTwiceSilent},
				"b 1": {[]string{"silent"}, 1, ownWords},
			},
		},
		{
			name: "too many for the flight: adaptive again", concurrency: 2,
			ports: map[string]port{
				"a 1": {[]string{"open"}, 1, "answered"},
				"a 2": {[]string{"silent"}, 2, outcomeTwiceAdaptive},
				"a 3": {[]string{"silent"}, 2, outcomeTwiceAdaptive},
				"a 4": {[]string{"silent"}, 2, outcomeTwiceAdaptive},
			},
		},
		{
			// 3 re-probes at 4 a second take 750 ms, over the timeout.
			name: "too many for the rate: adaptive again", concurrency: 8, rate: 4,
			ports: map[string]port{
				"a 1": {[]string{"open"}, 1, "answered"},
				"a 2": {[]string{"silent"}, 2, outcomeTwiceAdaptive},
				"a 3": {[]string{"silent"}, 2, outcomeTwiceAdaptive},
				"a 4": {[]string{"silent"}, 2, outcomeTwiceAdaptive},
			},
		},
		{
			name: "an ICMP error is an answer, not a silence", concurrency: 4,
			ports: map[string]port{
				"a 1": {[]string{"open"}, 1, "answered"},
				"a 2": {[]string{"icmp"}, 1, "ICMP host unreachable or prohibited"},
			},
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			keys := slices.Sorted(func(yield func(string) bool) {
				for k := range c.ports {
					if !yield(k) {
						return
					}
				}
			})
			by := map[string][]string{}
			for _, k := range keys {
				var host string
				var n int
				fmt.Sscanf(k, "%s %d", &host, &n)
				by[fmt.Sprintf("%s:%d", host, n)] = c.ports[k].words
			}
			setScripts(by)
			p := scriptedPlan(full, keys...)
			res := (&Engine{Concurrency: c.concurrency, RatePerTarget: c.rate, MinTimeout: 10 * time.Millisecond}).Run(context.Background(), p)
			for i, k := range keys {
				want, o := c.ports[k], res.Observations[i]
				if !res.Ran[i] || o.Attempts != want.attempts || o.Outcome != want.outcome {
					t.Errorf("port %q (%v): ran %v, %d attempts, %q; want %d attempts, %q", k, want.words, res.Ran[i], o.Attempts, o.Outcome, want.attempts, want.outcome)
				}
			}
		})
	}
}

// A port that owes an answer and connected, then went quiet before the
// protocol answered, is asked once more; one that owes none keeps what it
// heard.
func TestAQuietConnectionWhereAnAnswerIsOwedIsAskedAgain(t *testing.T) {
	for _, owed := range []bool{true, false} {
		setScripts(map[string][]string{"a:1": {"quiet", "open"}})
		p := scriptedPlan(time.Second, "a 1")
		p.Tasks[0].AnswerOwed = owed
		o := (&Engine{Concurrency: 1}).Run(context.Background(), p).Observations[0]
		switch {
		case owed && (o.Attempts != 2 || o.State != probes.Open || o.Error != ""):
			t.Errorf("answer owed: %d attempts, %s %s %q; want open and answered at the second attempt", o.Attempts, o.State, o.Error, o.Outcome)
		case !owed && (o.Attempts != 1 || o.Error != probes.ErrProtocol):
			t.Errorf("no answer owed: %d attempts, %s %q; want the quiet connection kept, asked once", o.Attempts, o.Error, o.Outcome)
		}
	}
}

// A probe cut off by the run's deadline heard nothing because the run
// ended, not because the port is silent: the task is not run (the report
// partial), never a filtered port. So is a port heard silent once under
// the adaptive timeout whose second attempt the deadline cut, whether that
// attempt came at once (two in flight) or after the pass (one).
func TestAProbeCutByTheRunsDeadlineIsNotASilence(t *testing.T) {
	for _, c := range []struct {
		name        string
		concurrency int
		floor       time.Duration
	}{
		{"the first attempt", 1, time.Minute},
		{"the second attempt, at once", 2, 100 * time.Millisecond},
		{"the second attempt, after the pass", 1, 100 * time.Millisecond},
	} {
		t.Run(c.name, func(t *testing.T) {
			setScripts(map[string][]string{"a:1": {"closed"}, "a:2": {"silent"}})
			p := scriptedPlan(time.Minute, "a 1", "a 2")
			ctx, cancel := context.WithTimeout(context.Background(), 400*time.Millisecond)
			defer cancel()
			res := (&Engine{Concurrency: c.concurrency, MinTimeout: c.floor}).Run(ctx, p)
			if !res.Ran[0] || res.Observations[0].State != probes.Closed {
				t.Errorf("the port that answered before the deadline: ran %v, %+v; want closed", res.Ran[0], res.Observations[0])
			}
			if o := res.Observations[1]; res.Ran[1] || o.Error != probes.ErrCanceled || o.Outcome != notRun || !res.Interrupted {
				t.Errorf("the port cut off: ran %v, %s %s %q, run interrupted %v; want not run, the run interrupted", res.Ran[1], o.State, o.Error, o.Outcome, res.Interrupted)
			}
		})
	}
}

// With one probe in flight, two targets' ports go out in turn, a port of
// each, so a rate per target lets both proceed side by side instead of
// one target after the other.
func TestTargetsTakeTurns(t *testing.T) {
	setScripts(map[string][]string{
		"a:1": {"closed"}, "a:2": {"closed"}, "a:3": {"closed"},
		"b:1": {"closed"}, "b:2": {"closed"},
	})
	p := scriptedPlan(time.Second, "a 1", "a 2", "a 3", "b 1", "b 2")
	(&Engine{Concurrency: 1}).Run(context.Background(), p)
	scripts.Lock()
	got := slices.Clone(scripts.order)
	scripts.Unlock()
	if want := []string{"a:1", "b:1", "a:2", "b:2", "a:3"}; !slices.Equal(got, want) {
		t.Errorf("sent in the order %v; want %v", got, want)
	}
}

// A port that owed an answer and heard none is asked again; when the rate
// per target leaves no token for that before the deadline, the task is
// not run, saying why, and the run is partial: one silence does not
// decide the row of a report that looks whole.
func TestAReprobeTheRateLeavesNoTimeForIsNotRun(t *testing.T) {
	setScripts(map[string][]string{"a:1": {"silent"}})
	p := scriptedPlan(100*time.Millisecond, "a 1")
	p.Tasks[0].AnswerOwed = true
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	// One token every 2 s: the first attempt takes the only one.
	res := (&Engine{Concurrency: 1, RatePerTarget: 0.5}).Run(ctx, p)
	o := res.Observations[0]
	if res.Ran[0] || o.Error != probes.ErrCanceled || o.Outcome != notAskedAgain.Outcome || o.Attempts != 1 || !res.Interrupted {
		t.Errorf("ran %v, %s %q after %d attempts, run interrupted %v; want not run, not asked again, 1 attempt, the run partial", res.Ran[0], o.Error, o.Outcome, o.Attempts, res.Interrupted)
	}
}

// Re-probes still waiting for a slot when the run ends are not run
// either: with one probe in flight, the second port's re-probe never
// starts.
func TestReprobesWaitingWhenTheRunEndsAreNotRun(t *testing.T) {
	setScripts(map[string][]string{"a:1": {"silent"}, "a:2": {"silent"}})
	p := scriptedPlan(100*time.Millisecond, "a 1", "a 2")
	for i := range p.Tasks {
		p.Tasks[i].AnswerOwed = true
	}
	// The first pass takes 200 ms; the deadline cuts the first re-probe.
	ctx, cancel := context.WithTimeout(context.Background(), 250*time.Millisecond)
	defer cancel()
	res := (&Engine{Concurrency: 1}).Run(ctx, p)
	for i, o := range res.Observations {
		if res.Ran[i] || o.Error != probes.ErrCanceled {
			t.Errorf("port %d: ran %v, %s %s %q; want not run", i+1, res.Ran[i], o.State, o.Error, o.Outcome)
		}
	}
	if !res.Interrupted {
		t.Error("the run is not marked interrupted")
	}
}
