package engine

import (
	"context"
	"sync"
	"time"

	"probe/internal/kinds"
	"probe/internal/plan"
	"probe/probes"
	"probe/probes/udp"
)

// rangeTasks are a plan's paced ranges: task indexes by group, and the
// groups in the plan's order.
type rangeTasks struct {
	groups map[string][]int
	order  []string
}

// runRanges starts the paced ranges and returns what to wait on for their
// end. They run beside the rest, outside the concurrency limit, so a slow
// range never holds the run hostage and a long sweep never delays them. A
// range waits only for its own target's single UDP probes, which go first
// (udpGates); a target's ranges go one after the other, each pacing itself
// against the target's whole ICMP bucket.
func (r *run) runRanges(rs rangeTasks, gates *udpGates) *sync.WaitGroup {
	var paced sync.WaitGroup
	for _, host := range gates.hosts {
		paced.Go(func() {
			for _, name := range rs.order {
				idx := rs.groups[name]
				first := r.p.Tasks[idx[0]]
				if first.Target.Host != host {
					continue
				}
				gates.await(r.ctx, host)
				targets := make([]probes.Target, len(idx))
				for j, i := range idx {
					targets[j] = r.p.Tasks[i].Target
				}
				obs := kinds.Lookup(first.Kind).RunPorts(r.ctx, targets, first.Params)
				gates.spent(host, obs)
				r.finish(idx, obs)
			}
		})
	}
	return &paced
}

// udpGates keep a target's single UDP probes and its paced ranges apart,
// and a target's ranges apart from each other.
//
// The target's kernel pays for every ICMP error it sends this prober from
// one bucket (udp.ICMPLimit), and a range that paces itself against that
// bucket assumes it full. A SIP probe sent beside the range's burst could
// find it empty, and take the missing ICMP port unreachable for a
// firewall's silence; the range could in turn lose tokens it counted on. So
// a target's single UDP tasks go first in the first pass, and its range
// starts once they are done, one interval later for each ICMP error they
// drew (up to a full bucket): the bucket is then as full as the range's
// replay assumes. A second range of the same target waits likewise for the
// first. Only the first pass is held; whatever else draws on the bucket
// while a range is probed (a re-probe, a TCP probe answered with ICMP
// prohibited) makes the range's silences doubtful afterwards
// (doubtOtherICMP).
type udpGates struct {
	hosts  []string // targets with a range, in the plan's order
	byHost map[string]*udpGate
	byTask map[int]*udpGate
	clock  Clock
	limit  udp.ICMPLimit
}

type udpGate struct {
	wg      sync.WaitGroup
	mu      sync.Mutex
	refused int       // ICMP errors drawn by what ran last (gated tasks, or a range)
	last    time.Time // when that ended
}

// gateUDP makes a gate for each target with a paced range, holding the
// target's single UDP tasks.
func gateUDP(p *plan.Plan, rs rangeTasks, single []int, clock Clock) *udpGates {
	g := &udpGates{byHost: map[string]*udpGate{}, byTask: map[int]*udpGate{}, clock: clock, limit: udp.LinuxICMPLimit}
	for _, name := range rs.order {
		host := p.Tasks[rs.groups[name][0]].Target.Host
		if g.byHost[host] == nil {
			g.byHost[host] = &udpGate{}
			g.hosts = append(g.hosts, host)
		}
	}
	for _, i := range single {
		t := p.Tasks[i].Target
		if gate := g.byHost[t.Host]; gate != nil && t.Transport == "udp" {
			gate.wg.Add(1)
			g.byTask[i] = gate
		}
	}
	return g
}

// first orders the gated tasks of idx first, keeping the order otherwise,
// so that a long sweep never delays a range behind it.
func (g *udpGates) first(idx []int) []int {
	out := make([]int, 0, len(idx))
	for _, i := range idx {
		if g.byTask[i] != nil {
			out = append(out, i)
		}
	}
	for _, i := range idx {
		if g.byTask[i] == nil {
			out = append(out, i)
		}
	}
	return out
}

// release records that task i's first pass ended with obs (the zero
// Observation when it never ran). Each task is released once.
func (g *udpGates) release(i int, obs probes.Observation) {
	gate := g.byTask[i]
	if gate == nil {
		return
	}
	gate.mu.Lock()
	if obs.ICMPError {
		gate.refused++
	}
	gate.last = g.clock.Now()
	gate.mu.Unlock()
	gate.wg.Done()
}

// spent records that a range of host has just ended with obs, so that the
// next range of host waits for the ICMP errors it drew to be earned back.
func (g *udpGates) spent(host string, obs []probes.Observation) {
	gate := g.byHost[host]
	gate.mu.Lock()
	defer gate.mu.Unlock()
	gate.refused = 0
	for _, o := range obs {
		if o.ICMPError {
			gate.refused++
		}
	}
	gate.last = g.clock.Now()
}

// await returns when host's gated tasks are done and the ICMP errors drawn
// by what ran last have been earned back, or when ctx ends.
func (g *udpGates) await(ctx context.Context, host string) {
	gate := g.byHost[host]
	if gate == nil {
		return
	}
	done := make(chan struct{})
	go func() {
		gate.wg.Wait()
		close(done)
	}()
	select {
	case <-ctx.Done():
		return
	case <-done:
	}
	ready := make(chan struct{})
	stop := g.clock.AfterFunc(g.ready(gate).Sub(g.clock.Now()), func() { close(ready) })
	defer stop()
	select {
	case <-ctx.Done():
	case <-ready:
	}
}

// ready is when the ICMP errors drawn by what ran last at gate have been
// earned back.
func (g *udpGates) ready(gate *udpGate) time.Time {
	gate.mu.Lock()
	defer gate.mu.Unlock()
	return gate.last.Add(g.limit.EarnBack(gate.refused))
}
