package engine

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"probe/internal/kinds"
	"probe/internal/plan"
	"probe/probes"
	"probe/probes/udp"
)

// A UDP sweep is one task that the udp kind sends from one socket, beside
// the host's ranges: each port's observation is its own (loopback refuses
// every closed port: it is exempt from the ICMP rate limit); every ICMP
// error it drew is spent from the target's budget, though the sweep waited
// for no token, so the next single UDP probe finds the bucket empty on a
// clock that never gives one back; and its refusals make a single UDP
// probe's silence beside them doubtful, naming the sweep's ports.
func TestUDPSweepIsOneTaskThatSpendsTheICMPBudget(t *testing.T) {
	ports := closedPorts(t, "udp", 20)
	p := udpSweepPlan(ports, 300*time.Millisecond)
	sip := p.Tasks[0].Target
	sip.Port = 5060
	p.Tasks = append(p.Tasks, plan.Task{Kind: "sip", Target: sip, Params: kinds.Params{Timeout: time.Second}})

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r := (&Engine{Concurrency: 16, Clock: frozenClock{time.Unix(1e9, 0)}}).start(ctx, p)
	ranges, single := splitTasks(p)
	if len(ranges.order) != 1 || len(single) != 1 || single[0] != 1 {
		t.Fatalf("ranges %v, single %v; want the sweep's one task among the ranges, the SIP probe single", ranges.groups, single)
	}
	r.runRanges(ranges).Wait()
	if !r.res.Ran[0] || len(r.res.Swept) != 1 || r.res.Swept[0] == nil {
		t.Fatalf("the sweep's task ran %v, swept %v; want it run and kept", r.res.Ran[0], r.res.Swept)
	}
	var refused []int
	for _, port := range ports {
		switch o := r.res.PortObservation(0, port); {
		case o.State == probes.Closed && o.ICMPError && o.Outcome == "ICMP port unreachable":
			refused = append(refused, port)
		case o.State != probes.OpenFiltered:
			t.Errorf("closed port %d: %s (%s); want closed by an ICMP port unreachable", port, o.State, o.Outcome)
		}
	}
	if len(refused) < udp.ICMPBurst {
		// Loopback is exempt from the per-peer limit, not from the
		// namespace's icmp_msgs_per_sec, which other tests' sweeps on
		// this machine may have spent.
		t.Skipf("only %d of %d closed ports were refused: the namespace's global ICMP limit withheld the rest", len(refused), len(ports))
	}
	short, cancelShort := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancelShort()
	if _, err := r.budgets.get("127.0.0.1").Take(short, udp.ClaimExchange); err == nil {
		t.Errorf("after the sweep's %d refusals a single UDP probe got a token at once: the sweep's errors were not counted", len(refused))
	}

	first := r.res.PortObservation(0, refused[0])
	r.res.Observations[1] = probes.Observation{State: probes.Filtered, Started: first.Started, Duration: time.Second}
	r.res.Ran[1] = true
	doubtOtherICMP(p, r.res, ranges.groups, single)
	if d := r.res.Observations[1].BesideICMP; !strings.Contains(d, fmt.Sprintf("%d/udp", refused[0])) {
		t.Errorf("the SIP probe's silence beside the sweep's refusals: doubt %q; want it to name %d/udp", d, refused[0])
	}
}

// udpSweepPlan is a UDP sweep of ports of 127.0.0.1 as the plan makes
// one: a single whole task (task 0) for the row.
func udpSweepPlan(ports []int, timeout time.Duration) *plan.Plan {
	lo := probes.Target{Name: "lo", Host: "127.0.0.1", Transport: "udp"}
	row := plan.Row{ID: "lo-sweep", Sweep: true}
	for _, port := range ports {
		row.Ports = append(row.Ports, plan.PortTask{Port: port, Task: 0})
	}
	return &plan.Plan{
		Tasks: []plan.Task{{Kind: "udp", Target: lo, Whole: true, Identify: true, Group: "lo-sweep", Params: kinds.Params{Timeout: timeout}}},
		Rows:  []plan.Row{row},
	}
}

// A UDP sweep whose pace would send its last ports after the deadline
// keeps them back, while the run still goes on: those ports are not run,
// so neither is the sweep, and the run is interrupted (its report
// partial), however early the sweep itself returned.
func TestUDPSweepCutByItsPaceIsInterrupted(t *testing.T) {
	ports := closedPorts(t, "udp", 5)
	p := udpSweepPlan(ports, 100*time.Millisecond)
	// One port a second: five ports cannot all leave in 2.5 s.
	ctx, cancel := context.WithTimeout(context.Background(), 2500*time.Millisecond)
	defer cancel()
	res := (&Engine{Concurrency: 4, RatePerTarget: 1}).Run(ctx, p)
	var unsent []int
	for _, port := range ports {
		if o := res.PortObservation(0, port); o.Error == probes.ErrCanceled {
			unsent = append(unsent, port)
			if !strings.Contains(o.Outcome, "after the run's deadline") {
				t.Errorf("port %d kept back: %q; want it to say its turn came after the deadline", port, o.Outcome)
			}
		}
	}
	if len(unsent) == 0 {
		t.Fatalf("every port of the sweep was sent at one a second within 2.5 s")
	}
	if !res.Interrupted || res.Ran[0] {
		t.Errorf("ports %v not sent, yet interrupted=%v and the sweep's task ran=%v; want the run interrupted, the sweep not run", unsent, res.Interrupted, res.Ran[0])
	}
}
