package runner

import (
	"fmt"
	"strings"
	"time"

	"probe/internal/engine"
	"probe/internal/judge"
	"probe/internal/kinds"
	"probe/internal/plan"
	"probe/internal/report"
	"probe/probes"
)

// assembleSweep judges a check of every port of a range into r, keeping
// the evidence of the ports that answered (open or closed) or did not
// conform, and counting the silent rest, so a 65535-port report stays a
// few kilobytes when all is well and names every port that answered. It reports whether some port was not probed.
func assembleSweep(r *report.Result, c plan.Row, p *plan.Plan, res *engine.Results, ev judge.Evidence) (notRun bool) {
	kind := kinds.Lookup(c.Expectation.Probe)
	sw := &report.Sweep{Excluded: c.Excluded, States: map[string]int{}}
	var tally judge.Tally
	r.Ports = []int{}
	for _, pt := range c.Ports {
		t := p.Tasks[pt.Task]
		o := res.Observations[pt.Task]
		pc := judge.PortCase{Target: c.Expectation.Target, Port: pt.Port, Expected: c.Expected, Obs: o}
		if o.State == probes.Open && kind.Assert != nil {
			pc.Assertions = kind.Assert(o, t.Params)
		}
		pv := judge.Port(pc, ev, c.NothingOpen)
		tally.Add(pt.Port, pv)
		sw.Probed++
		sw.States[stateWord(o)]++
		if !res.Ran[pt.Task] {
			notRun = true
		}
		if o.Attempts > 1 && o.State == probes.Filtered {
			sw.Reprobed++
		}
		if d := o.Duration.Milliseconds(); d > r.DurationMS {
			r.DurationMS = d
		}
		if pv.Verdict == judge.Pass {
			sw.Conforming++
			if !o.Answered() {
				continue // a silence that conforms: counted, not listed
			}
			// A refusal that conforms (not_open) is still a finding: the
			// firewall lets packets to that port through. Answers are few.
		}
		if pv.Verdict == judge.Fail && strings.HasPrefix(pv.Reason, "CRITICAL") {
			r.Critical = true
		}
		r.Ports = append(r.Ports, pt.Port)
		r.Evidence = append(r.Evidence, report.PortEvidence{
			Port: pt.Port, Verdict: string(pv.Verdict), Reason: pv.Reason, Observation: o, Checks: pc.Assertions,
		})
	}
	if len(c.Ports) > 0 {
		sw.Timeouts = timeouts(c, p, res)
	}
	v := tally.Verdict(c.Differs, ev)
	r.Verdict, r.Reason = string(v.Verdict), v.Reason
	r.Observed = summarise(sw.States)
	r.Sweep = sw
	return notRun
}

// timeouts says how long the sweep's silent ports were waited for.
func timeouts(c plan.Row, p *plan.Plan, res *engine.Results) string {
	t := p.Tasks[c.Ports[0].Task]
	full := t.Params.Timeout
	rtt, ok := res.RTT[t.Target.Host]
	if !ok {
		return fmt.Sprintf("every silent port waited the full %s: no answer from %s measured its round-trip time", full, t.Target.Host)
	}
	return fmt.Sprintf("silent ports waited %s (RFC 6298 from %d answers, SRTT %s; floor %s, ceiling %s), and a port silent under it was probed once more",
		min(rtt.Timeout, full).Round(time.Millisecond), rtt.Samples, rtt.SRTT.Round(time.Microsecond), engine.DefaultMinTimeout, full)
}
