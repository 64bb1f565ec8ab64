// Package engine sends a plan's probes: concurrently, within a limit on
// probes in flight and a rate per target, under one deadline for the whole
// run. It owns time and concurrency; each probe owns only its protocol.
//
// A run goes through named phases, each in a file of its own:
//
//	ranges.go     paced ranges (RTP), beside everything else
//	halfopen.go   the TCP sweeps as half-open SYNs, beside the first pass
//	passes.go     the first pass over the single tasks, then the re-probes
//	              of silences (adaptive, and where an answer is owed)
//	identify.go   a second look at a sweep's open ports
//	icmp.go       the ICMP-error budget shared by a target's UDP probes,
//	              and the doubt it casts on silences
//	recheck.go    the closing re-check that the targets were still alive
package engine

import (
	"context"
	"sync"
	"time"

	"probe/internal/kinds"
	"probe/internal/plan"
	"probe/probes"
	"probe/probes/syn"
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
	// Clock is the time the targets' ICMP accounts are kept in (when a
	// UDP send may go, by the errors received before it); the system
	// clock when nil. Probes keep the system clock: their deadlines are
	// the network stack's.
	Clock udp.Clock
	// HalfOpen sends the plan's half-open sweep tasks (plan.Task.HalfOpen)
	// as SYNs from its raw sockets, in one scan beside the rest of the
	// run. A plan with such tasks needs one.
	HalfOpen *syn.Scanner
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
	// Swept holds, by task index, what each whole sweep task (plan.Task.
	// Whole: a half-open TCP sweep, a UDP sweep) saw of its ports;
	// PortObservation reads them.
	Swept map[int]*Swept
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

// notRun is the outcome of a task the run ended before.
const notRun = "not run: the run ended first"

// Run sends every task of p. It returns when all tasks are done or ctx ends;
// tasks not completed by then are marked as not run.
func (e *Engine) Run(ctx context.Context, p *plan.Plan) *Results {
	return e.start(ctx, p).run()
}

// run goes through the phases of a run.
func (r *run) run() *Results {
	p := r.p
	ranges, single := splitTasks(p)
	swept, single := r.splitHalfOpen(single)
	r.cheapAgain = cheapAgain(p, single, r.limit, r.e.RatePerTarget)
	paced := r.runRanges(ranges)
	scan := r.runHalfOpen(swept)
	r.firstPass(interleave(p, single))
	r.reprobeShortSilences(single)
	r.reprobeOwed(single)
	scan.Wait()
	r.identify(single)
	paced.Wait()
	doubtOtherICMP(p, r.res, ranges.groups, single)
	return r.end()
}

// run is one Run's state, shared by its phases.
type run struct {
	e   *Engine
	ctx context.Context
	p   *plan.Plan
	res *Results
	// limiters pace new probes per target (RatePerTarget); budgets are
	// the targets' live ICMP-error accounts, for their UDP probes.
	limiters   *limiters
	budgets    *budgets
	rtts       *estimators
	whole      map[int][]int // the ports of each whole sweep task
	floor      time.Duration // of adaptive timeouts
	limit      int           // probes in flight
	cheapAgain bool          // short silences are asked again at once, with the full timeout

	mu   sync.Mutex
	done int // tasks finished, for Progress
	// silences lists, per task, what each of its one-round-trip attempts
	// heard when it heard nothing: the control flow of the re-probes
	// reads it, never the observation's words.
	silences [][]silence
}

func (e *Engine) start(ctx context.Context, p *plan.Plan) *run {
	res := &Results{
		Observations: make([]probes.Observation, len(p.Tasks)),
		Ran:          make([]bool, len(p.Tasks)),
		Swept:        map[int]*Swept{},
	}
	for i := range res.Observations {
		res.Observations[i] = probes.Observation{Error: probes.ErrCanceled, Outcome: notRun}
	}
	r := &run{
		e: e, ctx: ctx, p: p, res: res,
		limiters: newLimiters(e.RatePerTarget),
		budgets:  newBudgets(udp.LinuxICMPLimit, e.Clock),
		rtts:     &estimators{},
		floor:    e.MinTimeout,
		limit:    FDConcurrency(e.Concurrency),
		silences: make([][]silence, len(p.Tasks)),
		whole:    wholePorts(p),
	}
	if r.floor <= 0 {
		r.floor = DefaultMinTimeout
	}
	res.Concurrency = r.limit
	return r
}

// finish records the observations of the tasks idx, as one batch.
func (r *run) finish(idx []int, obs []probes.Observation) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for j, i := range idx {
		if obs[j].Error == probes.ErrCanceled {
			// Not run. A re-probe cut off leaves its task not run too: a
			// silence heard once under the adaptive timeout, or once
			// where an answer was owed, decides nothing until it is heard
			// again; the report is partial.
			r.res.Ran[i] = false
			if r.ctx.Err() != nil {
				r.res.Observations[i] = probes.Observation{Error: probes.ErrCanceled, Outcome: notRun, Attempts: obs[j].Attempts}
				continue
			}
			// Not run although the run goes on: a paced range that
			// kept its last ports back, or a re-probe the rate left no
			// token for, because its wait would not fit before the
			// deadline. Its own outcome says so.
			r.res.Observations[i] = obs[j]
			continue
		}
		r.res.Observations[i], r.res.Ran[i] = obs[j], true
	}
	r.done += len(idx)
	if r.e.Progress != nil {
		r.e.Progress(r.done, len(r.p.Tasks))
	}
}

// again takes n tasks back from the count done: they run once more.
func (r *run) again(n int) {
	r.mu.Lock()
	r.done -= n
	r.mu.Unlock()
}

// end completes the results: whether the run was whole, the round-trip
// estimates, and (for a whole run) the closing re-check.
func (r *run) end() *Results {
	res := r.res
	res.Interrupted = r.ctx.Err() != nil || !all(res.Ran)
	res.RTT = map[string]RTT{}
	for host, est := range r.rtts.by {
		if srtt, n := est.srttNow(); n > 0 {
			rto, _ := est.rto(r.floor, time.Hour)
			res.RTT[host] = RTT{SRTT: srtt, Samples: n, Timeout: rto}
		}
	}
	if !res.Interrupted {
		res.Recheck = recheck(r.ctx, r.p, res, r.limiters.wait)
	}
	return res
}

// splitTasks sorts p's tasks into the paced ranges (grouped tasks of a kind
// that probes ports together, and the UDP sweeps' whole tasks) and the
// single tasks.
func splitTasks(p *plan.Plan) (rangeTasks, []int) {
	rs := rangeTasks{groups: map[string][]int{}}
	var single []int
	for i, t := range p.Tasks {
		if k := kinds.Lookup(t.Kind); t.Group != "" && (k.RunPorts != nil || k.SweepPorts != nil) {
			if _, ok := rs.groups[t.Group]; !ok {
				rs.order = append(rs.order, t.Group)
			}
			rs.groups[t.Group] = append(rs.groups[t.Group], i)
			continue
		}
		single = append(single, i)
	}
	return rs, single
}

func all(bs []bool) bool {
	for _, b := range bs {
		if !b {
			return false
		}
	}
	return true
}
