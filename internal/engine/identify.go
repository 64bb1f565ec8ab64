package engine

import (
	"context"
	"slices"

	"golang.org/x/sync/errgroup"

	"probe/internal/kinds"
	"probe/probes"
)

// look is one second look at an open port of a sweep: the kind's Identify
// of the task that found it open.
type look struct {
	task   int
	target probes.Target // the open port
	// attempts are the sends that found it open.
	attempts int
	// sw is the half-open sweep that found it; nil for a single task.
	sw *Swept
}

// identify takes a second look at each open port of a sweep, so the report
// says what answered there, not only that something did: the ports a
// connect of the first pass found open (single tasks idx), and those a
// half-open sweep found. The looks are one phase of the run, within its
// concurrency limit, and each waits for its target's rate like any other
// connect.
func (r *run) identify(idx []int) {
	looks := r.looks(idx)
	found := make([]*probes.Observation, len(looks))
	var g errgroup.Group
	g.SetLimit(r.limit)
	for j, l := range looks {
		if r.ctx.Err() != nil {
			break
		}
		t := r.p.Tasks[l.task]
		g.Go(func() error {
			if r.limiters.wait(r.ctx, l.target.Host) != nil {
				return nil
			}
			ictx, cancel := context.WithTimeout(r.ctx, t.Params.Timeout+kinds.IdentifyWait)
			defer cancel()
			if obs := kinds.Lookup(t.Kind).Identify(ictx, l.target, t.Params); obs.State == probes.Open {
				obs.Attempts += l.attempts
				found[j] = &obs // one goroutine per look
			}
			return nil
		})
	}
	_ = g.Wait()
	for j, l := range looks {
		switch {
		case found[j] == nil:
		case l.sw != nil:
			if l.sw.identified == nil {
				l.sw.identified = map[int]probes.Observation{}
			}
			l.sw.identified[l.target.Port] = *found[j]
		default:
			r.res.Observations[l.task] = *found[j]
		}
	}
}

// looks lists the second looks to take: at each single task of idx that
// asks for one and was found open, and at each open port of a half-open
// sweep task, with that task's own kind and options.
func (r *run) looks(idx []int) []look {
	var out []look
	wants := func(i int) bool {
		t := r.p.Tasks[i]
		k := kinds.Lookup(t.Kind)
		return t.Identify && k != nil && k.Identify != nil && r.res.Ran[i]
	}
	for _, i := range idx {
		if wants(i) && r.res.Observations[i].State == probes.Open {
			out = append(out, look{task: i, target: r.p.Tasks[i].Target, attempts: r.res.Observations[i].Attempts})
		}
	}
	// The half-open sweeps are over; the UDP sweeps (never looked at)
	// may still be adding theirs.
	r.mu.Lock()
	var tasks []int
	for i := range r.res.Swept {
		if r.p.Tasks[i].HalfOpen() && wants(i) {
			tasks = append(tasks, i)
		}
	}
	swept := make([]*Swept, len(tasks))
	slices.Sort(tasks)
	for j, i := range tasks {
		swept[j] = r.res.Swept[i]
	}
	r.mu.Unlock()
	for j, i := range tasks {
		sw := swept[j]
		open := sw.scan.Open()
		if len(open) == 0 {
			continue
		}
		for _, port := range r.whole[i] { // the task's own ports, of those the scan found open
			if _, ok := slices.BinarySearch(open, port); ok {
				target := r.p.Tasks[i].Target
				target.Port = port
				out = append(out, look{task: i, target: target, attempts: sw.scan.Observation(port).Attempts, sw: sw})
			}
		}
	}
	return out
}
