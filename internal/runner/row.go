package runner

import (
	"fmt"
	"time"

	"probe/internal/engine"
	"probe/internal/judge"
	"probe/internal/kinds"
	"probe/internal/plan"
	"probe/internal/report"
	"probe/probes"
)

// assembleRow judges one row of the table into r, port by port, the same
// way for listed ports, a sampled range and a sweep. What it keeps differs
// by size: a row of listed or sampled ports keeps every port's evidence;
// a sweep (every port of a range) keeps the evidence of the ports that
// answered (open or closed) or did not conform, counts the silent rest in
// r.Sweep, and tallies the verdict as the ports come, so a 65535-port
// report stays a few kilobytes when all is well and names every port that
// answered. It reports whether some port was not probed.
func assembleRow(r *report.Result, c plan.Row, p *plan.Plan, res *engine.Results, ev judge.Evidence, method sweepMethod) (notRun bool) {
	kind := kinds.Lookup(c.Expectation.Probe)
	var acc judge.Accumulator = &judge.Listed{}
	states := map[string]int{}
	var sw *report.Sweep
	if c.Sweep {
		sw = &report.Sweep{Excluded: c.Excluded, States: states, Sent: kind.SweepSends, Silence: kind.SweepSilence}
		sw.Method, sw.MethodReason = method.method(c, p)
		acc = &judge.Tally{}
		r.Ports = []int{}
	}
	for _, pt := range c.Ports {
		o := res.PortObservation(pt.Task, pt.Port)
		pc := judge.PortCase{Target: c.Path(), IPv6: overIPv6(c.Address, c.Family), Port: pt.Port, Control: pt.Control, Expected: c.Word(pt), Obs: o}
		if o.State == probes.Open && kind.Assert != nil && !pt.Control {
			pc.Assertions = kind.Assert(o, p.Tasks[pt.Task].Params)
		}
		pv := judge.Port(pc, ev, c.NothingOpen)
		acc.Add(pt.Port, pv)
		if !res.Ran[pt.Task] || o.Error == probes.ErrCanceled {
			notRun = true
		}
		if !pt.Control {
			states[stateWord(o)]++
		}
		if d := o.Duration.Milliseconds(); d > r.DurationMS {
			r.DurationMS = d
		}
		if sw != nil {
			sw.Probed++
			if o.Attempts > 1 && o.State == probes.Filtered {
				sw.Reprobed++
			}
			if pv.Verdict == judge.Pass {
				sw.Conforming++
				if !o.Answered() {
					continue // a silence that conforms: counted, not listed
				}
				// A refusal that conforms (not_open) is still a finding:
				// the firewall lets packets to that port through.
			}
		}
		if !pt.Control {
			r.Ports = append(r.Ports, pt.Port)
		}
		r.Critical = r.Critical || pv.Critical
		r.Evidence = append(r.Evidence, report.PortEvidence{
			Port: pt.Port, Control: pt.Control, Verdict: string(pv.Verdict), Reason: pv.Reason,
			Observation: o, Checks: pc.Assertions,
		})
	}
	v := acc.Verdict(c.Differs, ev)
	r.Verdict, r.Reason = string(v.Verdict), v.Reason
	r.Observed = summarise(states)
	if sw != nil {
		switch {
		case len(c.Ports) > 0 && kind.SweepPorts != nil:
			// Its ports went together, from one socket: each was heard
			// from its send to the sweep's end.
			sw.Timeouts = fmt.Sprintf("every port was listened for from its send until %s after the last port's", p.Tasks[c.Ports[0].Task].Params.Timeout)
		case len(c.Ports) > 0:
			sw.Timeouts = timeouts(c, p, res, sw.Reprobed > 0)
		}
		r.Sweep = sw
	}
	return notRun
}

// timeouts says how long the sweep's silent ports were waited for.
func timeouts(c plan.Row, p *plan.Plan, res *engine.Results, reprobed bool) string {
	t := p.Tasks[c.Ports[0].Task]
	full := t.Params.Timeout
	rtt, ok := res.RTT[t.Target.Host]
	if !ok {
		return fmt.Sprintf("every silent port waited the full %s: no answer from %s measured its round-trip time", full, t.Target.Host)
	}
	again := ""
	if reprobed {
		again = ", and a port silent under it was probed once more"
	}
	return fmt.Sprintf("silent ports waited %s (RFC 6298 from %d answers, SRTT %s; floor %s, ceiling %s)%s",
		min(rtt.Timeout, full).Round(time.Millisecond), rtt.Samples, rtt.SRTT.Round(time.Microsecond), engine.DefaultMinTimeout, full, again)
}
