// Package engine sends a plan's probes: concurrently, within a limit on
// probes in flight and a rate per target, under one deadline for the whole
// run. It owns time and concurrency; each probe owns only its protocol.
package engine

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
	"golang.org/x/time/rate"

	"probe/internal/kinds"
	"probe/internal/plan"
	"probe/probes"
	"probe/probes/udp"
)

// Engine runs plans.
type Engine struct {
	// Concurrency is the most probes in flight at once.
	Concurrency int
	// RatePerTarget is the most new probes per second to one address.
	RatePerTarget float64
	// Progress, when set, is called after each task with the count done.
	Progress func(done, total int)
	// MinTimeout is the floor of adaptive timeouts; DefaultMinTimeout when
	// zero. The ceiling is each task's configured timeout.
	MinTimeout time.Duration
}

// Results are what a run observed.
type Results struct {
	// Observations has one entry per plan task, by index. A task that never
	// ran has an observation with Error probes.ErrCanceled and zero Started.
	Observations []probes.Observation
	// Ran marks the tasks that completed.
	Ran []bool
	// Recheck holds, per target name, a TCP connect (or, for a target that
	// answered only over UDP, the same probe again) made after every other
	// probe to a port that had answered: proof the target was still alive
	// at the end of the run. Absent for targets that never answered.
	Recheck map[string]Recheck
	// Interrupted says the run was stopped (deadline or signal) before all
	// tasks completed.
	Interrupted bool
	// Concurrency is the limit on probes in flight the run used: the
	// configured one, lowered to what the file descriptor limit allows.
	Concurrency int
	// RTT has, per target address, the round-trip estimate its adaptive
	// timeouts came from; absent for targets never measured.
	RTT map[string]RTT
	// Reprobed counts the silent ports probed a second time.
	Reprobed int
}

// RTT is a target's round-trip estimate at the end of the run.
type RTT struct {
	// SRTT is the smoothed round-trip time (RFC 6298).
	SRTT time.Duration
	// Samples is how many answers it was measured from.
	Samples int
	// Timeout is the adaptive timeout it gave.
	Timeout time.Duration
}

// Recheck is the closing connect to one port of a target.
type Recheck struct {
	Port int
	// Transport is the port's: tcp, or udp for a target that answered only
	// over UDP.
	Transport string
	Obs       probes.Observation
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
	icmp := icmpLimiters()
	rtts := &estimators{}
	floor := e.MinTimeout
	if floor <= 0 {
		floor = DefaultMinTimeout
	}
	var mu sync.Mutex
	done := 0
	finish := func(idx []int, obs []probes.Observation) {
		mu.Lock()
		defer mu.Unlock()
		for j, i := range idx {
			if obs[j].Error == probes.ErrCanceled {
				if ctx.Err() != nil {
					res.Observations[i].Outcome = "not run: the run ended first"
					continue
				}
				// Not run although the run goes on: a paced range that
				// kept its last ports back because their wait would not
				// fit before the deadline. Its own outcome says so, and
				// the task stays not run, so the report is partial.
				res.Observations[i] = obs[j]
				continue
			}
			res.Observations[i], res.Ran[i] = obs[j], true
		}
		done += len(idx)
		if e.Progress != nil {
			e.Progress(done, len(p.Tasks))
		}
	}

	// Grouped tasks pace themselves; they run beside the rest, outside the
	// concurrency limit, so a slow range never holds the run hostage and a
	// long sweep never delays them. A range waits only for its own
	// target's single UDP probes, which go first (udpGates).
	groups := map[string][]int{}
	var order []string
	var single []int
	for i, t := range p.Tasks {
		if t.Group != "" && kinds.Lookup(t.Kind).RunPorts != nil {
			if _, ok := groups[t.Group]; !ok {
				order = append(order, t.Group)
			}
			groups[t.Group] = append(groups[t.Group], i)
			continue
		}
		single = append(single, i)
	}
	gates := gateUDP(p, order, groups, single)
	var paced sync.WaitGroup
	for _, host := range gates.hosts {
		paced.Add(1)
		go func() {
			defer paced.Done()
			// A target's ranges go one after the other: each paces
			// itself against the target's whole ICMP bucket.
			for _, name := range order {
				idx := groups[name]
				first := p.Tasks[idx[0]]
				if first.Target.Host != host {
					continue
				}
				gates.await(ctx, host)
				targets := make([]probes.Target, len(idx))
				for j, i := range idx {
					targets[j] = p.Tasks[i].Target
				}
				obs := kinds.Lookup(first.Kind).RunPorts(ctx, targets, first.Params)
				gates.spent(host, obs)
				finish(idx, obs)
			}
		}()
	}

	limit := FDConcurrency(e.Concurrency)
	res.Concurrency = limit
	run := func(idx []int, pass attempt) {
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(limit)
		launched := 0
		for _, i := range idx {
			if gctx.Err() != nil {
				break
			}
			launched++
			t := p.Tasks[i]
			g.Go(func() error {
				var obs probes.Observation
				if pass == first {
					defer func() { gates.release(i, obs) }()
				}
				if err := limiters.wait(gctx, t.Target.Host); err != nil {
					return nil
				}
				if t.Target.Transport == "udp" {
					if err := icmp.wait(gctx, t.Target.Host); err != nil {
						return nil
					}
				}
				est := rtts.get(t.Target.Host)
				obs = e.runOne(gctx, t, est, floor, pass)
				if pass != first {
					obs = merge(res.Observations[i], obs)
				}
				finish([]int{i}, []probes.Observation{obs})
				return nil
			})
		}
		if pass == first {
			for _, i := range idx[launched:] {
				gates.release(i, probes.Observation{})
			}
		}
		_ = g.Wait()
	}
	run(gates.first(interleave(p, single)), first)
	// A silence heard under a shortened timeout is heard twice before it
	// counts: once more with the full timeout when that costs about one
	// timeout (every re-probe fits in one wave, within the rate limit), else
	// once more with the adaptive one, as nmap retransmits a probe.
	var again []int
	var longest time.Duration
	for _, i := range single {
		if res.Ran[i] && res.Observations[i].Outcome == outcomeAdaptiveSilence {
			again = append(again, i)
			longest = max(longest, p.Tasks[i].Params.Timeout)
		}
	}
	if len(again) > 0 && ctx.Err() == nil {
		res.Reprobed = len(again)
		pass := againAdaptive
		if cheapReprobe(len(again), limit, e.RatePerTarget, longest) {
			pass = againFull
		}
		mu.Lock()
		done -= len(again)
		mu.Unlock()
		run(interleave(p, again), pass)
	}
	// A silence where an answer is owed would fail the check: a lost SYN,
	// SIP request or TLS record on a lossy path must not decide that, so
	// such a port is asked once more with its full timeout. A silence that
	// only confirms a closed door costs nothing extra.
	var owed []int
	for _, i := range single {
		if res.Ran[i] && p.Tasks[i].AnswerOwed && unanswered(res.Observations[i]) {
			owed = append(owed, i)
		}
	}
	if len(owed) > 0 && ctx.Err() == nil {
		res.Reprobed += len(owed)
		mu.Lock()
		done -= len(owed)
		mu.Unlock()
		run(interleave(p, owed), againFull)
	}
	e.identify(ctx, p, res, single, limit)
	paced.Wait()
	doubtOtherICMP(p, res, groups, single)
	res.Interrupted = ctx.Err() != nil || !all(res.Ran)
	res.RTT = map[string]RTT{}
	for host, est := range rtts.by {
		if srtt, n := est.srttNow(); n > 0 {
			rto, _ := est.rto(floor, time.Hour)
			res.RTT[host] = RTT{SRTT: srtt, Samples: n, Timeout: rto}
		}
	}
	if !res.Interrupted {
		res.Recheck = recheck(ctx, p, res)
	}
	return res
}

// identify takes a second look at each open port of a sweep, so the report
// says what answered there, not only that something did.
func (e *Engine) identify(ctx context.Context, p *plan.Plan, res *Results, idx []int, limit int) {
	var g errgroup.Group
	g.SetLimit(limit)
	for _, i := range idx {
		t := p.Tasks[i]
		kind := kinds.Lookup(t.Kind)
		if !t.Identify || kind.Identify == nil || !res.Ran[i] || res.Observations[i].State != probes.Open || ctx.Err() != nil {
			continue
		}
		g.Go(func() error {
			ictx, cancel := context.WithTimeout(ctx, t.Params.Timeout+kinds.IdentifyWait)
			defer cancel()
			if obs := kind.Identify(ictx, t.Target, t.Params); obs.State == probes.Open {
				obs.Attempts += res.Observations[i].Attempts
				res.Observations[i] = obs // one goroutine per index: no race
			}
			return nil
		})
	}
	_ = g.Wait()
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

// Outcomes of a silence heard under an adaptive timeout.
const (
	outcomeAdaptiveSilence = "no answer within the adaptive timeout"
	outcomeTwiceSilent     = "no answer to two attempts: the adaptive timeout, then the full one"
	outcomeTwiceAdaptive   = "no answer to two attempts, each waiting the adaptive timeout"
)

// runOne probes one task. A task whose timeout bounds one round trip gets
// an adaptive timeout from est, and feeds est with what it measured.
// pass says whether this is the first attempt or the re-probe of a port
// silent under a shortened timeout, and how long the re-probe waits.
func (e *Engine) runOne(ctx context.Context, t plan.Task, est *estimator, floor time.Duration, pass attempt) probes.Observation {
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
	var pctx context.Context
	var actx *adaptiveCtx
	if kind.OneRoundTrip != nil && kind.OneRoundTrip(t.Params) && pass != againFull {
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
		return probes.Observation{Error: probes.ErrCanceled, Outcome: "not run: the run ended first", Started: obs.Started}
	}
	if actx != nil && obs.State == probes.Filtered && obs.Error == "" && obs.Outcome == timeoutOutcome {
		if _, short := actx.timeout(); short {
			obs.Outcome = outcomeAdaptiveSilence
			obs.Detail = ""
		}
	}
	return obs
}

// timeoutOutcome is what a probe that heard nothing before its deadline
// says (as opposed to an ICMP prohibited answer, also filtered).
var timeoutOutcome = probes.Classify(context.DeadlineExceeded).Outcome

// attempt is which pass over the tasks a probe belongs to.
type attempt int

const (
	first         attempt = iota
	againAdaptive         // re-probe of a silence, with the adaptive timeout
	againFull             // re-probe of a silence, with the full timeout
)

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

// merge joins a re-probe to the first silent attempt.
func merge(first, again probes.Observation) probes.Observation {
	if again.State != probes.Filtered || again.Error != "" {
		again.Attempts = first.Attempts + again.Attempts
		return again // it answered (or failed) the second time: that stands
	}
	out := again
	out.Attempts = first.Attempts + again.Attempts
	out.Detail = ""
	switch again.Outcome {
	case outcomeAdaptiveSilence:
		out.Outcome = outcomeTwiceAdaptive
	case timeoutOutcome:
		out.Outcome = outcomeTwiceSilent
	}
	return out
}

// recheck connects once more, after everything else, to one port of each
// target that answered over TCP, so the judge knows whether a target that
// went silent part-way (a ban, a crash) was still alive at the end.
func recheck(ctx context.Context, p *plan.Plan, res *Results) map[string]Recheck {
	// A TCP port that answered is re-checked with a bare connect; a target
	// that answered only over UDP (SIP) is asked again by the same probe,
	// so that a ban on it shows too. Paced range tasks (RTP) are never
	// repeated: one packet per port.
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
	out := map[string]Recheck{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for name, task := range chosen {
		wg.Add(1)
		go func() {
			defer wg.Done()
			target, timeout := task.Target, task.Params.Timeout
			if timeout <= 0 {
				timeout = 3 * time.Second
			}
			kind, params := kinds.Lookup("tcp"), kinds.Params{Timeout: timeout}
			if target.Transport != "tcp" {
				kind, params = kinds.Lookup(task.Kind), task.Params
			}
			// Up to three connects: one lost SYN or SYN-ACK on a lossy
			// path must not be read as the target having stopped
			// answering. A refusal or an answer ends the re-check at once.
			var obs probes.Observation
			for attempt := 1; attempt <= recheckAttempts; attempt++ {
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

func all(bs []bool) bool {
	for _, b := range bs {
		if !b {
			return false
		}
	}
	return true
}

type limiters struct {
	rate  float64
	burst int
	mu    sync.Mutex
	by    map[string]*rate.Limiter
}

func newLimiters(r float64) *limiters {
	return &limiters{rate: r, burst: max(1, int(r)), by: map[string]*rate.Limiter{}}
}

// icmpLimiters pace the start of a target's single UDP probes as the
// target's kernel paces the ICMP errors it sends this prober: a burst of
// udp.ICMPBurst, then one each udp.ICMPInterval. A closed port draws one
// error and its probe ends there, and a silent one draws none, so probes
// started at this pace do not empty the bucket themselves. What else draws
// on it meanwhile (a TCP probe answered with ICMP prohibited) makes their
// silence doubtful afterwards (doubtOtherICMP). Configs
// rarely give one host more than a few UDP ports besides its range; those
// that do trade a second per port beyond six for that.
func icmpLimiters() *limiters {
	return &limiters{rate: float64(time.Second) / float64(udp.ICMPInterval), burst: udp.ICMPBurst, by: map[string]*rate.Limiter{}}
}

func (l *limiters) wait(ctx context.Context, host string) error {
	if l.rate <= 0 {
		return nil
	}
	return l.get(host).Wait(ctx)
}

// get returns host's limiter, made on first use.
func (l *limiters) get(host string) *rate.Limiter {
	l.mu.Lock()
	defer l.mu.Unlock()
	lim, ok := l.by[host]
	if !ok {
		lim = rate.NewLimiter(rate.Limit(l.rate), l.burst)
		l.by[host] = lim
	}
	return lim
}

// udpGates keep a target's single UDP probes and its paced ranges apart,
// and a target's ranges apart from each other.
//
// The target's kernel pays for every ICMP error it sends this prober from
// one bucket (udp.ICMPBurst, one earned back each udp.ICMPInterval), and a
// range that paces itself against that bucket assumes it full. A SIP probe
// sent beside the range's burst could find it empty, and take the missing
// ICMP port unreachable for a firewall's silence; the range could in turn
// lose tokens it counted on. So a target's single UDP tasks go first in the
// first pass, and its range starts once they are done, one interval later
// for each ICMP error they drew (up to a full bucket): the bucket is then as
// full as the range's replay assumes. A second range of the same target
// waits likewise for the first. Only the first pass is held; whatever else
// draws on the bucket while a range is probed (a re-probe, a TCP probe
// answered with ICMP prohibited) makes the range's silences doubtful
// afterwards (doubtOtherICMP).
type udpGates struct {
	hosts  []string // targets with a range, in the plan's order
	byHost map[string]*udpGate
	byTask map[int]*udpGate
}

type udpGate struct {
	wg      sync.WaitGroup
	mu      sync.Mutex
	refused int       // ICMP errors drawn by what ran last (gated tasks, or a range)
	last    time.Time // when that ended
}

// gateUDP makes a gate for each target with a paced group, holding the
// target's single UDP tasks.
func gateUDP(p *plan.Plan, order []string, groups map[string][]int, single []int) *udpGates {
	g := &udpGates{byHost: map[string]*udpGate{}, byTask: map[int]*udpGate{}}
	for _, name := range order {
		host := p.Tasks[groups[name][0]].Target.Host
		if g.byHost[host] == nil {
			g.byHost[host] = &udpGate{}
			g.hosts = append(g.hosts, host)
		}
	}
	for _, i := range single {
		t := p.Tasks[i].Target
		if gate := g.byHost[t.Host]; gate != nil && t.Transport == "udp" {
			gate.wg.Add(1)
			g.byTask[i] = gate
		}
	}
	return g
}

// first orders the gated tasks of idx first, keeping the order otherwise,
// so that a long sweep never delays a range behind it.
func (g *udpGates) first(idx []int) []int {
	out := make([]int, 0, len(idx))
	for _, i := range idx {
		if g.byTask[i] != nil {
			out = append(out, i)
		}
	}
	for _, i := range idx {
		if g.byTask[i] == nil {
			out = append(out, i)
		}
	}
	return out
}

// release records that task i's first pass ended with obs (the zero
// Observation when it never ran). Each task is released once.
func (g *udpGates) release(i int, obs probes.Observation) {
	gate := g.byTask[i]
	if gate == nil {
		return
	}
	gate.mu.Lock()
	if obs.ICMPError {
		gate.refused++
	}
	gate.last = time.Now()
	gate.mu.Unlock()
	gate.wg.Done()
}

// spent records that a range of host has just ended with obs, so that the
// next range of host waits for the ICMP errors it drew to be earned back.
func (g *udpGates) spent(host string, obs []probes.Observation) {
	gate := g.byHost[host]
	gate.mu.Lock()
	defer gate.mu.Unlock()
	gate.refused = 0
	for _, o := range obs {
		if o.ICMPError {
			gate.refused++
		}
	}
	gate.last = time.Now()
}

// await returns when host's gated tasks are done and the ICMP errors drawn
// by what ran last have been earned back, or when ctx ends.
func (g *udpGates) await(ctx context.Context, host string) {
	gate := g.byHost[host]
	if gate == nil {
		return
	}
	done := make(chan struct{})
	go func() {
		gate.wg.Wait()
		close(done)
	}()
	select {
	case <-ctx.Done():
		return
	case <-done:
	}
	t := time.NewTimer(time.Until(gate.ready()))
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// ready is when the ICMP errors drawn by what ran last have been earned
// back.
func (gate *udpGate) ready() time.Time {
	gate.mu.Lock()
	defer gate.mu.Unlock()
	return gate.last.Add(time.Duration(min(gate.refused, udp.ICMPBurst)) * udp.ICMPInterval)
}

// doubtOtherICMP notes on a silence (BesideICMP) the other probes of the
// same target that drew ICMP errors while it was heard: those came from the
// per-peer bucket a closed port's port unreachable needed (a TCP probe
// answered with ICMP prohibited by a rejecting firewall, a re-probe of a
// UDP port, another range's refusals), so the silence may be the limit's.
// It applies to the silent ports of a range, over the range's whole time
// (its own replay cannot see other probes), and to a single UDP probe's
// silence.
func doubtOtherICMP(p *plan.Plan, res *Results, groups map[string][]int, single []int) {
	type answer struct {
		task     int
		from, to time.Time
		label    string
	}
	byHost := map[string][]answer{}
	for i, t := range p.Tasks {
		if o := res.Observations[i]; res.Ran[i] && o.ICMPError {
			byHost[t.Target.Host] = append(byHost[t.Target.Host], answer{i, o.Started, o.Started.Add(o.Duration), fmt.Sprintf("%d/%s", t.Target.Port, t.Target.Transport)})
		}
	}
	// others lists host's ICMP answers, outside skip, that overlap from-to.
	others := func(host string, from, to time.Time, skip func(int) bool) string {
		var labels []string
		for _, a := range byHost[host] {
			if !skip(a.task) && a.from.Before(to) && a.to.After(from) && !slices.Contains(labels, a.label) {
				labels = append(labels, a.label)
			}
		}
		if len(labels) == 0 {
			return ""
		}
		return fmt.Sprintf("other probes of this host drew ICMP errors meanwhile (%s), from the per-peer budget a closed port's port unreachable needs: the silence may be the limit's", strings.Join(labels, ", "))
	}
	silent := func(o probes.Observation) bool {
		return (o.State == probes.OpenFiltered || o.State == probes.Filtered) && !o.ICMPError && o.BesideICMP == ""
	}
	for _, idx := range groups {
		host := p.Tasks[idx[0]].Target.Host
		var from, to time.Time
		for _, i := range idx {
			o := res.Observations[i]
			if !res.Ran[i] || o.Started.IsZero() {
				continue
			}
			if from.IsZero() || o.Started.Before(from) {
				from = o.Started
			}
			if end := o.Started.Add(o.Duration); end.After(to) {
				to = end
			}
		}
		why := others(host, from, to, func(task int) bool { return slices.Contains(idx, task) })
		if why == "" {
			continue
		}
		for _, i := range idx {
			if o := &res.Observations[i]; res.Ran[i] && silent(*o) {
				o.BesideICMP = why
			}
		}
	}
	for _, i := range single {
		t, o := p.Tasks[i].Target, &res.Observations[i]
		if t.Transport != "udp" || !res.Ran[i] || !silent(*o) {
			continue
		}
		if why := others(t.Host, o.Started, o.Started.Add(o.Duration), func(task int) bool { return task == i }); why != "" {
			o.BesideICMP = why
		}
	}
}
