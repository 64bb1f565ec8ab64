package judge

import (
	"fmt"
	"strings"
	"testing"

	"probe/internal/config"
	"probe/probes"
)

func TestTallySaysWhatCombineSays(t *testing.T) {
	pass := PortVerdict{Verdict: Pass, Reason: "filtered"}
	fail := PortVerdict{Verdict: Fail, Reason: "expected not_open, but it is open"}
	var tl Tally
	for port := 1; port <= 1000; port++ {
		pv := pass
		if port == 500 || port == 700 {
			pv = fail
		}
		tl.Add(port, pv)
	}
	got := tl.Verdict(false, alive)
	if got.Verdict != Fail || got.Reason != "port 500: expected not_open, but it is open; port 700: expected not_open, but it is open" {
		t.Errorf("got %+v; want fail naming ports 500 and 700", got)
	}
	if tl.Counts[Pass] != 998 || tl.Counts[Fail] != 2 {
		t.Errorf("counts %v; want 998 pass, 2 fail", tl.Counts)
	}
	var all Tally
	for port := 1; port <= 10; port++ {
		all.Add(port, pass)
	}
	if got := all.Verdict(false, alive); got.Verdict != Pass || !strings.HasSuffix(got.Reason, "and 7 more ports alike") {
		t.Errorf("got %+v; want pass, three reasons and 7 more ports alike", got)
	}
	var none Tally
	if got := none.Verdict(false, alive); got.Verdict != Error {
		t.Errorf("empty sweep: got %+v; want error", got)
	}
}

// BenchmarkJudge1000x100 judges the observations of 1,000 targets with
// 100 expectations each (150,000 ports: half the expectations a single
// port, half two), as the runner does: each port, then each expectation.
func BenchmarkJudge1000x100(b *testing.B) {
	type check struct {
		target string
		ports  []int
		cases  []PortCase
	}
	var checks []check
	var all []TargetObservation
	for t := range 1000 {
		name := fmt.Sprintf("t%d", t)
		all = append(all, TargetObservation{Target: name, Port: 443, Transport: "tcp", Obs: obs(probes.Open)})
		for e := range 100 {
			c := check{target: name, ports: []int{1000 + e}}
			if e%2 == 1 {
				c.ports = append(c.ports, 2000+e)
			}
			for _, p := range c.ports {
				o := obs(probes.Filtered)
				if p%7 == 0 {
					o = obs(probes.Open)
				}
				c.cases = append(c.cases, PortCase{Target: name, Port: p, Expected: config.NotOpen, Obs: o})
			}
			checks = append(checks, c)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		ev := Liveness("STUN answered", all)
		fails := 0
		for _, c := range checks {
			pvs := make([]PortVerdict, len(c.cases))
			for i, pc := range c.cases {
				pvs[i] = Port(pc, ev, false)
			}
			if Combine(false, ev, c.ports, pvs).Verdict == Fail {
				fails++
			}
		}
		if fails == 0 {
			b.Fatal("no failure judged; the fixture plants open ports")
		}
	}
}

// A sweep whose word differs between vantages cannot pass or fail from a
// vantage that was not confirmed, as Combine decides for listed ports; an
// error stays an error, and a word the same everywhere is not doubted.
func TestTallyUnconfirmedVantage(t *testing.T) {
	doubt := Evidence{Network: "STUN answered", VantageDoubt: "the STUN server did not answer"}
	pass := PortVerdict{Verdict: Pass, Reason: "filtered"}
	fail := PortVerdict{Verdict: Fail, Reason: "open"}
	errv := PortVerdict{Verdict: Error, Reason: "no route"}
	tests := []struct {
		name    string
		pv      PortVerdict
		differs bool
		ev      Evidence
		want    PortVerdict
	}{
		{"pass_doubted", pass, true, doubt, PortVerdict{Verdict: Inconclusive, Reason: "what this vantage should see differs from the others, and the STUN server did not answer; port 9: filtered"}},
		{"fail_doubted", fail, true, doubt, PortVerdict{Verdict: Inconclusive, Reason: "what this vantage should see differs from the others, and the STUN server did not answer; port 9: open"}},
		{"error_stays", errv, true, doubt, PortVerdict{Verdict: Error, Reason: "port 9: no route"}},
		{"same_everywhere", pass, false, doubt, PortVerdict{Verdict: Pass, Reason: "port 9: filtered"}},
		{"vantage_confirmed", fail, true, alive, PortVerdict{Verdict: Fail, Reason: "port 9: open"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var tl Tally
			tl.Add(9, tt.pv)
			if got := tl.Verdict(tt.differs, tt.ev); got != tt.want {
				t.Errorf("got %+v; want %+v", got, tt.want)
			}
		})
	}
}
