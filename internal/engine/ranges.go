package engine

import (
	"context"
	"sync"
	"time"

	"probe/internal/kinds"
	"probe/probes"
)

// rangeTasks are a plan's paced ranges: task indexes by group, and the
// groups in the plan's order.
type rangeTasks struct {
	groups map[string][]int
	order  []string
}

// runRanges starts the paced ranges (and the UDP sweeps) and returns what to wait on for their
// end. They run beside the rest, outside the concurrency limit, so a slow
// range never holds the run hostage and a long sweep never delays them.
// Nothing holds a range back: it paces its sends by the target's live ICMP
// budget (icmp.go), which the target's single UDP probes draw on too. A
// target's ranges go one after the other.
func (r *run) runRanges(rs rangeTasks) *sync.WaitGroup {
	var paced sync.WaitGroup
	var hosts []string
	for _, name := range rs.order {
		if h := r.p.Tasks[rs.groups[name][0]].Target.Host; !contains(hosts, h) {
			hosts = append(hosts, h)
		}
	}
	for _, host := range hosts {
		paced.Go(func() {
			for _, name := range rs.order {
				idx := rs.groups[name]
				first := r.p.Tasks[idx[0]]
				if first.Target.Host != host || r.ctx.Err() != nil {
					continue
				}
				targets := make([]probes.Target, len(idx))
				for j, i := range idx {
					targets[j] = r.p.Tasks[i].Target
				}
				params := first.Params
				params.ICMP = r.budgets.get(host)
				params.Pace = func(ctx context.Context) error { return r.limiters.wait(ctx, host) }
				if k := kinds.Lookup(first.Kind); first.Whole {
					started := time.Now()
					r.keepSwept(idx[0], &Swept{scan: k.SweepPorts(r.ctx, first.Target, r.whole[idx[0]], params)}, "UDP payloads", started)
				} else {
					r.finish(idx, k.RunPorts(r.ctx, targets, params))
				}
			}
		})
	}
	return &paced
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}
