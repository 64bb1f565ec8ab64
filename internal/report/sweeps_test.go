package report

import (
	"encoding/json"
	"strings"
	"testing"

	"probe/probes"
)

// sweepReport is a one-row report of a UDP sweep from vantage, of the table
// sweep.toml, whose evidence lists the answering ports given.
func sweepReport(t *testing.T, runID string, answered map[int]probes.Observation) *Report {
	t.Helper()
	base, _ := load(t, "after-internet")
	r := clone(t, base)
	r.RunID = runID
	r.Config = ConfigRef{Path: "sweep.toml", SHA256: strings.Repeat("5", 64)}
	res := Result{ID: "freeswitch-nothing-else-udp", Target: "freeswitch", Address: "203.0.113.20", Range: "1-65535",
		Transport: "udp", Probe: "udp", Expected: "not_open", Verdict: "pass", Reason: "port 1: open|filtered (no reply to 3 datagrams)", Observed: "open|filtered", Ports: []int{},
		Sweep: &Sweep{Probed: 49149, Excluded: []int{5060}, Conforming: 49149, States: map[string]int{"open|filtered": 49149}}}
	for port, o := range answered {
		verdict := "pass"
		if o.State == probes.Open {
			verdict, res.Verdict = "fail", "fail"
		}
		res.Ports = append(res.Ports, port)
		res.Evidence = append(res.Evidence, PortEvidence{Port: port, Verdict: verdict, Reason: o.Outcome, Observation: o})
	}
	r.Results = []Result{res}
	r.Summary = Count(r.Results)
	return r
}

var sip5080 = probes.Observation{State: probes.Open, Outcome: "SIP/2.0 200 OK; User-Agent: FreeSWITCH-mod_sofia/1.10.12-release"}

// A sweep's evidence lists only the ports that answered: a port in one
// night's evidence and not the other's opened, or went silent, and diff
// says so with what it said; a declared port (excluded) is not the sweep's.
func TestDiffOfSweeps(t *testing.T) {
	quiet := sweepReport(t, "night1", nil)
	open := sweepReport(t, "night2", map[int]probes.Observation{5080: sip5080})
	d := Compare(quiet, open)
	if len(d.Changes) != 2 || !d.Matters {
		t.Fatalf("changes %+v; want the verdict and 5080 opened, both mattering", d.Changes)
	}
	c := d.Changes[1]
	if c.Kind != "port-opened" || c.Port != 5080 || !strings.Contains(c.Detail, "5080/udp opened: silent → open (SIP/2.0 200 OK; User-Agent: FreeSWITCH") {
		t.Errorf("change %+v; want 5080/udp opened, with what it said", c)
	}
	back := Compare(open, quiet)
	if k := changeKinds(back); !k["port-closed freeswitch-nothing-else-udp internet"] {
		t.Errorf("the way back: %v; want 5080 closed (no longer answers)", k)
	}
	if d := Compare(open, sweepReport(t, "night3", map[int]probes.Observation{5080: sip5080})); len(d.Changes) != 0 {
		t.Errorf("the same answer two nights: %+v; want no change", d.Changes)
	}
	refused := sweepReport(t, "night4", map[int]probes.Observation{5060: {State: probes.Closed, Outcome: "ICMP port unreachable"}})
	if d := Compare(quiet, refused); len(d.Changes) != 0 {
		t.Errorf("a declared (excluded) port in the evidence: %+v; want no change: it is not the sweep's", d.Changes)
	}
}

// The reference file's runs and the sweep file's merge into one report:
// their expectation ids are apart. Each table is listed, and each run.
func TestMergeTheReferenceAndTheSweepTables(t *testing.T) {
	ref, _ := load(t, "after-internet")
	admin, _ := load(t, "after-admin")
	sweep := sweepReport(t, "sweep-run", map[int]probes.Observation{5080: sip5080})
	m, err := Merge([]*Report{ref, sweep, admin}, MergeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Configs) != 2 || len(m.Runs) != 3 {
		t.Fatalf("configs %+v, %d runs; want both tables and the three runs", m.Configs, len(m.Runs))
	}
	found := false
	for _, res := range m.Results {
		if res.ID == "freeswitch-nothing-else-udp" {
			found = res.Vantage == "internet" && res.Verdict == "fail"
		}
	}
	if !found || m.Summary.Total != len(ref.Results)+len(admin.Results)+1 {
		t.Errorf("merged %d results (sweep row found: %v); want every row of both tables", m.Summary.Total, found)
	}
	if m.Partial {
		t.Errorf("partial: %s", m.PartialReason)
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if err := checkSchema(b); err != nil {
		t.Errorf("the merged report of two tables does not match the schema: %v", err)
	}
	// Last night's merged report without the sweep's finding: diff names it.
	quiet, err := Merge([]*Report{ref, sweepReport(t, "sweep-run0", nil), admin}, MergeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if k := changeKinds(Compare(quiet, m)); !k["port-opened freeswitch-nothing-else-udp internet"] {
		t.Errorf("diff of the merged reports: %v; want the sweep's port-opened", k)
	}
}

// A sweep's range widened between two nights: the ports the old range did
// not hold were never probed then, so one answering now is not "opened";
// the change of range is noted, and does not count. A port both ranges
// hold is compared as before.
func TestDiffOfAWidenedSweep(t *testing.T) {
	narrow := sweepReport(t, "night1", nil)
	narrow.Results[0].Range = "1-1024"
	wide := sweepReport(t, "night2", map[int]probes.Observation{5080: sip5080})
	d := Compare(narrow, wide)
	k := changeKinds(d)
	if k["port-opened freeswitch-nothing-else-udp internet"] || !k["range-changed freeswitch-nothing-else-udp internet"] {
		t.Errorf("changes %+v; want the range change and no port opened", d.Changes)
	}
	for _, c := range d.Changes {
		if c.Kind == "range-changed" && (c.Matters || c.Old != "1-1024" || c.New != "1-65535") {
			t.Errorf("range change %+v; want 1-1024 → 1-65535, not mattering", c)
		}
	}
	if k := changeKinds(Compare(wide, narrow)); k["port-closed freeswitch-nothing-else-udp internet"] {
		t.Errorf("narrowed: %v; want no port closed (5080 was not probed)", k)
	}
	inside := sweepReport(t, "night3", map[int]probes.Observation{53: {State: probes.Open, Outcome: "DNS answer"}})
	if k := changeKinds(Compare(narrow, inside)); !k["port-opened freeswitch-nothing-else-udp internet"] {
		t.Errorf("53 opened, inside both ranges: %v; want port-opened", k)
	}
}
