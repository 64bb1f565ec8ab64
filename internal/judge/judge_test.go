package judge

import (
	"strings"
	"testing"
	"time"

	"probe/internal/config"
	"probe/internal/kinds"
	"probe/probes"
)

var t0 = time.Date(2026, 11, 26, 3, 0, 0, 0, time.UTC)

func obs(s probes.State) probes.Observation {
	return probes.Observation{State: s, Outcome: "seen", Started: t0, Duration: time.Second}
}

// alive is evidence where the network works and "api" answered after t0.
var alive = Evidence{Network: "STUN answered", Alive: map[string][]Answer{"api": {{At: t0.Add(5 * time.Second), How: "443/tcp answered"}}}}

// deadNet is evidence where nothing answered at all.
var deadNet = Evidence{Alive: map[string][]Answer{}}

// netOnly is evidence where the network works but api never answered.
var netOnly = Evidence{Network: "STUN answered", Alive: map[string][]Answer{}}

// bannedEarly is evidence where api answered only before the probe.
var bannedEarly = Evidence{Network: "STUN answered", Alive: map[string][]Answer{"api": {{At: t0.Add(-time.Second), How: "22/tcp answered"}}}}

func TestPortEveryWordAndState(t *testing.T) {
	// want[word][state] with full liveness evidence.
	want := map[config.Word]map[probes.State]Verdict{
		config.Open:        {probes.Open: Pass, probes.Closed: Fail, probes.Filtered: Fail, probes.OpenFiltered: Fail},
		config.Closed:      {probes.Open: Fail, probes.Closed: Pass, probes.Filtered: Fail, probes.OpenFiltered: Fail},
		config.Filtered:    {probes.Open: Fail, probes.Closed: Fail, probes.Filtered: Pass, probes.OpenFiltered: Pass},
		config.Reachable:   {probes.Open: Pass, probes.Closed: Pass, probes.Filtered: Fail, probes.OpenFiltered: Fail},
		config.Unreachable: {probes.Open: Fail, probes.Closed: Fail, probes.Filtered: Pass, probes.OpenFiltered: Pass},
		config.NotOpen:     {probes.Open: Fail, probes.Closed: Pass, probes.Filtered: Pass, probes.OpenFiltered: Pass},
	}
	for _, w := range config.Words {
		for _, s := range []probes.State{probes.Open, probes.Closed, probes.Filtered, probes.OpenFiltered} {
			got := Port(PortCase{Target: "api", Port: 22, Expected: w, Obs: obs(s)}, alive, false)
			if got.Verdict != want[w][s] {
				t.Errorf("expected %s, observed %s: verdict = %s (%s); want %s", w, s, got.Verdict, got.Reason, want[w][s])
			}
		}
	}
}

func TestPortLiveness(t *testing.T) {
	tests := []struct {
		name        string
		word        config.Word
		state       probes.State
		ev          Evidence
		nothingOpen bool
		want        Verdict
		reason      string // a fragment the reason must hold
	}{
		{"silence_without_network", config.Filtered, probes.Filtered, deadNet, false, Inconclusive, "network was not shown"},
		{"silence_target_not_alive", config.Filtered, probes.Filtered, netOnly, false, Inconclusive, "not shown alive"},
		{"silence_target_banned_before", config.Filtered, probes.Filtered, bannedEarly, false, Inconclusive, "stopped answering"},
		{"silence_nothing_open_network_ok", config.Unreachable, probes.Filtered, netOnly, true, Pass, "liveness was not shown"},
		{"silence_nothing_open_no_network", config.Unreachable, probes.Filtered, deadNet, true, Inconclusive, "network was not shown"},
		{"refusal_without_liveness", config.NotOpen, probes.Closed, netOnly, false, Inconclusive, "not shown alive"},
		{"refusal_where_drop_expected_no_liveness", config.Filtered, probes.Closed, netOnly, false, Inconclusive, "device near the prober"},
		{"refusal_where_drop_expected_alive", config.Filtered, probes.Closed, alive, false, Fail, "packets reach the host"},
		{"open_needs_no_liveness", config.Open, probes.Open, deadNet, false, Pass, "open"},
		{"open_where_shut_expected_fails_anyway", config.Unreachable, probes.Open, deadNet, false, Fail, "it is open"},
		{"allow_fails_when_network_dead", config.Open, probes.Filtered, deadNet, false, Fail, "expected open"},
		{"reachable_silent_fails", config.Reachable, probes.OpenFiltered, alive, false, Fail, "expected reachable"},
		{"allow_silent_after_target_stopped", config.Open, probes.Filtered, bannedEarly, false, Inconclusive, "api stopped answering during the run"},
		{"reachable_silent_after_target_stopped", config.Reachable, probes.OpenFiltered, bannedEarly, false, Inconclusive, "stopped answering"},
		{"allow_refused_after_target_stopped_fails", config.Open, probes.Closed, bannedEarly, false, Fail, "expected open"},
		{"allow_silent_target_never_answered_fails", config.Open, probes.Filtered, netOnly, false, Fail, "expected open"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Port(PortCase{Target: "api", Port: 8021, Expected: tt.word, Obs: obs(tt.state)}, tt.ev, tt.nothingOpen)
			if got.Verdict != tt.want || !strings.Contains(got.Reason, tt.reason) {
				t.Errorf("verdict = %s (%q); want %s with %q", got.Verdict, got.Reason, tt.want, tt.reason)
			}
		})
	}
}

func TestPortSilenceDoubt(t *testing.T) {
	o := obs(probes.OpenFiltered)
	o.SilenceDoubt = "ICMP rate limiting at the target may explain the silence"
	for _, w := range []config.Word{config.Unreachable, config.Reachable, config.Filtered} {
		got := Port(PortCase{Target: "api", Port: 16384, Expected: w, Obs: o}, alive, false)
		if got.Verdict != Inconclusive || !strings.Contains(got.Reason, "rate limiting") {
			t.Errorf("expected %s on doubtful silence: %s (%s); want inconclusive", w, got.Verdict, got.Reason)
		}
	}
	// With the prober's own network not shown working, that is the reason.
	if got := Port(PortCase{Target: "api", Port: 16384, Expected: config.Unreachable, Obs: o}, deadNet, false); got.Verdict != Inconclusive || !strings.Contains(got.Reason, "own network") {
		t.Errorf("doubtful silence, network down: %s (%s); want inconclusive naming the prober's network", got.Verdict, got.Reason)
	}
	// The doubt is a refusal that may have gone unsent; a refusal would
	// fail "open" too, so the silence fails it whatever the doubt.
	if got := Port(PortCase{Target: "api", Port: 5060, Expected: config.Open, Obs: o}, alive, false); got.Verdict != Fail {
		t.Errorf("expected open on doubtful silence: %s (%s); want fail", got.Verdict, got.Reason)
	}
}

// A silence heard while other probes of the target drew ICMP errors does
// not pass (the budget a refusal needed was being spent), but it still
// fails where an answer was expected (the errors may be a router's, in
// front of a target that is down).
func TestPortSilenceBesideICMP(t *testing.T) {
	o := obs(probes.OpenFiltered)
	o.BesideICMP = "other probes of this host drew ICMP errors meanwhile (22/tcp)"
	for _, tc := range []struct {
		word config.Word
		want Verdict
	}{
		{config.Unreachable, Inconclusive},
		{config.Filtered, Inconclusive},
		{config.NotOpen, Inconclusive},
		{config.Reachable, Fail},
		{config.Open, Fail},
	} {
		got := Port(PortCase{Target: "api", Port: 16384, Expected: tc.word, Obs: o}, alive, false)
		if got.Verdict != tc.want || tc.want == Inconclusive && !strings.Contains(got.Reason, "22/tcp") {
			t.Errorf("expected %s: %s (%s); want %s", tc.word, got.Verdict, got.Reason, tc.want)
		}
	}
}

func TestPortErrorsAndChecks(t *testing.T) {
	notRun := probes.Observation{Error: probes.ErrCanceled, Outcome: "not run: the run ended first"}
	if got := Port(PortCase{Target: "api", Expected: config.Open, Obs: notRun}, alive, false); got.Verdict != Inconclusive {
		t.Errorf("not run: %s; want inconclusive", got.Verdict)
	}
	unresolved := probes.Observation{Error: probes.ErrResolve, Outcome: "name did not resolve", Detail: "lookup db.internal: no such host"}
	if got := Port(PortCase{Target: "db", Expected: config.Unreachable, Obs: unresolved}, alive, false); got.Verdict != Error || !strings.Contains(got.Reason, "db.internal") {
		t.Errorf("unresolved: %s (%s); want error naming the host", got.Verdict, got.Reason)
	}
	notSSH := obs(probes.Open)
	notSSH.Error, notSSH.Outcome = probes.ErrProtocol, "no SSH banner"
	if got := Port(PortCase{Target: "api", Expected: config.Open, Obs: notSSH}, alive, false); got.Verdict != Fail {
		t.Errorf("open but wrong protocol: %s; want fail", got.Verdict)
	}
	checks := []kinds.Assertion{{Name: "auth_methods", Expected: "publickey", Observed: "password,publickey", Pass: false}}
	got := Port(PortCase{Target: "api", Expected: config.Open, Obs: obs(probes.Open), Assertions: checks}, alive, false)
	if got.Verdict != Fail || !strings.Contains(got.Reason, "auth_methods") {
		t.Errorf("failed assertion: %s (%s); want fail naming it", got.Verdict, got.Reason)
	}
	checks[0].Critical = true
	got = Port(PortCase{Target: "api", Expected: config.Open, Obs: obs(probes.Open), Assertions: checks}, alive, false)
	if !strings.HasPrefix(got.Reason, "CRITICAL") || !got.Critical {
		t.Errorf("critical assertion reason = %q; want it marked CRITICAL", got.Reason)
	}
	// An assertion the probe could not decide is inconclusive alone, and
	// a failed one beside it still fails.
	tls := kinds.Assertion{Name: "min_tls_version", Expected: "refuses TLS 1.0", Observed: "TLS 1.0 undecided: i/o timeout", Undecided: true}
	got = Port(PortCase{Target: "api", Expected: config.Open, Obs: obs(probes.Open), Assertions: []kinds.Assertion{tls}}, alive, false)
	if got.Verdict != Inconclusive || !strings.Contains(got.Reason, "could not decide min_tls_version") {
		t.Errorf("undecided assertion: %s (%s); want inconclusive naming it", got.Verdict, got.Reason)
	}
	checks[0].Critical = false
	got = Port(PortCase{Target: "api", Expected: config.Open, Obs: obs(probes.Open), Assertions: append(checks, tls)}, alive, false)
	if got.Verdict != Fail || !strings.Contains(got.Reason, "auth_methods") {
		t.Errorf("failed and undecided assertions: %s (%s); want fail naming the failed one", got.Verdict, got.Reason)
	}
}

func TestCombine(t *testing.T) {
	p, f, i, e := PortVerdict{Verdict: Pass, Reason: "p"}, PortVerdict{Verdict: Fail, Reason: "f"}, PortVerdict{Verdict: Inconclusive, Reason: "i"}, PortVerdict{Verdict: Error, Reason: "e"}
	tests := []struct {
		name    string
		pvs     []PortVerdict
		differs bool
		ev      Evidence
		want    Verdict
	}{
		{"all_pass", []PortVerdict{p, p}, false, alive, Pass},
		{"fail_wins", []PortVerdict{p, i, e, f}, false, alive, Fail},
		{"error_over_inconclusive", []PortVerdict{p, i, e}, false, alive, Error},
		{"inconclusive_over_pass", []PortVerdict{p, i}, false, alive, Inconclusive},
		{"unconfirmed_vantage_pass", []PortVerdict{p}, true, Evidence{VantageDoubt: "no STUN"}, Inconclusive},
		{"unconfirmed_vantage_fail", []PortVerdict{f}, true, Evidence{VantageDoubt: "no STUN"}, Inconclusive},
		{"unconfirmed_vantage_same_everywhere", []PortVerdict{p}, false, Evidence{VantageDoubt: "no STUN"}, Pass},
		{"nothing_probed", nil, false, alive, Error},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ports := make([]int, len(tt.pvs))
			if got := Combine(tt.differs, tt.ev, ports, tt.pvs); got.Verdict != tt.want {
				t.Errorf("Combine = %s (%s); want %s", got.Verdict, got.Reason, tt.want)
			}
		})
	}
}

func TestLiveness(t *testing.T) {
	open := obs(probes.Open)
	ev := Liveness("", []TargetObservation{
		{Target: "api", Port: 443, Transport: "tcp", Obs: open},
		{Target: "fs", Port: 22, Transport: "tcp", Obs: obs(probes.Filtered)},
	})
	if ev.Network == "" {
		t.Errorf("an open answer did not count as network evidence")
	}
	if len(ev.Alive["api"]) != 1 || len(ev.Alive["fs"]) != 0 {
		t.Errorf("Alive = %v; want api only", ev.Alive)
	}
	if ev := Liveness("", []TargetObservation{{Target: "fs", Obs: obs(probes.Closed)}}); ev.Network != "" {
		t.Errorf("a refusal counted as network evidence: %q", ev.Network)
	}
}

// Over IPv6, a silence rests on the prober's IPv6 shown working: a STUN
// answer and IPv4 answers show nothing of a dead IPv6 path. Over IPv4 the
// IPv6 evidence is not asked for.
func TestPortOverIPv6WantsIPv6Shown(t *testing.T) {
	v6Net := Evidence{Network: "STUN answered", NetworkIPv6: "web/ipv6 answered on 443/tcp", Alive: map[string][]Answer{}}
	v6Alive := Evidence{Network: "STUN answered", NetworkIPv6: "api/ipv6 answered on 443/tcp",
		Alive: map[string][]Answer{"api/ipv6": {{At: t0.Add(5 * time.Second), How: "443/tcp answered"}}}}
	tests := []struct {
		name        string
		ipv6        bool
		ev          Evidence
		nothingOpen bool
		want        Verdict
		reason      string
	}{
		{"ipv6_nothing_open_ipv4_evidence_only", true, netOnly, true, Inconclusive, "IPv6 was not shown to work"},
		{"ipv6_nothing_open_ipv6_shown", true, v6Net, true, Pass, "network shown working (over IPv6: web/ipv6 answered on 443/tcp)"},
		{"ipv6_target_alive_over_ipv6", true, v6Alive, false, Pass, "over IPv6: api/ipv6 answered"},
		{"ipv4_needs_no_ipv6", false, netOnly, true, Pass, "network shown working (STUN answered)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			target := "api"
			if tt.ipv6 {
				target = "api/ipv6"
			}
			got := Port(PortCase{Target: target, IPv6: tt.ipv6, Port: 8021, Expected: config.Unreachable, Obs: obs(probes.Filtered)}, tt.ev, tt.nothingOpen)
			if got.Verdict != tt.want || !strings.Contains(got.Reason, tt.reason) {
				t.Errorf("verdict = %s (%q); want %s with %q", got.Verdict, got.Reason, tt.want, tt.reason)
			}
		})
	}
}

// An answer from one of the prober's own addresses shows its target
// alive, and nothing of the network: it never crossed it.
func TestLivenessOfALocalAnswer(t *testing.T) {
	ev := Liveness("", []TargetObservation{
		{Target: "api@private", Local: true, IPv6: true, Port: 80, Transport: "tcp", Obs: obs(probes.Open)},
	})
	if ev.Network != "" || ev.NetworkIPv6 != "" || len(ev.Alive["api@private"]) != 1 {
		t.Errorf("network %q, IPv6 %q, alive %v; want no network evidence, api@private alive", ev.Network, ev.NetworkIPv6, ev.Alive)
	}
}

// An answer over IPv6 shows the prober's IPv6 working, the first one
// named; an answer over IPv4 does not.
func TestLivenessOverIPv6(t *testing.T) {
	ev := Liveness("STUN answered", []TargetObservation{
		{Target: "api", Port: 443, Transport: "tcp", Obs: obs(probes.Open)},
	})
	if ev.NetworkIPv6 != "" {
		t.Errorf("an IPv4 answer counted for IPv6: %q", ev.NetworkIPv6)
	}
	ev = Liveness("STUN answered", []TargetObservation{
		{Target: "api", Port: 443, Transport: "tcp", Obs: obs(probes.Open)},
		{Target: "api/ipv6", IPv6: true, Port: 22, Transport: "tcp", Obs: obs(probes.Closed)},
		{Target: "api/ipv6", IPv6: true, Port: 443, Transport: "tcp", Obs: obs(probes.Open)},
		{Target: "web/ipv6", IPv6: true, Port: 80, Transport: "tcp", Obs: obs(probes.Open)},
	})
	if ev.NetworkIPv6 != "api/ipv6 answered on 443/tcp" {
		t.Errorf("IPv6 evidence %q; want the first open answer over IPv6, api/ipv6's 443/tcp", ev.NetworkIPv6)
	}
}

// The reason a user reads names the state and, when the probe said more,
// its outcome in brackets; a bare state has no empty brackets.
func TestPortReasonNamesStateAndOutcome(t *testing.T) {
	bare := obs(probes.Open)
	bare.Outcome = ""
	timedOut := obs(probes.Filtered)
	timedOut.Outcome = "no answer after 2 tries"
	tests := []struct {
		name string
		word config.Word
		o    probes.Observation
		want string
	}{
		{"bare_state", config.Unreachable, bare, "expected unreachable, but it is open"},
		{"state_and_outcome", config.Open, timedOut, "expected open, but filtered (no answer after 2 tries)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Port(PortCase{Target: "api", Port: 22, Expected: tt.word, Obs: tt.o}, alive, false)
			if got.Verdict != Fail || got.Reason != tt.want {
				t.Errorf("got %s %q; want fail %q", got.Verdict, got.Reason, tt.want)
			}
		})
	}
}

// The reason of a row names the first port that decided it in full, and
// the others that agree by number: ten of them at most, then how many more.
func TestCombineReasonListsTheAgreeingPorts(t *testing.T) {
	fail := PortVerdict{Verdict: Fail, Reason: "open"}
	pass := PortVerdict{Verdict: Pass, Reason: "filtered"}
	// row makes n ports from 1001, failing where fails says.
	row := func(n int, fails func(i int) bool) ([]int, []PortVerdict) {
		var ports []int
		var pvs []PortVerdict
		for i := range n {
			ports = append(ports, 1001+i)
			if fails(i) {
				pvs = append(pvs, fail)
			} else {
				pvs = append(pvs, pass)
			}
		}
		return ports, pvs
	}
	all := func(int) bool { return true }
	tests := []struct {
		name  string
		n     int
		fails func(i int) bool
		want  string
	}{
		{"one_port_speaks_alone", 1, all, "open"},
		{"one_of_two_names_its_port", 2, func(i int) bool { return i == 1 }, "port 1002: open"},
		{"two_agree", 2, all, "port 1001: open; likewise port(s) 1002"},
		{"ten_alike_listed", 11, all, "port 1001: open; likewise port(s) 1002, 1003, 1004, 1005, 1006, 1007, 1008, 1009, 1010, 1011"},
		{"eleven_alike_one_counted", 12, all, "port 1001: open; likewise port(s) 1002, 1003, 1004, 1005, 1006, 1007, 1008, 1009, 1010, 1011, and 1 more"},
		{"many_alike_counted", 20, all, "port 1001: open; likewise port(s) 1002, 1003, 1004, 1005, 1006, 1007, 1008, 1009, 1010, 1011, and 9 more"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ports, pvs := row(tt.n, tt.fails)
			if got := Combine(false, alive, ports, pvs); got.Verdict != Fail || got.Reason != tt.want {
				t.Errorf("Combine = %s %q; want fail %q", got.Verdict, got.Reason, tt.want)
			}
		})
	}
}
