package engine

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"

	"probe/internal/kinds"
	"probe/internal/plan"
	"probe/probes"
)

// recheck connects once more, after everything else, to one port of each
// target that answered over TCP, so the judge knows whether a target that
// went silent part-way (a ban, a crash) was still alive at the end. Each
// connect takes its token from the target's limiter (wait), as every
// other probe of the run does.
func recheck(ctx context.Context, p *plan.Plan, res *Results, wait func(context.Context, string) error) map[string]Recheck {
	// A TCP port that answered is re-checked with a bare connect; a target
	// that answered only over UDP (SIP) is asked again by the same probe,
	// so that a ban on it shows too. Paced range tasks (RTP) and the UDP
	// sweeps are never repeated: one packet per port.
	chosen := map[string]plan.Task{}
	for i, t := range p.Tasks {
		if res.Observations[i].State != probes.Open {
			continue
		}
		prev, ok := chosen[t.Target.Name]
		switch {
		case t.Target.Transport == "tcp" && (!ok || prev.Target.Transport != "tcp"):
			chosen[t.Target.Name] = t
		case !ok && t.Group == "" && kinds.Lookup(t.Kind).Run != nil:
			chosen[t.Target.Name] = t
		}
	}
	// A target whose only open TCP port a half-open sweep found (nothing
	// declared open, or the declared ports silent) is re-checked there.
	swept := slices.Sorted(maps.Keys(res.Swept))
	for _, i := range swept {
		t := p.Tasks[i]
		if prev, ok := chosen[t.Target.Name]; !t.HalfOpen() || ok && prev.Target.Transport == "tcp" {
			continue
		}
		if open := res.Swept[i].scan.Open(); len(open) > 0 {
			t.Target.Port = open[0]
			chosen[t.Target.Name] = t
		}
	}
	out := map[string]Recheck{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for name, task := range chosen {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// The port's own timeout bounds each connect (the config
			// always gives one).
			target, timeout := task.Target, task.Params.Timeout
			kind, params := kinds.Connect(), kinds.Params{Timeout: timeout}
			if target.Transport != "tcp" {
				kind, params = kinds.Lookup(task.Kind), task.Params
			}
			// Up to three connects: one lost SYN or SYN-ACK on a lossy
			// path must not be read as the target having stopped
			// answering. A refusal or an answer ends the re-check at once.
			var obs probes.Observation
			for attempt := 1; attempt <= recheckAttempts; attempt++ {
				if err := wait(ctx, target.Host); err != nil {
					// No token before the deadline: not re-checked,
					// which the judge reads as a target that may have
					// stopped answering, never as one still alive.
					obs = probes.Observation{Error: probes.ErrCanceled, Outcome: "not re-checked: the rate per target left no time before the deadline"}
					break
				}
				cctx, cancel := context.WithTimeout(ctx, timeout)
				obs = kind.Run(cctx, target, params)
				cancel()
				if obs.State != probes.Filtered || ctx.Err() != nil {
					break
				}
				if attempt == recheckAttempts {
					obs.Outcome = fmt.Sprintf("%s, %d connects", obs.Outcome, recheckAttempts)
				}
			}
			mu.Lock()
			out[name] = Recheck{Port: target.Port, Transport: target.Transport, Obs: obs}
			mu.Unlock()
		}()
	}
	wg.Wait()
	return out
}

// recheckAttempts is how many connects the closing re-check makes to a
// silent port before calling the target silent.
const recheckAttempts = 3
