package engine

import (
	"context"
	"fmt"
	"time"

	"golang.org/x/sync/errgroup"

	"probe/internal/kinds"
	"probe/internal/plan"
	"probe/probes"
	"probe/probes/udp"
)

// attempt is which pass over the tasks a probe belongs to.
type attempt int

const (
	first         attempt = iota
	againAdaptive         // re-probe of a silence, with the adaptive timeout
	againFull             // re-probe of a silence, with the full timeout
)

// silence is how long a one-round-trip attempt that heard nothing waited.
type silence int

const (
	silentShort silence = iota + 1 // under a shortened (adaptive) timeout
	silentFull                     // under the task's full timeout
)

// Outcomes of silences heard under adaptive timeouts.
const (
	outcomeAdaptiveSilence = "no answer within the adaptive timeout"
	outcomeTwiceSilent     = "no answer to two attempts: the adaptive timeout, then the full one"
	outcomeTwiceAdaptive   = "no answer to two attempts, each waiting the adaptive timeout"
)

// silenceOutcome words what a task's silent attempts waited; "" leaves the
// probe's own words (one silence under the full timeout says it best).
func silenceOutcome(ss []silence) string {
	short := 0
	for _, s := range ss {
		if s == silentShort {
			short++
		}
	}
	switch {
	case len(ss) == 1 && short == 1:
		return outcomeAdaptiveSilence
	case len(ss) == 2 && short == 2:
		return outcomeTwiceAdaptive
	case len(ss) == 2 && ss[0] == silentShort:
		return outcomeTwiceSilent
	case len(ss) == 2:
		return "no answer to two attempts, each waiting the full timeout"
	case len(ss) > 2:
		return fmt.Sprintf("no answer to %d attempts: %d with the adaptive timeout, %d with the full one", len(ss), short, len(ss)-short)
	}
	return ""
}

// heardNothing reports whether obs is a silence: no answer, no ICMP error,
// no failure of the prober.
func heardNothing(obs probes.Observation) bool {
	return obs.State == probes.Filtered && obs.Error == "" && !obs.ICMPError
}

// firstPass runs the single tasks idx once each.
func (r *run) firstPass(idx []int) { r.pass(idx, first) }

// reprobeShortSilences asks again the ports whose silence was heard under a
// shortened timeout and not yet asked again (the run has more such tasks
// than cheapAgain allows): a silence counts only once heard twice. Once
// more with the full timeout when that costs about one timeout, else once
// more with the adaptive one, as nmap retransmits a probe.
func (r *run) reprobeShortSilences(single []int) {
	var idx []int
	var longest time.Duration
	for _, i := range single {
		if r.res.Ran[i] && len(r.silences[i]) == 1 && r.silences[i][0] == silentShort {
			idx = append(idx, i)
			longest = max(longest, r.p.Tasks[i].Params.Timeout)
		}
	}
	if len(idx) == 0 || r.ctx.Err() != nil {
		return
	}
	pass := againAdaptive
	if cheapReprobe(len(idx), r.limit, r.e.RatePerTarget, longest) {
		pass = againFull
	}
	r.again(len(idx))
	r.pass(interleave(r.p, idx), pass)
}

// cheapAgain says whether re-probing, with the full timeout, every single
// task that could be silent under a shortened timeout costs about one
// timeout (cheapReprobe): then each is asked again as soon as it is heard
// silent.
func cheapAgain(p *plan.Plan, single []int, limit int, ratePerTarget float64) bool {
	n := 0
	var longest time.Duration
	for _, i := range single {
		t := p.Tasks[i]
		if k := kinds.Lookup(t.Kind); k != nil && k.OneRoundTrip != nil && k.OneRoundTrip(t.Params) {
			n++
			longest = max(longest, t.Params.Timeout)
		}
	}
	return cheapReprobe(n, limit, ratePerTarget, longest)
}

// reprobeOwed asks once more, with the full timeout, a port whose silence
// would fail the check: a lost SYN, SIP request or TLS record on a lossy
// path must not decide that. A silence that only confirms a closed door
// costs nothing extra.
func (r *run) reprobeOwed(single []int) {
	var idx []int
	for _, i := range single {
		if r.res.Ran[i] && r.p.Tasks[i].AnswerOwed && unanswered(r.res.Observations[i]) {
			idx = append(idx, i)
		}
	}
	if len(idx) == 0 || r.ctx.Err() != nil {
		return
	}
	r.again(len(idx))
	r.pass(interleave(r.p, idx), againFull)
}

// pass runs the tasks idx, within the concurrency limit, the rate limit
// per target, and (for UDP) the target's ICMP budget. A re-probe's
// observation is merged with the attempts before it. On the first pass, a
// silence heard under a shortened timeout is asked again at once, with
// the full timeout, when every such re-probe of the run is cheap
// (r.cheapAgain): it then costs no wait for the rest of the pass.
func (r *run) pass(idx []int, pass attempt) {
	g, gctx := errgroup.WithContext(r.ctx)
	g.SetLimit(r.limit)
	for _, i := range idx {
		// After the run's end each task still comes here, and returns at
		// once: a re-probe must be marked not run (attempt, cutOff).
		g.Go(func() error {
			obs, s, ok := r.attempt(gctx, i, pass)
			if !ok {
				if pass != first {
					r.cutOff([]int{i})
				}
				return nil
			}
			r.record(i, s) // one goroutine per index
			if pass != first {
				obs = merge(r.res.Observations[i], obs)
			} else if s == silentShort && r.cheapAgain {
				again, s2, ok := r.attempt(gctx, i, againFull)
				if !ok {
					again = notAskedAgain
				}
				r.record(i, s2)
				obs = merge(obs, again)
			}
			if text := silenceOutcome(r.silences[i]); text != "" && heardNothing(obs) {
				obs.Outcome, obs.Detail = text, ""
			}
			r.finish([]int{i}, []probes.Observation{obs})
			return nil
		})
	}
	_ = g.Wait()
}

// notAskedAgain is a re-probe that could not start before the deadline
// (the run ended, or the rate per target left no token in time).
var notAskedAgain = probes.Observation{Error: probes.ErrCanceled, Outcome: "not asked again: the deadline came first"}

// cutOff ends the re-probes of idx that could not start: each task is not
// run (finish), never a silence heard once deciding its row.
func (r *run) cutOff(idx []int) {
	obs := make([]probes.Observation, len(idx))
	for j, i := range idx {
		obs[j] = merge(r.res.Observations[i], notAskedAgain)
	}
	r.finish(idx, obs)
}

// attempt probes task i once, within the rate limit and (for UDP) its
// target's ICMP budget; ok is false when ctx ended before it could start.
func (r *run) attempt(ctx context.Context, i int, pass attempt) (obs probes.Observation, s silence, ok bool) {
	t := r.p.Tasks[i]
	if ctx.Err() != nil {
		return obs, 0, false
	}
	if err := r.limiters.wait(ctx, t.Target.Host); err != nil {
		return obs, 0, false
	}
	var ticket *udp.Ticket
	k := kinds.Lookup(t.Kind)
	sweeping := t.Target.Transport == "udp" && k != nil && k.Sweeps
	if t.Target.Transport == "udp" && !sweeping {
		var err error
		if ticket, err = r.budgets.get(t.Target.Host).Take(ctx, udp.ClaimExchange); err != nil {
			return obs, 0, false
		}
	}
	est := r.rtts.get(t.Target.Host)
	obs, s = r.e.runOne(ctx, t, est, r.floor, pass)
	switch {
	case ticket != nil && obs.ICMPError:
		ticket.Refused()
	case ticket != nil && heardNothing(obs) || ticket != nil && obs.State == probes.OpenFiltered:
		ticket.Silent()
	case ticket != nil:
		ticket.Done()
	case sweeping && obs.ICMPError:
		// A sweep's send waits for no token (65535 ports at one refusal
		// a second would take 18 hours), but the target paid one for
		// the error: the other UDP probes of the target must know.
		r.budgets.get(t.Target.Host).Spend()
	case obs.RTT > 0 && t.Target.Transport == "tcp":
		// The target's round trip, for its UDP sends' answer windows.
		r.budgets.get(t.Target.Host).Hint(est.timeout(r.floor, t.Params.Timeout))
	}
	return obs, s, true
}

// record notes what task i's latest attempt heard: a silence is added to
// those before it, an answer clears them.
func (r *run) record(i int, s silence) {
	if s != 0 {
		r.silences[i] = append(r.silences[i], s)
	} else {
		r.silences[i] = nil
	}
}

// runOne probes one task. A task whose timeout bounds one round trip gets
// an adaptive timeout from est, and feeds est with what it measured.
// pass says whether this is the first attempt or the re-probe of a port
// silent under a shortened timeout, and how long the re-probe waits. For a
// one-round-trip task that heard nothing, it also says how long it waited.
func (e *Engine) runOne(ctx context.Context, t plan.Task, est *estimator, floor time.Duration, pass attempt) (probes.Observation, silence) {
	kind := kinds.Lookup(t.Kind)
	if !kind.Implemented() {
		return probes.Observation{
			Error: probes.ErrInternal, Outcome: "probe kind " + t.Kind + " is not implemented yet",
			Started: time.Now(),
		}, 0
	}
	if kind.Run == nil {
		return kind.RunPorts(ctx, []probes.Target{t.Target}, t.Params)[0], 0
	}
	oneTrip := kind.OneRoundTrip != nil && kind.OneRoundTrip(t.Params)
	var pctx context.Context
	var actx *adaptiveCtx
	if oneTrip && pass != againFull {
		actx = est.start(ctx, floor, t.Params.Timeout)
		defer est.finish(actx)
		pctx = actx
	} else {
		timeout := t.Params.Timeout
		if kind.Exchanges != nil {
			timeout *= time.Duration(max(1, kind.Exchanges(t.Params)))
		}
		c, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		pctx = c
	}
	obs := kind.Run(pctx, t.Target, t.Params)
	if t.Target.Transport == "tcp" {
		est.sample(obs.RTT, floor, t.Params.Timeout) // a silence (no RTT) is no sample
	}
	if ctx.Err() != nil && obs.State == probes.Filtered {
		// The run ended, not the probe's own timeout: silence here says
		// nothing about the port.
		return probes.Observation{Error: probes.ErrCanceled, Outcome: notRun, Started: obs.Started}, 0
	}
	if !oneTrip || !heardNothing(obs) {
		return obs, 0
	}
	if actx != nil {
		if _, short := actx.timeout(); short {
			return obs, silentShort
		}
	}
	return obs, silentFull
}

// cheapReprobe says whether n re-probes with the full timeout cost about
// one timeout: they all fit in flight at once and the rate limit lets them
// start within it.
func cheapReprobe(n, limit int, ratePerTarget float64, timeout time.Duration) bool {
	if n > limit {
		return false
	}
	// n starts at ratePerTarget a second take n/ratePerTarget seconds.
	return ratePerTarget <= 0 || float64(n) <= ratePerTarget*timeout.Seconds()
}

// interleave orders task indexes round-robin across target addresses, so
// that with a rate limit per target, two long sweeps run side by side
// instead of one after the other.
func interleave(p *plan.Plan, idx []int) []int {
	byHost := map[string][]int{}
	var hosts []string
	for _, i := range idx {
		h := p.Tasks[i].Target.Host
		if _, ok := byHost[h]; !ok {
			hosts = append(hosts, h)
		}
		byHost[h] = append(byHost[h], i)
	}
	if len(hosts) < 2 {
		return idx
	}
	out := make([]int, 0, len(idx))
	for len(out) < len(idx) {
		for _, h := range hosts {
			if q := byHost[h]; len(q) > 0 {
				out = append(out, q[0])
				byHost[h] = q[1:]
			}
		}
	}
	return out
}

// unanswered reports whether an observation heard nothing from the service
// where an answer was owed: silence, or a connection that went quiet
// before the protocol answered.
func unanswered(o probes.Observation) bool {
	switch {
	case o.SilenceDoubt != "":
		return false
	case o.Error == "" && (o.State == probes.Filtered || o.State == probes.OpenFiltered):
		return true
	}
	return o.State == probes.Open && o.Error == probes.ErrProtocol
}

// merge joins a re-probe to the attempts before it: an answer (or a
// failure) the second time stands; a second silence is the re-probe's, with
// the attempts added up (its words are the caller's, from the silences).
func merge(before, again probes.Observation) probes.Observation {
	again.Attempts += before.Attempts
	return again
}
