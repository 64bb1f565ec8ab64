// Package judge decides what each observation means for its expectation:
// pass, fail, inconclusive or error. It is pure: observations and this run's
// liveness evidence in, verdicts out.
//
// No false green: a verdict that rests on silence or refusal (filtered,
// closed, unreachable, not_open) passes only if, in the same run and from the
// same vantage, the prober's own network was shown to work and the same
// target was shown alive by an open answer no earlier than the silence. A
// target the config marks as having nothing open from this vantage is
// carried by the network evidence alone, and the reason says so.
package judge

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"probe/internal/config"
	"probe/internal/kinds"
	"probe/probes"
)

// Verdict is the judgement of one expectation, or of one port of it.
type Verdict string

const (
	Pass         Verdict = "pass"
	Fail         Verdict = "fail"
	Inconclusive Verdict = "inconclusive"
	Error        Verdict = "error"
)

// rank orders verdicts by how much they matter when ports are combined.
func (v Verdict) rank() int {
	switch v {
	case Fail:
		return 3
	case Error:
		return 2
	case Inconclusive:
		return 1
	}
	return 0
}

// Evidence is what the run as a whole showed about the prober and targets.
type Evidence struct {
	// Network says how the prober's network was shown to work; empty when
	// it was not.
	Network string
	// NetworkIPv6 says how the prober's IPv6 was shown to work (an open
	// answer over IPv6); empty when nothing answered over IPv6. Network
	// may rest on IPv4 alone (STUN, an IPv4 answer), which shows nothing
	// of a dead IPv6 path, where every silence looks like a filter.
	NetworkIPv6 string
	// Alive maps a target name to the open answers it gave.
	Alive map[string][]Answer
	// Vantage says how the vantage was established; empty means confirmed.
	// When set, expectations whose word depends on the vantage cannot pass.
	VantageDoubt string
}

// Answer is one open answer from a target.
type Answer struct {
	// At is when the answer came.
	At time.Time
	// How says what answered ("443/tcp").
	How string
}

// PortCase is one port of an expectation to judge.
type PortCase struct {
	Target string
	// IPv6 says the port was probed over IPv6: the prober's IPv6 must
	// have been shown to work.
	IPv6     bool
	Port     int
	Control  bool
	Expected config.Word
	Obs      probes.Observation
	// Assertions are the kind's assertions on the facts; judged only when
	// the port is open and the word allows it.
	Assertions []kinds.Assertion
}

// PortVerdict is the judgement of one port.
type PortVerdict struct {
	Verdict Verdict
	Reason  string
	// Critical marks a failure of a critical assertion (a default password
	// accepted): the report calls it out. Its reason then opens with
	// "CRITICAL: " for the person reading it.
	Critical bool
}

// criticalPrefix opens the reason of a critical failure.
const criticalPrefix = "CRITICAL: "

// Port judges one port.
func Port(c PortCase, ev Evidence, nothingOpen bool) PortVerdict {
	o := c.Obs
	if o.Error != "" && o.State == probes.NoState {
		if o.Error == probes.ErrCanceled {
			return PortVerdict{Verdict: Inconclusive, Reason: "not probed: " + o.Outcome}
		}
		return PortVerdict{Verdict: Error, Reason: fmt.Sprintf("the probe could not be made (%s): %s", o.Error, detail(o))}
	}
	state := o.State
	if state == probes.OpenFiltered && !c.Expected.Allows() {
		// UDP silence where no reply was owed: for a deny-expectation this
		// is the silence it expects, judged under the liveness rule below.
		state = probes.Filtered
	}
	seen := describe(o)
	if c.Expected.Admits(state) {
		if state == probes.Open {
			if o.Error != "" {
				return PortVerdict{Verdict: Fail, Reason: fmt.Sprintf("the port answered, but %s", o.Outcome)}
			}
			var failed, undecided []string
			critical := false
			for _, ch := range c.Assertions {
				switch {
				case ch.Pass:
				case ch.Undecided:
					undecided = append(undecided, fmt.Sprintf("%s: want %s, saw %s", ch.Name, ch.Expected, ch.Observed))
				default:
					failed = append(failed, fmt.Sprintf("%s: want %s, saw %s", ch.Name, ch.Expected, ch.Observed))
					critical = critical || ch.Critical
				}
			}
			switch {
			case len(failed) > 0 && critical:
				return PortVerdict{Verdict: Fail, Reason: criticalPrefix + "open, but " + strings.Join(failed, "; "), Critical: true}
			case len(failed) > 0:
				return PortVerdict{Verdict: Fail, Reason: "open, but " + strings.Join(failed, "; ")}
			case len(undecided) > 0:
				return PortVerdict{Verdict: Inconclusive, Reason: "open, but could not decide " + strings.Join(undecided, "; ")}
			}
			return PortVerdict{Verdict: Pass, Reason: seen}
		}
		if why := rests(c, o, ev, nothingOpen); why != "" {
			return PortVerdict{Verdict: Inconclusive, Reason: fmt.Sprintf("%s, but %s", seen, why)}
		}
		reason := fmt.Sprintf("%s; %s", seen, support(c, o, ev, nothingOpen))
		return PortVerdict{Verdict: Pass, Reason: reason}
	}
	// The observation contradicts the expectation.
	switch {
	case state == probes.Open:
		return PortVerdict{Verdict: Fail, Reason: fmt.Sprintf("expected %s, but it is %s", c.Expected, seen)}
	case c.Expected.Allows() && o.SilenceDoubt != "" && state != probes.Closed && c.Expected.Admits(probes.Closed):
		// The doubt is that a refusal may have gone unsent or unseen;
		// it matters only where a refusal would have passed (reachable).
		return PortVerdict{Verdict: Inconclusive, Reason: fmt.Sprintf("expected %s; %s, but %s", c.Expected, seen, o.SilenceDoubt)}
	case c.Expected.Allows() && state != probes.Closed && stoppedBefore(ev, c.Target, o.Started):
		// Silence where an answer was expected, from a target whose every
		// open answer came before this probe: a ban (fail2ban), a crash or a
		// lost route explains it as well as a firewall. Not a fail.
		return PortVerdict{Verdict: Inconclusive, Reason: fmt.Sprintf("expected %s; %s, but %s stopped answering during the run: every open answer from it came before this probe, so the silence may be the target's, not the port's", c.Expected, seen, c.Target)}
	case c.Expected.Allows():
		return PortVerdict{Verdict: Fail, Reason: fmt.Sprintf("expected %s, but %s", c.Expected, seen)}
	case state == probes.Closed:
		// A refusal where a drop was expected: the target's stack, or a
		// middlebox near the prober that rejects everything?
		if _, ok := aliveAfter(ev, c.Target, time.Time{}); !ok {
			return PortVerdict{Verdict: Inconclusive, Reason: fmt.Sprintf("expected %s, but %s; nothing of %s answered in this run, so a device near the prober may have refused it", c.Expected, seen, c.Target)}
		}
		return PortVerdict{Verdict: Fail, Reason: fmt.Sprintf("expected %s, but %s: packets reach the host", c.Expected, seen)}
	default:
		if o.SilenceDoubt != "" {
			return PortVerdict{Verdict: Inconclusive, Reason: fmt.Sprintf("expected %s; %s, but %s", c.Expected, seen, o.SilenceDoubt)}
		}
		return PortVerdict{Verdict: Fail, Reason: fmt.Sprintf("expected %s, but %s", c.Expected, seen)}
	}
}

// rests returns why a silence- or refusal-based match cannot pass, or "".
func rests(c PortCase, o probes.Observation, ev Evidence, nothingOpen bool) string {
	// The prober's own network first: when it did not work, that is the
	// reason, whatever else may also have been doubtful.
	if ev.Network == "" {
		return "the prober's own network was not shown to work in this run"
	}
	if c.IPv6 && ev.NetworkIPv6 == "" {
		return "the prober's own IPv6 was not shown to work in this run: nothing answered it over IPv6"
	}
	if o.State != probes.Closed {
		if o.SilenceDoubt != "" {
			return o.SilenceDoubt
		}
		if o.BesideICMP != "" {
			return o.BesideICMP
		}
	}
	if nothingOpen {
		return ""
	}
	if _, ok := aliveAfter(ev, c.Target, o.Started); !ok {
		if _, before := aliveAfter(ev, c.Target, time.Time{}); before {
			return fmt.Sprintf("%s stopped answering during the run: no open answer came from it after this probe", c.Target)
		}
		return fmt.Sprintf("%s was not shown alive: nothing of it answered open from this vantage in this run", c.Target)
	}
	return ""
}

func support(c PortCase, o probes.Observation, ev Evidence, nothingOpen bool) string {
	network := ev.Network
	if c.IPv6 {
		network = "over IPv6: " + ev.NetworkIPv6
	}
	if nothingOpen {
		return fmt.Sprintf("network shown working (%s); %s is declared to have nothing open from here, so its liveness was not shown", network, c.Target)
	}
	a, _ := aliveAfter(ev, c.Target, o.Started)
	return fmt.Sprintf("network shown working (%s) and %s shown alive (%s)", network, c.Target, a.How)
}

// stoppedBefore says target gave open answers in this run, but none at or
// after t.
func stoppedBefore(ev Evidence, target string, t time.Time) bool {
	if _, after := aliveAfter(ev, target, t); after {
		return false
	}
	return len(ev.Alive[target]) > 0
}

// aliveAfter finds an open answer of target that came at or after t.
func aliveAfter(ev Evidence, target string, t time.Time) (Answer, bool) {
	for _, a := range ev.Alive[target] {
		if !a.At.Before(t) {
			return a, true
		}
	}
	return Answer{}, false
}

func describe(o probes.Observation) string {
	if o.Outcome == "" {
		return string(o.State)
	}
	return fmt.Sprintf("%s (%s)", o.State, o.Outcome)
}

func detail(o probes.Observation) string {
	if o.Detail != "" {
		return o.Outcome + ": " + o.Detail
	}
	return o.Outcome
}

// Combine judges an expectation from its ports' verdicts: the worst wins,
// and the reason names the ports that decided it.
func Combine(expectDiffers bool, ev Evidence, ports []int, pvs []PortVerdict) PortVerdict {
	if len(pvs) == 0 {
		return PortVerdict{Verdict: Error, Reason: "no port was probed"}
	}
	worst := Pass
	for _, pv := range pvs {
		if pv.Verdict.rank() > worst.rank() {
			worst = pv.Verdict
		}
	}
	// The first port that decided the verdict speaks in full; the others
	// that agree are listed by number, so a sampled range stays readable.
	var first string
	var alike []string
	for i, pv := range pvs {
		switch {
		case pv.Verdict != worst:
		case first == "" && len(pvs) == 1:
			first = pv.Reason
		case first == "":
			first = fmt.Sprintf("port %d: %s", ports[i], pv.Reason)
		default:
			alike = append(alike, strconv.Itoa(ports[i]))
		}
	}
	reasons := []string{first}
	if n := len(alike); n > 0 {
		if n > 10 {
			alike = append(alike[:10], fmt.Sprintf("and %d more", n-10))
		}
		reasons = append(reasons, fmt.Sprintf("likewise port(s) %s", strings.Join(alike, ", ")))
	}
	out := PortVerdict{Verdict: worst, Reason: strings.Join(reasons, "; ")}
	if (worst == Pass || worst == Fail) && expectDiffers && ev.VantageDoubt != "" {
		return PortVerdict{Verdict: Inconclusive, Reason: "what this vantage should see differs from the others, and " + ev.VantageDoubt + "; " + out.Reason}
	}
	return out
}

// Liveness builds the run's evidence from every observation: a STUN answer
// (network, given as stunHow) and every open answer of every target.
func Liveness(stunHow string, obs []TargetObservation) Evidence {
	ev := Evidence{Network: stunHow, Alive: map[string][]Answer{}}
	for _, to := range obs {
		o := to.Obs
		if o.State != probes.Open {
			continue
		}
		at := o.Started.Add(o.Duration)
		ev.Alive[to.Target] = append(ev.Alive[to.Target], Answer{At: at, How: fmt.Sprintf("%d/%s answered", to.Port, to.Transport)})
		if to.Local {
			continue
		}
		if ev.Network == "" {
			ev.Network = fmt.Sprintf("%s answered on %d/%s", to.Target, to.Port, to.Transport)
		}
		if to.IPv6 && ev.NetworkIPv6 == "" {
			ev.NetworkIPv6 = fmt.Sprintf("%s answered on %d/%s", to.Target, to.Port, to.Transport)
		}
	}
	for _, answers := range ev.Alive {
		sort.Slice(answers, func(i, j int) bool { return answers[i].At.Before(answers[j].At) })
	}
	return ev
}

// TargetObservation is an observation with the target it was made of.
type TargetObservation struct {
	Target string
	// Local says the answer came from an address of the prober's own
	// (a runner on a server probing that server): it shows the target
	// alive, and nothing of the network, which it never crossed.
	Local bool
	// IPv6 says the answer came over IPv6.
	IPv6      bool
	Port      int
	Transport string
	Obs       probes.Observation
}
