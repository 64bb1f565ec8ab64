package runner

import (
	"context"
	"slices"
	"testing"
	"time"

	"probe/internal/config"
	"probe/internal/engine"
	"probe/internal/kinds"
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

func init() {
	// A kind whose one assertion always fails critically, as an accepted
	// default password does.
	kinds.Register(&kinds.Kind{Name: "alwayscritical", Transports: []string{"tcp"}, Sweeps: true,
		Run: func(context.Context, probes.Target, kinds.Params) probes.Observation { return probes.Observation{} },
		Assert: func(probes.Observation, kinds.Params) []kinds.Assertion {
			return []kinds.Assertion{{Name: "password", Expected: "refused", Observed: "accepted", Critical: true}}
		},
	})
}

// A critical failure marks its result critical, whether the row lists its
// ports or sweeps a range, and one that is not critical does not.
func TestCriticalResults(t *testing.T) {
	f, err := config.Parse("critical.toml", []byte(`
[[vantage]]
name = "internet"
catch_all = true
[[target]]
name = "fs"
address = "203.0.113.20"
[[expectation]]
id = "listed"
target = "fs"
ports = [8021, 8022]
transport = "tcp"
probe = "alwayscritical"
expect = { internet = "open" }
[[expectation]]
id = "swept"
target = "fs"
range = "9000-9010"
transport = "tcp"
probe = "alwayscritical"
expect = { internet = "open" }
[[expectation]]
id = "plain"
target = "fs"
port = 22
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
	res := &engine.Results{Observations: make([]probes.Observation, len(p.Tasks)), Ran: make([]bool, len(p.Tasks))}
	for i := range p.Tasks {
		res.Observations[i] = probes.Observation{State: probes.Open, Outcome: "handshake completed", Started: time.Now()}
		res.Ran[i] = true
	}
	rep := &report.Report{}
	Assemble(rep, f, p, res, Located{Name: "internet", Established: "stun-confirmed", NetworkEvidence: "STUN answered"})
	for _, r := range rep.Results {
		wantCritical := r.ID != "plain"
		if r.Verdict != "fail" || r.Critical != wantCritical {
			t.Errorf("%s: verdict %s, critical %v; want fail, critical %v (%s)", r.ID, r.Verdict, r.Critical, wantCritical, r.Reason)
		}
	}
	if swept := rep.Results[1]; len(swept.Evidence) != 11 || swept.Sweep == nil || swept.Sweep.Conforming != 0 {
		t.Errorf("sweep kept %d ports' evidence (%+v); want all 11, none conforming", len(swept.Evidence), swept.Sweep)
	}
}
