// Package runner is one run from end to end: establish the vantage, plan,
// send the probes, judge, and assemble the report. The CLI only turns flags
// into Options and the report into output.
package runner

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"

	"probe/internal/config"
	"probe/internal/engine"
	"probe/internal/judge"
	"probe/internal/plan"
	"probe/internal/report"
	"probe/internal/vantage"
	"probe/probes"
)

// Options are the inputs of a run besides the file.
type Options struct {
	// Overrides were applied to the file; recorded in the report.
	Overrides config.Overrides
	// Vantage is what the run was told or found about where it stands.
	Vantage Located
	// Seed for range samples (0: pick one).
	Seed int64
	// CAFile adds roots for TLS checks.
	CAFile string
	// Progress, when set, is told of each finished probe.
	Progress func(done, total int)
	// Only, when set, limits the run to expectations with these ids.
	Only []string
	// Shard, when set, limits the run to its part of the vantage's checks
	// (plan.Shard says how they are split); the report records it.
	Shard *plan.Shard
	// Resolve looks up the names the plan dials before anything is sent;
	// nil is the system's resolver.
	Resolve Resolver
	// TCPSweep, when set, overrides the file's defaults.tcp_sweep (run
	// --tcp-sweep): auto, syn or connect.
	TCPSweep string
}

// Located is where the run stands and how that is known.
type Located struct {
	// Name is the vantage's name.
	Name string
	// Declared is what the user said (--from).
	Declared string
	// Established is stun-confirmed, stun-auto, trusted-unconfirmed or
	// unconfirmed.
	Established string
	// Address and Server are STUN's answer, when there was one.
	Address, Server string
	// Answers lists every STUN server's answer.
	Answers []report.STUNAnswer
	// NetworkEvidence says which STUN answer showed the prober's network
	// working; empty when none came.
	NetworkEvidence string
	// Doubt says why the vantage is not confirmed, when it is not.
	Doubt string
}

// Run makes the run. ctx carries the run's deadline and the user's
// interrupt; when it ends early the report is returned all the same, marked
// partial.
func Run(ctx context.Context, f *config.File, opt Options) (*report.Report, error) {
	if len(opt.Only) > 0 {
		f = only(f, opt.Only)
	}
	if opt.Shard != nil {
		f = only(f, opt.Shard.Select(f, opt.Vantage.Name))
	}
	choice, from := f.Defaults.TCPSweep, "tcp_sweep"
	if opt.TCPSweep != "" {
		choice, from = opt.TCPSweep, "--tcp-sweep"
	}
	sweep, err := openSweep(f, opt.Vantage.Name, choice, from)
	if err != nil {
		return nil, err
	}
	if sweep.scanner != nil {
		defer sweep.scanner.Close()
	}
	p, err := plan.Make(f, opt.Vantage.Name, plan.Options{Seed: opt.Seed, CAFile: opt.CAFile, HalfOpen: sweep.scanner != nil})
	if err != nil {
		return nil, err
	}
	doubts, err := resolveNames(ctx, f, p, opt.Resolve)
	if err != nil {
		return nil, err
	}
	looked := lookUp(ctx, p, opt.Resolve)
	rep := &report.Report{
		SchemaVersion: report.SchemaVersion,
		Tool:          "probe " + probes.Version(),
		RunID:         runID(),
		Started:       time.Now().UTC(),
		Config:        report.ConfigRef{Path: f.Path, SHA256: f.Digest},
		Overrides:     opt.Overrides,
		Seed:          p.Seed,
		NotApplicable: p.NotApplicable,
		Shard:         shardOf(opt.Shard),
		Vantage: report.Vantage{
			Name: opt.Vantage.Name, Declared: opt.Vantage.Declared, Established: opt.Vantage.Established,
			PublicAddress: opt.Vantage.Address, STUNServer: opt.Vantage.Server, STUNAnswers: opt.Vantage.Answers,
			CIDRs: f.Vantage(opt.Vantage.Name).CIDRs,
		},
	}
	eng := &engine.Engine{Concurrency: f.Defaults.Concurrency, RatePerTarget: f.Defaults.RatePerTarget, Progress: opt.Progress, HalfOpen: sweep.scanner}
	res := eng.Run(ctx, p)
	assemble(rep, f, p, res, opt.Vantage, sweep)
	applyDoubts(rep, doubts)
	if len(looked) > 0 {
		rep.Results = append(rep.Results, judgeLookups(looked, vantageDoubt(opt.Vantage))...)
		note := rep.Summary.Note
		rep.Summary = report.Count(rep.Results)
		rep.Summary.Note = note
	}
	rep.Finished = time.Now().UTC()
	if ctx.Err() != nil || res.Interrupted {
		rep.Partial = true
		rep.PartialReason = "the run ended before every probe finished"
		if cause := context.Cause(ctx); cause != nil && cause != context.Canceled && cause != context.DeadlineExceeded {
			rep.PartialReason = cause.Error()
		} else if ctx.Err() == context.DeadlineExceeded {
			rep.PartialReason = "the run's deadline passed before every probe finished"
		}
	}
	return rep, nil
}

// vantageDoubt is why the vantage cannot be taken as where the run stands,
// or "" when it was confirmed (or trusted by the user's choice).
func vantageDoubt(loc Located) string {
	if e := vantage.Establishment(loc.Established); e.Confirmed() || e == vantage.TrustedUnconfirmed {
		return ""
	}
	if loc.Doubt != "" {
		return "the vantage was not confirmed over STUN (" + loc.Doubt + ")"
	}
	return "the vantage was not confirmed over STUN"
}

// Assemble judges res against p and fills the report's results, liveness
// and summary.
func Assemble(rep *report.Report, f *config.File, p *plan.Plan, res *engine.Results, loc Located) {
	assemble(rep, f, p, res, loc, sweepMethod{why: "no half-open scanner was given"})
}

func assemble(rep *report.Report, f *config.File, p *plan.Plan, res *engine.Results, loc Located, sweep sweepMethod) {
	var all []judge.TargetObservation
	share := shareOf(p)
	own := ownAddresses()
	for i, t := range p.Tasks {
		if !res.Observations[i].Answered() {
			continue // liveness rests on answers; a sweep's 65535 silences would only cost memory
		}
		for _, path := range share.credited(t.Target.Name, t.Target.Host, t.Target.Family) {
			all = append(all, judge.TargetObservation{Target: path, Local: own(t.Target.Host), IPv6: overIPv6(t.Target.Host, t.Target.Family), Port: t.Target.Port, Transport: t.Target.Transport, Obs: res.Observations[i]})
		}
	}
	for i, sw := range res.Swept {
		t := p.Tasks[i].Target
		paths := share.credited(t.Name, t.Host, t.Family)
		for _, port := range sw.Answered() {
			for _, path := range paths {
				all = append(all, judge.TargetObservation{Target: path, Local: own(t.Host), IPv6: overIPv6(t.Host, t.Family), Port: port, Transport: t.Transport, Obs: sw.Observation(port)})
			}
		}
	}
	rechecks := share.rechecks(res.Recheck)
	for name, rc := range rechecks {
		all = append(all, judge.TargetObservation{Target: name, Local: share.at(name, own), Port: rc.Port, Transport: rc.Transport + " (closing re-check)", Obs: rc.Obs})
	}
	ev := judge.Liveness(loc.NetworkEvidence, all)
	ev.VantageDoubt = vantageDoubt(loc)
	rep.Network = report.Network{Working: ev.Network != "", Evidence: ev.Network}
	if ev.Network == "" {
		rep.Network.Evidence = "nothing answered the prober in this run: no STUN answer and no open port"
	}
	rep.Targets = liveness(f, p, ev, rechecks)

	for _, c := range p.Rows {
		r := report.Result{
			ID: c.ID, Target: c.Expectation.Target, Address: c.Address, At: c.At, Family: c.Family, Range: c.Expectation.Range,
			Transport: c.Expectation.Transport, Probe: c.Expectation.Probe, Purpose: c.Expectation.Purpose,
			Expected: string(c.Expected),
		}
		if c.Sample != nil {
			r.Sample = &report.Sample{Seed: c.Sample.Seed, Size: len(c.Sample.InRange), Controls: c.Sample.Controls}
		}
		if assembleRow(&r, c, p, res, ev, sweep) {
			rep.NotRun = append(rep.NotRun, c.ID)
		}
		rep.Results = append(rep.Results, r)
	}
	rep.Summary = report.Count(rep.Results)
	switch {
	case !rep.Network.Working:
		rep.Summary.Note = "the prober could not reach the network: no STUN server and no target answered, so nothing that rests on silence or refusal can pass"
	case len(rep.NotRun) > 0:
		rep.Summary.Note = fmt.Sprintf("%d expectation(s) were not fully probed before the run ended", len(rep.NotRun))
	}
	for _, t := range rep.Targets {
		if t.StoppedAnswering {
			rep.Summary.Note = strings.TrimPrefix(rep.Summary.Note+"; ", "; ") + fmt.Sprintf("%s stopped answering during the run", t.Name)
		}
	}
}

func liveness(f *config.File, p *plan.Plan, ev judge.Evidence, rechecks map[string]engine.Recheck) []report.TargetLiveness {
	var out []report.TargetLiveness
	seen := map[string]bool{}
	for _, c := range p.Rows {
		name := c.Path()
		if seen[name] {
			continue
		}
		seen[name] = true
		t := f.Target(c.Expectation.Target)
		tl := report.TargetLiveness{Name: t.Name, Address: c.Address, At: c.At, Family: c.Family, NothingOpen: t.NothingOpen(p.Vantage, c.Family)}
		answers := ev.Alive[name]
		if len(answers) > 0 {
			tl.Alive = true
			tl.Evidence = answers[0].How
		} else if tl.NothingOpen {
			tl.Evidence = "declared to have nothing open from this vantage; liveness not shown"
		} else {
			tl.Evidence = "no port answered open in this run"
		}
		if rc, ok := rechecks[name]; ok && rc.Obs.State != probes.Open {
			tl.StoppedAnswering = true
			tl.Evidence = fmt.Sprintf("answered earlier, but the closing re-check of %d/%s saw %s", rc.Port, rc.Transport, describeState(rc.Obs))
		}
		out = append(out, tl)
	}
	return out
}

func describeState(o probes.Observation) string {
	if o.Outcome != "" {
		return fmt.Sprintf("%s (%s)", stateWord(o), o.Outcome)
	}
	return stateWord(o)
}

func stateWord(o probes.Observation) string {
	if o.State == probes.NoState {
		if o.Error == probes.ErrCanceled {
			return "not run"
		}
		return "error"
	}
	return string(o.State)
}

func summarise(states map[string]int) string {
	if len(states) == 1 {
		for s := range states {
			return s
		}
	}
	keys := make([]string, 0, len(states))
	for k := range states {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, states[k])
	}
	return strings.Join(parts, ", ")
}

// only returns a copy of f that keeps the expectations with those ids.
func only(f *config.File, ids []string) *config.File {
	g := *f
	g.Expectations = nil
	for _, e := range f.Expectations {
		if slices.Contains(ids, e.ID) {
			g.Expectations = append(g.Expectations, e)
		}
	}
	return &g
}

func shardOf(s *plan.Shard) *report.Shard {
	if s == nil {
		return nil
	}
	return &report.Shard{Index: s.Index, Count: s.Count}
}

func runID() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return time.Now().UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b)
}
