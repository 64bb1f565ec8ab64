// Package engine sends a plan's probes: concurrently, within a limit on
// probes in flight and a rate per target, under one deadline for the whole
// run. It owns time and concurrency; each probe owns only its protocol.
package engine

import (
	"context"
	"fmt"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
	"golang.org/x/time/rate"

	"probe/internal/kinds"
	"probe/internal/plan"
	"probe/probes"
)

// Engine runs plans.
type Engine struct {
	// Concurrency is the most probes in flight at once.
	Concurrency int
	// RatePerTarget is the most new probes per second to one address.
	RatePerTarget float64
	// Progress, when set, is called after each task with the count done.
	Progress func(done, total int)
}

// Results are what a run observed.
type Results struct {
	// Observations has one entry per plan task, by index. A task that never
	// ran has an observation with Error probes.ErrCanceled and zero Started.
	Observations []probes.Observation
	// Ran marks the tasks that completed.
	Ran []bool
	// Recheck holds, per target name, a TCP connect made after every other
	// probe to a port that had answered: proof the target was still alive
	// at the end of the run. Absent for targets that never answered.
	Recheck map[string]Recheck
	// Interrupted says the run was stopped (deadline or signal) before all
	// tasks completed.
	Interrupted bool
}

// Recheck is the closing connect to one port of a target.
type Recheck struct {
	Port int
	Obs  probes.Observation
}

// Run sends every task of p. It returns when all tasks are done or ctx ends;
// tasks not completed by then are marked as not run.
func (e *Engine) Run(ctx context.Context, p *plan.Plan) *Results {
	res := &Results{
		Observations: make([]probes.Observation, len(p.Tasks)),
		Ran:          make([]bool, len(p.Tasks)),
	}
	for i := range res.Observations {
		res.Observations[i] = probes.Observation{Error: probes.ErrCanceled, Outcome: "not run: the run ended first"}
	}
	limiters := newLimiters(e.RatePerTarget)
	var mu sync.Mutex
	done := 0
	finish := func(idx []int, obs []probes.Observation) {
		mu.Lock()
		defer mu.Unlock()
		for j, i := range idx {
			if obs[j].Error == probes.ErrCanceled && ctx.Err() != nil {
				res.Observations[i].Outcome = "not run: the run ended first"
				continue
			}
			res.Observations[i], res.Ran[i] = obs[j], true
		}
		done += len(idx)
		if e.Progress != nil {
			e.Progress(done, len(p.Tasks))
		}
	}

	g, gctx := errgroup.WithContext(ctx)
	limit := e.Concurrency
	if limit <= 0 {
		limit = 1
	}
	g.SetLimit(limit)
	groups := map[string][]int{}
	var order []string
	for i, t := range p.Tasks {
		if t.Group != "" && kinds.Lookup(t.Kind).RunPorts != nil {
			if _, ok := groups[t.Group]; !ok {
				order = append(order, t.Group)
			}
			groups[t.Group] = append(groups[t.Group], i)
			continue
		}
		if gctx.Err() != nil {
			break
		}
		g.Go(func() error {
			if err := limiters.wait(gctx, t.Target.Host); err != nil {
				return nil
			}
			obs := runOne(gctx, t)
			finish([]int{i}, []probes.Observation{obs})
			return nil
		})
	}
	// Grouped tasks pace themselves; they run beside the rest, outside the
	// concurrency limit, so a slow range never holds the run hostage.
	var paced sync.WaitGroup
	for _, name := range order {
		idx := groups[name]
		paced.Add(1)
		go func() {
			defer paced.Done()
			first := p.Tasks[idx[0]]
			targets := make([]probes.Target, len(idx))
			for j, i := range idx {
				targets[j] = p.Tasks[i].Target
			}
			obs := kinds.Lookup(first.Kind).RunPorts(ctx, targets, first.Params)
			finish(idx, obs)
		}()
	}
	_ = g.Wait()
	paced.Wait()
	res.Interrupted = ctx.Err() != nil || !all(res.Ran)
	if !res.Interrupted {
		res.Recheck = recheck(ctx, p, res)
	}
	return res
}

func runOne(ctx context.Context, t plan.Task) probes.Observation {
	kind := kinds.Lookup(t.Kind)
	if !kind.Implemented() {
		return probes.Observation{
			Error: probes.ErrInternal, Outcome: "probe kind " + t.Kind + " is not implemented yet",
			Started: time.Now(),
		}
	}
	if kind.Run == nil {
		return kind.RunPorts(ctx, []probes.Target{t.Target}, t.Params)[0]
	}
	pctx, cancel := context.WithTimeout(ctx, t.Params.Timeout)
	defer cancel()
	obs := kind.Run(pctx, t.Target, t.Params)
	if ctx.Err() != nil && obs.State == probes.Filtered {
		// The run ended, not the probe's own timeout: silence here says
		// nothing about the port.
		obs = probes.Observation{Error: probes.ErrCanceled, Outcome: "not run: the run ended first", Started: obs.Started}
	}
	return obs
}

// recheck connects once more, after everything else, to one port of each
// target that answered over TCP, so the judge knows whether a target that
// went silent part-way (a ban, a crash) was still alive at the end.
func recheck(ctx context.Context, p *plan.Plan, res *Results) map[string]Recheck {
	chosen := map[string]probes.Target{}
	for i, t := range p.Tasks {
		o := res.Observations[i]
		if o.State == probes.Open && t.Target.Transport == "tcp" {
			if _, ok := chosen[t.Target.Name]; !ok {
				chosen[t.Target.Name] = t.Target
			}
		}
	}
	out := map[string]Recheck{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for name, target := range chosen {
		wg.Add(1)
		go func() {
			defer wg.Done()
			timeout := 3 * time.Second
			for _, t := range p.Tasks {
				if t.Target == target {
					timeout = t.Params.Timeout
					break
				}
			}
			// Up to three connects: one lost SYN or SYN-ACK on a lossy
			// path must not be read as the target having stopped
			// answering. A refusal or an answer ends the re-check at once.
			var obs probes.Observation
			for attempt := 1; attempt <= recheckAttempts; attempt++ {
				cctx, cancel := context.WithTimeout(ctx, timeout)
				obs = kinds.Lookup("tcp").Run(cctx, target, kinds.Params{Timeout: timeout})
				cancel()
				if obs.State != probes.Filtered || ctx.Err() != nil {
					break
				}
				if attempt == recheckAttempts {
					obs.Outcome = fmt.Sprintf("%s, %d connects", obs.Outcome, recheckAttempts)
				}
			}
			mu.Lock()
			out[name] = Recheck{Port: target.Port, Obs: obs}
			mu.Unlock()
		}()
	}
	wg.Wait()
	return out
}

// recheckAttempts is how many connects the closing re-check makes to a
// silent port before calling the target silent.
const recheckAttempts = 3

func all(bs []bool) bool {
	for _, b := range bs {
		if !b {
			return false
		}
	}
	return true
}

type limiters struct {
	rate float64
	mu   sync.Mutex
	by   map[string]*rate.Limiter
}

func newLimiters(r float64) *limiters { return &limiters{rate: r, by: map[string]*rate.Limiter{}} }

func (l *limiters) wait(ctx context.Context, host string) error {
	if l.rate <= 0 {
		return nil
	}
	l.mu.Lock()
	lim, ok := l.by[host]
	if !ok {
		burst := int(l.rate)
		if burst < 1 {
			burst = 1
		}
		lim = rate.NewLimiter(rate.Limit(l.rate), burst)
		l.by[host] = lim
	}
	l.mu.Unlock()
	return lim.Wait(ctx)
}
