package engine

import (
	"fmt"
	"net/netip"
	"sync"
	"time"

	"probe/internal/plan"
	"probe/probes"
	"probe/probes/syn"
)

// Swept is what a sweep sent as one task (plan.Task.Whole: a half-open
// TCP sweep, a UDP sweep) saw of its ports: the sweep's compact per-port
// state, and the observations of the second look at its open ports.
type Swept struct {
	scan probes.Ports
	// identified are the second looks at the open ports (the kind's
	// Identify: a connect that reads the banner), by port; written by the
	// run's identify phase, read once the run is over.
	identified map[int]probes.Observation
}

// Observation is what the sweep saw of port: the second look when the
// port was open and the look found it open, else the sweep's.
func (s *Swept) Observation(port int) probes.Observation {
	if o, ok := s.identified[port]; ok {
		return o
	}
	return s.scan.Observation(port)
}

// Answered lists the ports that answered open or closed, in order.
func (s *Swept) Answered() []int { return s.scan.Answered() }

// PortObservation is what task saw of port: for a whole sweep task, that
// port's; for any other task, its one observation.
func (r *Results) PortObservation(task, port int) probes.Observation {
	if s := r.Swept[task]; s != nil {
		return s.Observation(port)
	}
	return r.Observations[task]
}

// wholePorts are the ports of each whole sweep task (plan.Task.Whole), by
// task: those of the row that names it.
func wholePorts(p *plan.Plan) map[int][]int {
	out := map[int][]int{}
	for _, row := range p.Rows {
		if len(row.Ports) > 0 && p.Tasks[row.Ports[0].Task].Whole {
			ports := make([]int, len(row.Ports))
			for j, pt := range row.Ports {
				ports[j] = pt.Port
			}
			out[row.Ports[0].Task] = ports
		}
	}
	return out
}

// keepSwept records what whole sweep task i saw of its ports, and the
// task's own observation: a summary, sent as sent from started.
func (r *run) keepSwept(i int, sw *Swept, sent string, started time.Time) {
	r.mu.Lock()
	r.res.Swept[i] = sw
	r.mu.Unlock()
	summary := probes.Observation{Sent: sent, Started: started, Duration: time.Since(started),
		Outcome: fmt.Sprintf("sweep of %d ports; each port's observation is its own", len(r.whole[i]))}
	if r.ctx.Err() != nil || !sweptWhole(sw, r.whole[i]) {
		// A sweep that kept ports back (its pace would have sent them
		// after the deadline) is not run, although the run goes on:
		// the report is partial, as for a paced range.
		summary.Error = probes.ErrCanceled
	}
	r.finish([]int{i}, []probes.Observation{summary})
}

// sweptWhole says every one of ports was sent and heard out.
func sweptWhole(sw *Swept, ports []int) bool {
	for _, p := range ports {
		if sw.scan.Observation(p).Error == probes.ErrCanceled {
			return false
		}
	}
	return true
}

// halfOpen are the sweep tasks sent as half-open SYNs, by target address,
// and the addresses in plan order.
type halfOpen struct {
	byAddr map[netip.Addr][]int
	order  []netip.Addr
}

// splitHalfOpen takes the half-open sweep tasks from single. Without a
// scanner, each is recorded as the prober's own error.
func (r *run) splitHalfOpen(single []int) (halfOpen, []int) {
	h := halfOpen{byAddr: map[netip.Addr][]int{}}
	rest := single[:0:0]
	for _, i := range single {
		if !r.p.Tasks[i].HalfOpen() {
			rest = append(rest, i)
			continue
		}
		addr, err := netip.ParseAddr(r.p.Tasks[i].Target.Host)
		if r.e.HalfOpen == nil || err != nil {
			why := "a half-open sweep without a raw socket to send it"
			if err != nil {
				why = fmt.Sprintf("a half-open sweep needs an IP address, and %q is none: its name was not resolved before the run", r.p.Tasks[i].Target.Host)
			}
			r.finish([]int{i}, []probes.Observation{{Error: probes.ErrInternal, Outcome: why, Started: time.Now()}})
			continue
		}
		addr = addr.Unmap()
		if _, ok := h.byAddr[addr]; !ok {
			h.order = append(h.order, addr)
		}
		h.byAddr[addr] = append(h.byAddr[addr], i)
	}
	return h, rest
}

// runHalfOpen sends the half-open sweeps of every address in one scan,
// beside the first pass, and returns what to wait on for their end. Each
// address's SYNs take their tokens from the address's limiter, which its
// connects beside them take from too (the rate per target is the two
// together), and an unanswered SYN
// waits the address's adaptive timeout: the connects of the same run (its
// declared ports) and the sweep's own answers measure it.
func (r *run) runHalfOpen(h halfOpen) *sync.WaitGroup {
	var wg sync.WaitGroup
	if len(h.order) == 0 {
		return &wg
	}
	wg.Go(func() {
		started := time.Now()
		targets := make([]syn.Target, len(h.order))
		var longest time.Duration
		for j, a := range h.order {
			idx := h.byAddr[a]
			var ceiling time.Duration
			seen := make([]bool, 65536)
			var ports []int
			for _, i := range idx {
				ceiling = max(ceiling, r.p.Tasks[i].Params.Timeout)
				for _, p := range r.whole[i] {
					if !seen[p] { // the plan's ports are 1-65535
						seen[p] = true
						ports = append(ports, p)
					}
				}
			}
			longest = max(longest, ceiling)
			host := r.p.Tasks[idx[0]].Target.Host
			targets[j] = syn.Target{Addr: a, Ports: ports, Timing: timing{r.rtts.get(host), r.floor, ceiling}}
			if r.e.RatePerTarget > 0 {
				// The host's one budget, shared with its connects.
				targets[j].Budget = r.limiters.get(host)
			}
		}
		results := r.e.HalfOpen.Scan(r.ctx, targets, syn.Options{Rate: r.e.RatePerTarget, Timeout: longest})
		for j, a := range h.order {
			for _, i := range h.byAddr[a] {
				r.keepSwept(i, &Swept{scan: results[j]}, "TCP SYN (half-open)", started)
			}
		}
	})
	return &wg
}

// timing is a target's round-trip estimator as the scanner asks for it:
// an unanswered SYN waits the adaptive timeout (the ceiling until
// measured), and every answer to a first SYN is a sample.
type timing struct {
	est            *estimator
	floor, ceiling time.Duration
}

func (t timing) Sample(rtt time.Duration) { t.est.sample(rtt, t.floor, t.ceiling) }
func (t timing) Wait() time.Duration      { return t.est.timeout(t.floor, t.ceiling) }
