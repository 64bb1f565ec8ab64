package engine

import (
	"context"
	"fmt"
	"time"

	"golang.org/x/sync/errgroup"

	"probe/internal/kinds"
	"probe/internal/plan"
	"probe/probes"
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

// firstPass runs the single tasks idx once each, releasing each UDP task's
// gate as it ends.
func (r *run) firstPass(idx []int, gates *udpGates) { r.pass(idx, first, gates) }

// reprobeShortSilences asks again the ports whose silence was heard under a
// shortened timeout: a silence counts only once heard twice. Once more with
// the full timeout when that costs about one timeout (every re-probe fits
// in one wave, within the rate limit), else once more with the adaptive
// one, as nmap retransmits a probe.
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

// pass runs the tasks idx, within the concurrency limit and the rate and
// ICMP limits per target. A re-probe's observation is merged with the
// attempts before it.
func (r *run) pass(idx []int, pass attempt, gates ...*udpGates) {
	g, gctx := errgroup.WithContext(r.ctx)
	g.SetLimit(r.limit)
	release := func(int, probes.Observation) {}
	if len(gates) > 0 {
		release = gates[0].release
	}
	launched := 0
	for _, i := range idx {
		if gctx.Err() != nil {
			break
		}
		launched++
		t := r.p.Tasks[i]
		g.Go(func() error {
			var obs probes.Observation
			defer func() { release(i, obs) }()
			if err := r.limiters.wait(gctx, t.Target.Host); err != nil {
				return nil
			}
			if t.Target.Transport == "udp" {
				if err := r.icmp.wait(gctx, t.Target.Host); err != nil {
					return nil
				}
			}
			var s silence
			obs, s = r.e.runOne(gctx, t, r.rtts.get(t.Target.Host), r.floor, pass)
			if s != 0 {
				r.silences[i] = append(r.silences[i], s) // one goroutine per index
			} else {
				r.silences[i] = nil
			}
			if pass != first {
				obs = merge(r.res.Observations[i], obs)
			}
			if text := silenceOutcome(r.silences[i]); text != "" && heardNothing(obs) {
				obs.Outcome, obs.Detail = text, ""
			}
			r.finish([]int{i}, []probes.Observation{obs})
			return nil
		})
	}
	for _, i := range idx[launched:] {
		release(i, probes.Observation{})
	}
	_ = g.Wait()
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
	if obs.RTT > 0 && t.Target.Transport == "tcp" {
		est.sample(obs.RTT, floor, t.Params.Timeout)
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
	return ratePerTarget <= 0 || time.Duration(float64(n)/ratePerTarget*float64(time.Second)) <= timeout
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
