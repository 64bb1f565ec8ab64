package runner

import (
	"slices"
	"testing"
	"time"

	"probe/internal/config"
	"probe/internal/engine"
	"probe/internal/plan"
	"probe/internal/report"
	"probe/probes"
)

// A sweep's report lists every port that answered, and only those, and
// counts the silent rest.
func TestSweepReportListsAnswersAndCountsSilence(t *testing.T) {
	f, err := config.Parse("sweep.toml", []byte(`
[[vantage]]
name = "internet"
catch_all = true
[[target]]
name = "api"
address = "203.0.113.10"
[[expectation]]
id = "web"
target = "api"
port = 80
transport = "tcp"
probe = "tcp"
expect = { internet = "open" }
[[expectation]]
id = "nothing-else"
target = "api"
range = "1-2000"
except_declared = true
transport = "tcp"
probe = "tcp"
expect = { internet = "not_open" }
`))
	if err != nil {
		t.Fatal(err)
	}
	p, err := plan.Make(f, "internet", plan.Options{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	res := &engine.Results{Observations: make([]probes.Observation, len(p.Tasks)), Ran: make([]bool, len(p.Tasks))}
	for i, task := range p.Tasks {
		o := probes.Observation{State: probes.Filtered, Outcome: "no answer", Started: t0, Attempts: 2}
		switch task.Target.Port {
		case 80, 1234:
			o = probes.Observation{State: probes.Open, Outcome: "handshake completed", Started: t0.Add(time.Second)}
		case 999:
			o = probes.Observation{State: probes.Closed, Outcome: "connection refused", Started: t0}
		}
		res.Observations[i], res.Ran[i] = o, true
	}
	rep := &report.Report{}
	Assemble(rep, f, p, res, Located{Name: "internet", Established: "stun-confirmed", NetworkEvidence: "STUN answered"})
	r := rep.Results[1]
	if r.Verdict != "fail" || !slices.Equal(r.Ports, []int{999, 1234}) || len(r.Evidence) != 2 {
		t.Fatalf("verdict %s, ports %v, %d evidence; want fail naming 999 (closed) and 1234 (open)\n%s", r.Verdict, r.Ports, len(r.Evidence), r.Reason)
	}
	sw := r.Sweep
	if sw == nil || sw.Probed != 1999 || sw.Conforming != 1998 || sw.States["filtered"] != 1997 || sw.Reprobed != 1997 || !slices.Equal(sw.Excluded, []int{80}) {
		t.Errorf("sweep %+v; want 1999 probed, 1998 conforming, 1997 filtered and reprobed, 80 excluded", sw)
	}
}
