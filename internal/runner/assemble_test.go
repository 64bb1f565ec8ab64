package runner

import (
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"

	"probe/internal/config"
	"probe/internal/engine"
	"probe/internal/plan"
	"probe/internal/report"
	"probe/probes"
)

// assembleFile has a row whose expectation differs between vantages (ssh),
// a row of one port (web), and a sweep of the rest of 1-100 (rest).
func assembleFile(t *testing.T) (*config.File, *plan.Plan) {
	t.Helper()
	f, err := config.Parse("assemble.toml", []byte(`
[[vantage]]
name = "admin"
cidrs = ["198.51.100.238/32"]
[[vantage]]
name = "internet"
catch_all = true
[[target]]
name = "api"
address = "203.0.113.10"
[[expectation]]
id = "ssh"
target = "api"
port = 22
transport = "tcp"
probe = "tcp"
expect = { admin = "open", internet = "filtered" }
[[expectation]]
id = "web"
target = "api"
port = 80
transport = "tcp"
probe = "tcp"
expect = { internet = "open" }
[[expectation]]
id = "rest"
target = "api"
range = "1-100"
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
	return f, p
}

// resultOf is the report's row of that id.
func resultOf(t *testing.T, rep *report.Report, id string) report.Result {
	t.Helper()
	for _, r := range rep.Results {
		if r.ID == id {
			return r
		}
	}
	t.Fatalf("no result %q in the report", id)
	return report.Result{}
}

// The report says what the run saw: a row of one state names that state,
// a port the run ended before is "not run" and its row is listed as not
// fully probed (and only it), a row lasts as long as its slowest port,
// and a STUN answer is the network's evidence.
func TestReportSaysWhatTheRunSaw(t *testing.T) {
	f, p := assembleFile(t)
	t0 := time.Now()
	res := &engine.Results{Observations: make([]probes.Observation, len(p.Tasks)), Ran: make([]bool, len(p.Tasks))}
	for i, task := range p.Tasks {
		o := probes.Observation{State: probes.Filtered, Outcome: "no answer", Started: t0, Attempts: 1, Duration: 500 * time.Millisecond}
		switch task.Target.Port {
		case 80:
			o = probes.Observation{Error: probes.ErrCanceled, Started: t0}
		case 50:
			o = probes.Observation{State: probes.Open, Outcome: "handshake completed", Started: t0, Attempts: 1, Duration: 2 * time.Second}
		}
		res.Observations[i], res.Ran[i] = o, true
	}
	rep := &report.Report{}
	Assemble(rep, f, p, res, Located{Name: "internet", Established: "stun-confirmed", NetworkEvidence: "STUN server 192.0.2.1:3478 answered"})

	if !rep.Network.Working || !strings.Contains(rep.Network.Evidence, "STUN server 192.0.2.1:3478 answered") {
		t.Errorf("network %+v; want working, on the STUN answer", rep.Network)
	}
	if len(rep.NotRun) != 1 || rep.NotRun[0] != "web" {
		t.Errorf("not run %v; want [web], the one row the run ended before", rep.NotRun)
	}
	if want := "1 expectation(s) were not fully probed before the run ended"; rep.Summary.Note != want {
		t.Errorf("note %q; want %q", rep.Summary.Note, want)
	}
	if r := resultOf(t, rep, "web"); r.Observed != "not run" {
		t.Errorf("web observed %q; want \"not run\"", r.Observed)
	}
	if r := resultOf(t, rep, "ssh"); r.Observed != "filtered" || r.Verdict != "pass" {
		t.Errorf("ssh observed %q, verdict %s; want filtered, pass (%s)", r.Observed, r.Verdict, r.Reason)
	}
	rest := resultOf(t, rep, "rest")
	if rest.DurationMS != 2000 {
		t.Errorf("rest lasted %d ms; want 2000, its slowest port's", rest.DurationMS)
	}
	if !strings.HasPrefix(rest.Observed, "filtered ") || !strings.HasSuffix(rest.Observed, ", open 1") {
		t.Errorf("rest observed %q; want the filtered rest and open 1", rest.Observed)
	}
}

// A sweep's silent ports are said to be probed once more only when one
// was: a port silent on its first try is not a re-probe.
func TestSweepTimeoutsSayWhetherAPortWasProbedAgain(t *testing.T) {
	for _, again := range []bool{false, true} {
		f, p := assembleFile(t)
		t0 := time.Now()
		res := &engine.Results{Observations: make([]probes.Observation, len(p.Tasks)), Ran: make([]bool, len(p.Tasks)),
			RTT: map[string]engine.RTT{"203.0.113.10": {SRTT: 20 * time.Millisecond, Samples: 3, Timeout: 300 * time.Millisecond}}}
		for i, task := range p.Tasks {
			o := probes.Observation{State: probes.Filtered, Outcome: "no answer", Started: t0, Attempts: 1}
			switch {
			case task.Target.Port == 80:
				o = probes.Observation{State: probes.Open, Outcome: "handshake completed", Started: t0, Attempts: 1}
			case task.Target.Port == 60 && again:
				o.Attempts = 2
			}
			res.Observations[i], res.Ran[i] = o, true
		}
		rep := &report.Report{}
		Assemble(rep, f, p, res, Located{Name: "internet", Established: "stun-confirmed", NetworkEvidence: "STUN answered"})
		sw := resultOf(t, rep, "rest").Sweep
		if sw == nil {
			t.Fatal("rest has no sweep")
		}
		wantN := 0
		if again {
			wantN = 1
		}
		said := strings.Contains(sw.Timeouts, "probed once more")
		if sw.Reprobed != wantN || said != again || !strings.Contains(sw.Timeouts, "from 3 answers") {
			t.Errorf("port 60 probed again: %v; reprobed %d, timeouts %q; want %d, saying so: %v", again, sw.Reprobed, sw.Timeouts, wantN, again)
		}
	}
}

// A row that rests on the vantage, when STUN did not confirm it, is
// inconclusive, and its reason carries why the vantage is in doubt.
func TestVantageDoubtNamesWhy(t *testing.T) {
	f, p := assembleFile(t)
	t0 := time.Now()
	res := &engine.Results{Observations: make([]probes.Observation, len(p.Tasks)), Ran: make([]bool, len(p.Tasks))}
	for i, task := range p.Tasks {
		o := probes.Observation{State: probes.Filtered, Outcome: "no answer", Started: t0, Attempts: 1}
		if task.Target.Port == 80 {
			o = probes.Observation{State: probes.Open, Outcome: "handshake completed", Started: t0, Attempts: 1}
		}
		res.Observations[i], res.Ran[i] = o, true
	}
	for _, doubt := range []string{"no STUN server answered", ""} {
		rep := &report.Report{}
		Assemble(rep, f, p, res, Located{Name: "internet", Established: "unconfirmed", Doubt: doubt})
		r := resultOf(t, rep, "ssh")
		want := "the vantage was not confirmed over STUN (no STUN server answered);"
		if doubt == "" {
			want = "the vantage was not confirmed over STUN;"
		}
		if r.Verdict != "inconclusive" || !strings.Contains(r.Reason, want) {
			t.Errorf("doubt %q: ssh %s: %q; want inconclusive, saying %q", doubt, r.Verdict, r.Reason, want)
		}
	}
}

// A vantage that runs on a host must stand there: Locate refuses --from
// app on a machine without app's private address, whether or not STUN
// answered (the file has no STUN server here).
func TestLocateWantsTheHostHere(t *testing.T) {
	f := networkedFile(t, 1)
	defer func(old func() ([]netip.Addr, error)) { localAddrs = old }(localAddrs)
	for _, have := range []string{"10.0.1.20", "10.0.1.10"} {
		localAddrs = func() ([]netip.Addr, error) {
			return []netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr(have)}, nil
		}
		loc, err := Locate(context.Background(), f, "app", true)
		if have == "10.0.1.10" {
			if err != nil || loc.Name != "app" || loc.Established != "trusted-unconfirmed" {
				t.Errorf("holding 10.0.1.10: %+v, %v; want app, trusted-unconfirmed", loc, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), "--from app: vantage app runs on app, but no interface here holds its private address 10.0.1.10") {
			t.Errorf("holding %s: error %v; want one saying app's private address is not here", have, err)
		}
	}
}
