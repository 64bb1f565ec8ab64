package judge

import (
	"fmt"
	"strings"
)

// Accumulator combines a row's port verdicts as they come, port by port,
// into the row's verdict. A row's ports are judged one way (Port); what is
// kept of them depends on how many there are: Listed keeps them all, Tally
// what a sweep of 65535 ports can afford.
type Accumulator interface {
	// Add counts one port's verdict.
	Add(port int, pv PortVerdict)
	// Verdict is the row's verdict from the ports added.
	Verdict(expectDiffers bool, ev Evidence) PortVerdict
}

// Listed keeps every port's verdict: its verdict is Combine's.
type Listed struct {
	ports []int
	pvs   []PortVerdict
}

// Add counts one port's verdict.
func (l *Listed) Add(port int, pv PortVerdict) {
	l.ports = append(l.ports, port)
	l.pvs = append(l.pvs, pv)
}

// Verdict combines the ports' verdicts (see Combine).
func (l *Listed) Verdict(expectDiffers bool, ev Evidence) PortVerdict {
	return Combine(expectDiffers, ev, l.ports, l.pvs)
}

// Tally combines a sweep's port verdicts as they come, keeping only what a
// report of 65535 ports can afford to show: the worst verdict, the first
// few reasons for it, and counts. It says what Combine says, without
// holding a verdict per port.
type Tally struct {
	worst   Verdict
	n       int
	reasons []string // the first tallyReasons reasons of the worst verdict
	alike   int      // how many more ports had the worst verdict
	// Counts has how many ports got each verdict.
	Counts map[Verdict]int
}

const tallyReasons = 3

// Add counts one port's verdict.
func (t *Tally) Add(port int, pv PortVerdict) {
	if t.Counts == nil {
		t.Counts = map[Verdict]int{}
		t.worst = pv.Verdict
	}
	t.n++
	t.Counts[pv.Verdict]++
	if pv.Verdict.rank() > t.worst.rank() {
		t.worst, t.reasons, t.alike = pv.Verdict, nil, 0
	}
	if pv.Verdict != t.worst {
		return
	}
	if len(t.reasons) < tallyReasons {
		t.reasons = append(t.reasons, fmt.Sprintf("port %d: %s", port, pv.Reason))
	} else {
		t.alike++
	}
}

// Verdict is the sweep's verdict: the worst port's, as Combine decides it.
func (t *Tally) Verdict(expectDiffers bool, ev Evidence) PortVerdict {
	if t.n == 0 {
		return PortVerdict{Verdict: Error, Reason: "no port was probed"}
	}
	reasons := t.reasons
	if t.alike > 0 {
		reasons = append(reasons[:len(reasons):len(reasons)], fmt.Sprintf("and %d more ports alike", t.alike))
	}
	out := PortVerdict{Verdict: t.worst, Reason: strings.Join(reasons, "; ")}
	if (t.worst == Pass || t.worst == Fail) && expectDiffers && ev.VantageDoubt != "" {
		return PortVerdict{Verdict: Inconclusive, Reason: "what this vantage should see differs from the others, and " + ev.VantageDoubt + "; " + out.Reason}
	}
	return out
}
