package engine

import (
	"context"

	"golang.org/x/sync/errgroup"

	"probe/internal/kinds"
	"probe/probes"
)

// identify takes a second look at each open port of a sweep, so the report
// says what answered there, not only that something did.
func (r *run) identify(idx []int) {
	var g errgroup.Group
	g.SetLimit(r.limit)
	for _, i := range idx {
		t := r.p.Tasks[i]
		kind := kinds.Lookup(t.Kind)
		if !t.Identify || kind.Identify == nil || !r.res.Ran[i] || r.res.Observations[i].State != probes.Open || r.ctx.Err() != nil {
			continue
		}
		g.Go(func() error {
			ictx, cancel := context.WithTimeout(r.ctx, t.Params.Timeout+kinds.IdentifyWait)
			defer cancel()
			if obs := kind.Identify(ictx, t.Target, t.Params); obs.State == probes.Open {
				obs.Attempts += r.res.Observations[i].Attempts
				r.res.Observations[i] = obs // one goroutine per index: no race
			}
			return nil
		})
	}
	_ = g.Wait()
}
