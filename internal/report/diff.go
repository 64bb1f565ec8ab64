package report

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// Change is one difference between two reports, for one expectation seen
// from one vantage.
type Change struct {
	// Kind names the change: expectation-added, expectation-removed,
	// verdict-changed, port-opened, port-closed, state-changed,
	// range-states-changed, ssh-host-key-changed, certificate-renewed,
	// certificate-replaced, certificate-expiry-near, sip-agent-changed.
	Kind string `json:"kind"`
	// ID and Vantage say which result changed.
	ID      string `json:"id"`
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

// CertificateThresholds are the days left whose crossing diff reports:
// a certificate is nearer to expiry every night, and only a crossing is
// news.
var CertificateThresholds = []int{30, 14, 7, 1}

// Compare lists what changed from old to new, matching results by
// expectation id and vantage, in new's order then the removed ones.
func Compare(old, new *Report) Diff {
	d := Diff{Old: side(old), New: side(new), Changes: []Change{}}
	key := func(r *Report, res Result) string { return res.ID + "\x00" + r.VantageOf(res) }
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
		if !ok {
			d.add(Change{Kind: "expectation-added", ID: nr.ID, Vantage: v, New: nr.Verdict, Matters: true,
				Detail: fmt.Sprintf("new expectation, %s (expected %s, observed %s)", nr.Verdict, nr.Expected, nr.Observed)})
			continue
		}
		compareResult(&d, v, old, new, or, nr)
	}
	for _, or := range old.Results {
		if k := key(old, or); !seen[k] {
			d.add(Change{Kind: "expectation-removed", ID: or.ID, Vantage: old.VantageOf(or), Old: or.Verdict, Matters: true,
				Detail: "no longer in the report"})
		}
	}
	return d
}

func (d *Diff) add(c Change) {
	d.Changes = append(d.Changes, c)
	d.Matters = d.Matters || c.Matters
}

func side(r *Report) DiffSide {
	return DiffSide{RunID: r.RunID, Started: r.Started, Vantages: r.VantageNames(), SHA256: r.Config.SHA256}
}

func compareResult(d *Diff, v string, oldRep, newRep *Report, or, nr Result) {
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
		compareFacts(d, id, v, label, ne.Port, oldRep, newRep, FactsMap(oe.Observation), FactsMap(ne.Observation))
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

func compareFacts(d *Diff, id, v, label string, port int, oldRep, newRep *Report, of, nf map[string]any) {
	if of == nil || nf == nil {
		return
	}
	str := func(m map[string]any, k string) string { s, _ := m[k].(string); return s }
	if o, n := str(of, "host_key_fingerprint"), str(nf, "host_key_fingerprint"); o != "" && n != "" && o != n {
		d.add(Change{Kind: "ssh-host-key-changed", ID: id, Vantage: v, Port: port, Old: o, New: n, Matters: true,
			Detail: fmt.Sprintf("%s presents a new SSH host key: %s → %s", label, o, n)})
	}
	if _, sip := nf["request_line"]; sip && nf["status_code"] != nil && of["status_code"] != nil {
		for _, h := range []struct{ key, name string }{{"user_agent", "User-Agent"}, {"server", "Server"}} {
			if o, n := str(of, h.key), str(nf, h.key); o != n {
				d.add(Change{Kind: "sip-agent-changed", ID: id, Vantage: v, Port: port, Old: o, New: n, Matters: true,
					Detail: fmt.Sprintf("%s SIP %s %q → %q", label, h.name, o, n)})
			}
		}
	}
	ot, _ := of["tls"].(map[string]any)
	nt, _ := nf["tls"].(map[string]any)
	if ot == nil || nt == nil {
		return
	}
	oa, ok1 := parseTime(ot["not_after"])
	na, ok2 := parseTime(nt["not_after"])
	if !ok1 || !ok2 {
		return
	}
	day := func(t time.Time) string { return t.UTC().Format("2006-01-02") }
	switch {
	case na.After(oa):
		d.add(Change{Kind: "certificate-renewed", ID: id, Vantage: v, Port: port, Old: day(oa), New: day(na), Matters: false,
			Detail: fmt.Sprintf("%s certificate renewed: expires %s, was %s", label, day(na), day(oa))})
	case na.Before(oa):
		d.add(Change{Kind: "certificate-replaced", ID: id, Vantage: v, Port: port, Old: day(oa), New: day(na), Matters: true,
			Detail: fmt.Sprintf("%s certificate replaced by one that expires sooner: %s, was %s", label, day(na), day(oa))})
	default:
		od, nd := daysLeft(ot, oa, oldRep), daysLeft(nt, na, newRep)
		for _, th := range CertificateThresholds {
			if od >= th && nd < th {
				d.add(Change{Kind: "certificate-expiry-near", ID: id, Vantage: v, Port: port, Old: fmt.Sprint(od), New: fmt.Sprint(nd), Matters: true,
					Detail: fmt.Sprintf("%s certificate expires in %d days (under %d), on %s", label, nd, th, day(na))})
				break
			}
		}
	}
}

// daysLeft is the fact's days_left, or the days from the run's start.
func daysLeft(tls map[string]any, notAfter time.Time, r *Report) int {
	if d, ok := tls["days_left"].(float64); ok {
		return int(d)
	}
	return int(notAfter.Sub(r.Started).Hours() / 24)
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
		fmt.Fprintf(w, "%s %s from %s: %s\n", mark, c.ID, c.Vantage, c.Detail)
	}
	_, err := fmt.Fprintf(w, "\n%d changes, %d that matter (marked !)\n", len(d.Changes), matter)
	return err
}
