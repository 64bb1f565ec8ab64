package engine

import (
	"net/netip"
	"sync"
	"time"

	"probe/internal/kinds"
	"probe/probes"
	"probe/probes/syn"
)

// halfOpen are the sweep tasks sent as half-open SYNs: task indexes by
// target address, the addresses in plan order.
type halfOpen struct {
	byAddr map[netip.Addr][]int
	order  []netip.Addr
}

// splitHalfOpen takes from single the tasks the half-open scanner sends
// instead of connects: a sweep's ports (Task.Identify) of a kind whose
// bare probe is the handshake (HalfOpen, OneRoundTrip), over TCP, to an
// IPv4 address. Nothing when the engine has no scanner. The rest are
// returned as they were.
func (r *run) splitHalfOpen(single []int) (halfOpen, []int) {
	h := halfOpen{byAddr: map[netip.Addr][]int{}}
	if r.e.HalfOpen == nil {
		return h, single
	}
	rest := single[:0:0]
	for _, i := range single {
		t := r.p.Tasks[i]
		k := kinds.Lookup(t.Kind)
		addr, err := netip.ParseAddr(t.Target.Host)
		if !t.Identify || t.Target.Transport != "tcp" || k == nil || !k.HalfOpen || k.OneRoundTrip == nil ||
			!k.OneRoundTrip(t.Params) || err != nil || !addr.Unmap().Is4() {
			rest = append(rest, i)
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

// tasks are every half-open task, in plan order per address.
func (h halfOpen) tasks() []int {
	var out []int
	for _, a := range h.order {
		out = append(out, h.byAddr[a]...)
	}
	return out
}

// runHalfOpen sends the half-open sweeps of every address in one scan,
// beside the first pass, and returns what to wait on for their end. Each
// address's SYNs are paced at the rate per target, and an unanswered SYN
// waits the address's adaptive timeout: the connects of the same run (its
// declared ports) and the sweep's own answers measure it.
func (r *run) runHalfOpen(h halfOpen) *sync.WaitGroup {
	var wg sync.WaitGroup
	if len(h.order) == 0 {
		return &wg
	}
	for _, a := range h.order {
		r.res.HalfOpen = append(r.res.HalfOpen, a.String())
	}
	wg.Go(func() {
		targets := make([]syn.Target, len(h.order))
		var longest time.Duration
		for j, a := range h.order {
			idx := h.byAddr[a]
			var ceiling time.Duration
			seen := make([]bool, 65536)
			var ports []int
			for _, i := range idx {
				t := r.p.Tasks[i]
				ceiling = max(ceiling, t.Params.Timeout)
				if p := t.Target.Port; p > 0 && p < len(seen) && !seen[p] {
					seen[p] = true
					ports = append(ports, p)
				}
			}
			longest = max(longest, ceiling)
			targets[j] = syn.Target{Addr: a, Ports: ports, Timing: timing{r.rtts.get(r.p.Tasks[idx[0]].Target.Host), r.floor, ceiling}}
		}
		results := r.e.HalfOpen.Scan(r.ctx, targets, syn.Options{Rate: r.e.RatePerTarget, Timeout: longest})
		for j, a := range h.order {
			r.finishHalfOpen(h.byAddr[a], results[j])
		}
	})
	return &wg
}

// finishChunk is how many observations finishHalfOpen hands over at once:
// a sweep's 65535 would otherwise need a second array of them.
const finishChunk = 1024

// finishHalfOpen records the scan's observation of each task idx.
func (r *run) finishHalfOpen(idx []int, res *syn.Result) {
	obs := make([]probes.Observation, 0, finishChunk)
	for len(idx) > 0 {
		n := min(finishChunk, len(idx))
		obs = obs[:0]
		for _, i := range idx[:n] {
			obs = append(obs, res.Observation(r.p.Tasks[i].Target.Port))
		}
		r.finish(idx[:n], obs)
		idx = idx[n:]
	}
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
