package report

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"probe/internal/config"
	"probe/internal/kinds"
	"probe/probes"
)

// Change is one difference between two reports, for one expectation seen
// from one vantage.
type Change struct {
	// Kind names the change: expectation-added, expectation-removed,
	// verdict-changed, port-opened, port-closed, state-changed,
	// range-states-changed, range-changed (a sweep's), or one that a probe kind finds in its facts
	// (kinds.Kind.Changes: ssh-host-key-changed, certificate-renewed,
	// certificate-replaced, certificate-expiry-near, sip-agent-changed).
	Kind string `json:"kind"`
	// ID and Vantage say which result changed.
	ID string `json:"id"`
	// Family is the result's address family, when it has one.
	Family  string `json:"family,omitempty"`
	Vantage string `json:"vantage"`
	// Port is the port, when the change is one port's.
	Port int `json:"port,omitempty"`
	// Old and New are the values before and after.
	Old string `json:"old,omitempty"`
	New string `json:"new,omitempty"`
	// Matters is false for changes that are expected in the normal course
	// (a certificate renewed to a later expiry); diff's exit code counts
	// only those that matter.
	Matters bool `json:"matters"`
	// Detail says it in a sentence.
	Detail string `json:"detail"`
}

// DiffSide names one of the compared reports.
type DiffSide struct {
	RunID    string    `json:"run_id"`
	Started  time.Time `json:"started"`
	Vantages []string  `json:"vantages"`
	SHA256   string    `json:"config_sha256"`
}

// Diff is what changed from Old to New.
type Diff struct {
	Old     DiffSide `json:"old"`
	New     DiffSide `json:"new"`
	Changes []Change `json:"changes"`
	// Matters is true when some change matters: diff exits 1.
	Matters bool `json:"matters"`
}

// Compare lists what changed from old to new, matching results by
// expectation id, address family and vantage, in new's order then the
// removed ones.
func Compare(old, new *Report) Diff {
	d := Diff{Old: side(old), New: side(new), Changes: []Change{}}
	key := func(r *Report, res Result) string { return res.ID + "\x00" + familyOf(res) + "\x00" + r.VantageOf(res) }
	olds := map[string]Result{}
	for _, res := range old.Results {
		olds[key(old, res)] = res
	}
	seen := map[string]bool{}
	for _, nr := range new.Results {
		k := key(new, nr)
		seen[k] = true
		v := new.VantageOf(nr)
		or, ok := olds[k]
		from := len(d.Changes)
		if !ok {
			d.add(Change{Kind: "expectation-added", ID: nr.ID, Vantage: v, New: nr.Verdict, Matters: true,
				Detail: fmt.Sprintf("new expectation, %s (expected %s, observed %s)", nr.Verdict, nr.Expected, nr.Observed)})
		} else {
			compareResult(&d, v, or, nr)
		}
		for i := from; i < len(d.Changes); i++ {
			d.Changes[i].Family = nr.Family
		}
	}
	for _, or := range old.Results {
		if k := key(old, or); !seen[k] {
			d.add(Change{Kind: "expectation-removed", ID: or.ID, Family: or.Family, Vantage: old.VantageOf(or), Old: or.Verdict, Matters: true,
				Detail: "no longer in the report"})
		}
	}
	return d
}

// familyOf is the address family a result was probed over. A result
// without one (a target with no IPv6 address, or a report written before
// families were) was probed at its address's family: IPv4, unless that
// address is an IPv6 one. So the first diff across the upgrade that gave
// a target its ipv6 key matches its IPv4 results, and only its IPv6 ones
// are new.
func familyOf(res Result) string {
	if res.Family != "" {
		return res.Family
	}
	if config.AddressFamily(res.Address) == config.FamilyIPv6 {
		return config.FamilyIPv6
	}
	return config.FamilyIPv4
}

func (d *Diff) add(c Change) {
	d.Changes = append(d.Changes, c)
	d.Matters = d.Matters || c.Matters
}

func side(r *Report) DiffSide {
	return DiffSide{RunID: r.RunID, Started: r.Started, Vantages: r.VantageNames(), SHA256: r.Config.SHA256}
}

func compareResult(d *Diff, v string, or, nr Result) {
	id := nr.ID
	if or.Verdict != nr.Verdict {
		d.add(Change{Kind: "verdict-changed", ID: id, Vantage: v, Old: or.Verdict, New: nr.Verdict, Matters: true,
			Detail: fmt.Sprintf("verdict %s → %s: %s", or.Verdict, nr.Verdict, oneLine(nr.Reason))})
	}
	oldPorts := map[int]PortEvidence{}
	for _, e := range or.Evidence {
		oldPorts[e.Port] = e
	}
	common := 0
	for _, ne := range nr.Evidence {
		oe, ok := oldPorts[ne.Port]
		if !ok {
			continue
		}
		common++
		os, ns := stateName(oe), stateName(ne)
		label := fmt.Sprintf("%d/%s", ne.Port, nr.Transport)
		switch {
		case os == ns:
		case ns == "open":
			d.add(Change{Kind: "port-opened", ID: id, Vantage: v, Port: ne.Port, Old: os, New: ns, Matters: true,
				Detail: fmt.Sprintf("%s opened: %s → %s", label, os, ns)})
		case os == "open":
			d.add(Change{Kind: "port-closed", ID: id, Vantage: v, Port: ne.Port, Old: os, New: ns, Matters: true,
				Detail: fmt.Sprintf("%s no longer open: %s → %s", label, os, ns)})
		default:
			d.add(Change{Kind: "state-changed", ID: id, Vantage: v, Port: ne.Port, Old: os, New: ns, Matters: true,
				Detail: fmt.Sprintf("%s state %s → %s", label, os, ns)})
		}
		compareFacts(d, id, v, label, ne.Port, nr.Probe, oe.Observation, ne.Observation)
	}
	if or.Sweep != nil && nr.Sweep != nil {
		compareSweeps(d, v, or, nr, oldPorts)
		return
	}
	// A range's sample is drawn anew each run unless its seed is pinned, so
	// its ports may not match: then compare which states the sample saw.
	if nr.Range != "" && common < len(nr.Evidence) {
		os, ns := sampleStates(or), sampleStates(nr)
		if !slices.Equal(os, ns) {
			d.add(Change{Kind: "range-states-changed", ID: id, Vantage: v, Old: strings.Join(os, ", "), New: strings.Join(ns, ", "), Matters: true,
				Detail: fmt.Sprintf("%s/%s sample saw %s, now %s", nr.Range, nr.Transport, strings.Join(os, ", "), strings.Join(ns, ", "))})
		}
	}
}

// compareFacts asks the result's kind what changed in one port's facts.
func compareFacts(d *Diff, id, v, label string, port int, probe string, oldObs, newObs probes.Observation) {
	k := kinds.Lookup(probe)
	if k == nil || k.Changes == nil {
		return
	}
	of, nf := k.FactsOf(oldObs), k.FactsOf(newObs)
	if of == nil || nf == nil {
		return
	}
	for _, c := range k.Changes(of, nf) {
		d.add(Change{Kind: c.Kind, ID: id, Vantage: v, Port: port, Old: c.Old, New: c.New, Matters: c.Matters,
			Detail: label + " " + c.Detail})
	}
}

func stateName(e PortEvidence) string {
	if e.Observation.State == "" {
		return "none"
	}
	return string(e.Observation.State)
}

func sampleStates(res Result) []string {
	var out []string
	for _, e := range res.Evidence {
		if s := stateName(e); !e.Control && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	slices.Sort(out)
	return out
}

// WriteDiff writes d for a person: one line per change, then a count.
func WriteDiff(w io.Writer, d Diff) error {
	fmt.Fprintf(w, "old: %s (%s, %s)\nnew: %s (%s, %s)\n", d.Old.RunID, strings.Join(d.Old.Vantages, ", "),
		d.Old.Started.UTC().Format(time.RFC3339), d.New.RunID, strings.Join(d.New.Vantages, ", "), d.New.Started.UTC().Format(time.RFC3339))
	if d.Old.SHA256 != d.New.SHA256 {
		fmt.Fprintf(w, "the expectation table changed: sha256 %.12s → %.12s\n", d.Old.SHA256, d.New.SHA256)
	}
	if len(d.Changes) == 0 {
		_, err := fmt.Fprintln(w, "\nno changes")
		return err
	}
	fmt.Fprintln(w)
	matter := 0
	for _, c := range d.Changes {
		mark := "!"
		if c.Matters {
			matter++
		} else {
			mark = " "
		}
		fmt.Fprintf(w, "%s %s from %s: %s\n", mark, c.ID+overFamily(c.Family), c.Vantage, c.Detail)
	}
	_, err := fmt.Fprintf(w, "\n%d changes, %d that matter (marked !)\n", len(d.Changes), matter)
	return err
}

// overFamily names a result's family after its id: " over ipv6".
func overFamily(family string) string {
	if family == "" {
		return ""
	}
	return " over " + family
}

// compareSweeps reports the ports of a sweep that answered in one report
// and not in the other. A sweep's evidence lists the ports that answered
// (or did not pass); a port of its range absent from it was probed and
// silent, so a port in one report's evidence and not the other's opened, or
// went silent. A port outside the other report's range (the range was
// widened or narrowed between the runs) was not probed there: it is not
// compared, and the change of range is noted.
func compareSweeps(d *Diff, v string, or, nr Result, oldPorts map[int]PortEvidence) {
	id := nr.ID
	silent := func(r Result, port int) bool {
		lo, hi, err := config.ParseRange(r.Range)
		return err == nil && port >= lo && port <= hi && !slices.Contains(r.Sweep.Excluded, port)
	}
	if or.Range != nr.Range {
		d.add(Change{Kind: "range-changed", ID: id, Vantage: v, Old: or.Range, New: nr.Range,
			Detail: fmt.Sprintf("swept %s/%s, now %s/%s: a port only one of them holds was not probed in the other, and is not compared", or.Range, nr.Transport, nr.Range, nr.Transport)})
	}
	newPorts := map[int]bool{}
	for _, ne := range nr.Evidence {
		newPorts[ne.Port] = true
		if _, ok := oldPorts[ne.Port]; ok || !silent(or, ne.Port) {
			continue
		}
		ns := stateName(ne)
		label := fmt.Sprintf("%d/%s", ne.Port, nr.Transport)
		said := ""
		if ne.Observation.Outcome != "" {
			said = " (" + oneLine(ne.Observation.Outcome) + ")"
		}
		kind, what := "state-changed", "state silent → "+ns
		if ns == "open" {
			kind, what = "port-opened", "opened: silent → open"
		}
		d.add(Change{Kind: kind, ID: id, Vantage: v, Port: ne.Port, Old: "silent", New: ns, Matters: true,
			Detail: fmt.Sprintf("%s %s%s", label, what, said)})
	}
	for _, oe := range or.Evidence {
		if newPorts[oe.Port] || !silent(nr, oe.Port) {
			continue
		}
		os := stateName(oe)
		label := fmt.Sprintf("%d/%s", oe.Port, nr.Transport)
		kind, what := "state-changed", "state "+os+" → silent"
		if os == "open" {
			kind, what = "port-closed", "no longer answers: open → silent"
		}
		d.add(Change{Kind: kind, ID: id, Vantage: v, Port: oe.Port, Old: os, New: "silent", Matters: true,
			Detail: fmt.Sprintf("%s %s", label, what)})
	}
}
