package runner

import (
	"context"
	"fmt"
	"maps"
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"probe/internal/config"
	"probe/internal/engine"
	"probe/internal/plan"
	"probe/internal/report"
	"probe/internal/testutil"
	"probe/probes"
)

// sharedHostRun runs rows (TOML) against three loopback targets, one and
// two at 127.0.0.1 and three at 127.0.0.2, with open the port of a real
// listener and closed a port nothing listens on.
func sharedHostRun(t *testing.T, rows string) *report.Report {
	t.Helper()
	open := testutil.Port(testutil.Greeter(t, "127.0.0.1:0", "").Addr())
	closed := testutil.FreePort(t)
	src := `
[defaults]
timeout = "1s"
[[vantage]]
name = "internet"
catch_all = true
[[target]]
name = "one"
address = "127.0.0.1"
[[target]]
name = "two"
address = "127.0.0.1"
[[target]]
name = "three"
address = "127.0.0.2"
` + strings.NewReplacer("OPEN", fmt.Sprint(open), "CLOSED", fmt.Sprint(closed)).Replace(rows)
	f, err := config.Parse("shared.toml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rep, err := Run(ctx, f, Options{Vantage: Located{Name: "internet", Established: "stun-confirmed", NetworkEvidence: "test"}})
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// row writes an expectation of target at port.
func row(id, target, port, expect string) string {
	return fmt.Sprintf("[[expectation]]\nid = %q\ntarget = %q\nport = %s\ntransport = \"tcp\"\nprobe = \"tcp\"\nexpect = { internet = %q }\n", id, target, port, expect)
}

// fakeRun plans body from the internet vantage and judges a run in which
// every task answered open but those to a port of silent, which heard
// nothing; more, when set, adds to the results (closing re-checks, made a
// minute after t0) before the report is assembled as loc located it.
func fakeRun(t *testing.T, body string, silent []int, loc Located, more func(res *engine.Results, t0 time.Time)) *report.Report {
	t.Helper()
	f, err := config.Parse("fake.toml", []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	p, err := plan.Make(f, "internet", plan.Options{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	res := &engine.Results{Observations: make([]probes.Observation, len(p.Tasks)), Ran: make([]bool, len(p.Tasks))}
	for i, tk := range p.Tasks {
		res.Ran[i] = true
		res.Observations[i] = probes.Observation{State: probes.Open, Outcome: "handshake completed", Started: t0}
		if slices.Contains(silent, tk.Target.Port) {
			res.Observations[i] = probes.Observation{State: probes.Filtered, Outcome: "no answer", Started: t0, Attempts: 2}
		}
	}
	if more != nil {
		more(res, t0)
	}
	rep := &report.Report{}
	Assemble(rep, f, p, res, loc)
	return rep
}

// Two targets at one address are one host: an answer there shows both
// alive, whether the port that answered is declared on both (one probe,
// sent under the first target's name) or on one alone. A refusal at the
// other target then passes as the same target's would. A target at
// another address is not credited: its refusal stays inconclusive.
func TestTargetsAtOneAddressShareLiveness(t *testing.T) {
	for _, tc := range []struct {
		name, rows string
	}{
		{"the open port declared on both", row("one-open", "one", "OPEN", "open") + row("two-open", "two", "OPEN", "open")},
		{"the open port declared on one", row("one-open", "one", "OPEN", "open")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep := sharedHostRun(t, tc.rows+row("two-closed", "two", "CLOSED", "not_open")+row("three-closed", "three", "CLOSED", "not_open"))
			if r := resultOf(t, rep, "two-closed"); r.Verdict != "pass" || !strings.Contains(r.Reason, "two shown alive") {
				t.Errorf("two's refusal: %s (%s); want pass, two shown alive by the answer at its address", r.Verdict, r.Reason)
			}
			if r := resultOf(t, rep, "three-closed"); r.Verdict != "inconclusive" {
				t.Errorf("three's refusal, at 127.0.0.2 where nothing answered: %s (%s); want inconclusive", r.Verdict, r.Reason)
			}
			alive := map[string]bool{}
			for _, tl := range rep.Targets {
				alive[tl.Name] = tl.Alive
			}
			if !alive["one"] || !alive["two"] || alive["three"] {
				t.Errorf("targets alive %v; want one and two (127.0.0.1), not three (127.0.0.2)", alive)
			}
		})
	}
}

// The closing re-check is made once per task name (the engine's), so a
// target whose answers came through another target's task at its address
// is judged by that re-check: if the address stopped answering, so did
// it. A re-check of its own comes first; a target at another address
// takes no one else's. A name is one place per family it is dialled over:
// its row without a family and its IPv4 row are one path, dialled over
// IPv4, and a second target of that name shares its re-check.
func TestRecheckAtASharedAddress(t *testing.T) {
	rep := fakeRun(t, `
[[vantage]]
name = "internet"
catch_all = true
[[target]]
name = "one"
address = "203.0.113.10"
[[target]]
name = "two"
address = "203.0.113.10"
[[target]]
name = "own"
address = "203.0.113.10"
[[target]]
name = "three"
address = "203.0.113.11"
[[target]]
name = "named"
address = "www.example"
[[target]]
name = "alias"
address = "www.example"
`+row("one-web", "one", "80", "open")+row("two-web", "two", "80", "open")+row("own-web", "own", "80", "open")+
		row("own-ssh", "own", "22", "open")+row("three-web", "three", "80", "open")+
		row("named-web", "named", "80", "open")+strings.Replace(row("named-v4", "named", "80", "open"), "probe =", "family = \"ipv4\"\nprobe =", 1)+
		row("alias-web", "alias", "8080", "open"), nil,
		Located{Name: "internet", Established: "stun-confirmed", NetworkEvidence: "STUN answered"},
		func(res *engine.Results, t0 time.Time) {
			silent := engine.Recheck{Port: 80, Transport: "tcp", Obs: probes.Observation{State: probes.Filtered, Outcome: "no answer, 3 connects", Started: t0.Add(time.Minute)}}
			answered := engine.Recheck{Port: 22, Transport: "tcp", Obs: probes.Observation{State: probes.Open, Outcome: "handshake completed", Started: t0.Add(time.Minute)}}
			res.Recheck = map[string]engine.Recheck{"one": silent, "own": answered, "named": silent}
		})
	got := map[string]bool{}
	for _, tl := range rep.Targets {
		got[tl.Name] = tl.StoppedAnswering
		if tl.StoppedAnswering && !strings.Contains(tl.Evidence, "closing re-check of 80/tcp saw filtered (no answer, 3 connects)") {
			t.Errorf("%s stopped answering: %q; want the re-check it rests on", tl.Name, tl.Evidence)
		}
	}
	want := map[string]bool{"one": true, "two": true, "own": false, "three": false, "named": true, "alias": true}
	if !maps.Equal(got, want) {
		t.Errorf("stopped answering %v; want %v", got, want)
	}
}

// A silence over IPv6 rests on the prober's IPv6 being shown to work: a
// STUN answer and an answer over IPv4 say nothing of a dead IPv6 path, so
// a target declared to have nothing open over IPv6 cannot pass its IPv6
// silences on them. An answer over IPv6, from any target, shows it.
func TestIPv6SilenceWantsIPv6Shown(t *testing.T) {
	rows := `
[[vantage]]
name = "internet"
catch_all = true
[[target]]
name = "fs"
address = "203.0.113.7"
ipv6 = "2001:db8::7"
nothing_open_from = ["internet/ipv6"]
[[target]]
name = "web"
address = "2001:db8::80"
` + strings.Replace(row("fs-sip", "fs", "5060", "open"), "probe =", "family = \"ipv4\"\nprobe =", 1) + row("fs-esl", "fs", "8021", "unreachable")
	judged := func(t *testing.T, v6Answer string) report.Result {
		rep := fakeRun(t, rows+v6Answer, []int{8021}, Located{Name: "internet", Established: "stun-confirmed", NetworkEvidence: "STUN server 192.0.2.1:3478 answered"}, nil)
		for _, r := range rep.Results {
			if r.ID == "fs-esl" && r.Family == "ipv6" {
				return r
			}
		}
		t.Fatalf("no IPv6 result of fs-esl: %+v", rep.Results)
		return report.Result{}
	}
	if r := judged(t, ""); r.Verdict != "inconclusive" || !strings.Contains(r.Reason, "IPv6 was not shown to work") {
		t.Errorf("IPv6 silence with only IPv4 answers and STUN: %s (%s); want inconclusive, saying IPv6 was not shown to work", r.Verdict, r.Reason)
	}
	if r := judged(t, row("web", "web", "443", "open")); r.Verdict != "pass" || !strings.Contains(r.Reason, "over IPv6: web") {
		t.Errorf("IPv6 silence beside an answer over IPv6: %s (%s); want pass, naming the IPv6 answer", r.Verdict, r.Reason)
	}
	// A name dialled at its AAAA records answers over IPv6 too.
	named := "[[target]]\nname = \"named\"\naddress = \"v6.example\"\n" +
		strings.Replace(row("named-web", "named", "443", "open"), "probe =", "family = \"ipv6\"\nprobe =", 1)
	if r := judged(t, named); r.Verdict != "pass" || !strings.Contains(r.Reason, "over IPv6: named") {
		t.Errorf("IPv6 silence beside a name's answer over IPv6: %s (%s); want pass, naming the IPv6 answer", r.Verdict, r.Reason)
	}
}

// A runner on a server that reaches its own address has not shown its
// network working: the answer never left the machine. With no STUN answer
// either, a silence that rests on the network alone (a target with
// nothing open from here) cannot pass.
func TestOwnAddressIsNoNetworkEvidence(t *testing.T) {
	ownAddressRun(t, "127.0.0.1")
}

// An interface's address is the prober's own as loopback is (the machine's
// own list of them, not a test's).
func TestOwnInterfaceAddressIsNoNetworkEvidence(t *testing.T) {
	as, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range as {
		if p, err := netip.ParsePrefix(a.String()); err == nil && p.Addr().Is4() && !p.Addr().IsLoopback() {
			ownAddressRun(t, p.Addr().String())
			return
		}
	}
	t.Skip("no IPv4 address on an interface but loopback")
}

// ownAddressRun judges a run where only self, at address, answered.
func ownAddressRun(t *testing.T, address string) {
	t.Helper()
	// self's closing re-check answered too, from the same address.
	rep := fakeRun(t, `
[[vantage]]
name = "internet"
catch_all = true
[[target]]
name = "self"
address = "`+address+`"
[[target]]
name = "db"
address = "203.0.113.9"
nothing_open_from = ["internet"]
`+row("self-web", "self", "80", "open")+row("db-pg", "db", "5432", "unreachable"), []int{5432}, Located{Name: "internet", Established: "trusted-unconfirmed"},
		func(res *engine.Results, t0 time.Time) {
			res.Recheck = map[string]engine.Recheck{"self": {Port: 80, Transport: "tcp", Obs: probes.Observation{State: probes.Open, Outcome: "handshake completed", Started: t0.Add(time.Minute)}}}
		})
	if r := resultOf(t, rep, "db-pg"); r.Verdict != "inconclusive" || !strings.Contains(r.Reason, "network was not shown") {
		t.Errorf("db-pg: %s (%s); want inconclusive: the only answer came from the prober's own address", r.Verdict, r.Reason)
	}
	if r := resultOf(t, rep, "self-web"); r.Verdict != "pass" {
		t.Errorf("self-web: %s (%s); want pass", r.Verdict, r.Reason)
	}
	if rep.Network.Working {
		t.Errorf("network working: %s; want not shown", rep.Network.Evidence)
	}
}

// Two names are two places: an answer from one shows nothing of the other
// alive, and a row of no port left (its range all declared elsewhere) is
// judged with the rest.
func TestNamesAreTheirOwnPlaces(t *testing.T) {
	rep := fakeRun(t, `
[[vantage]]
name = "internet"
catch_all = true
[[target]]
name = "a"
address = "a.example"
[[target]]
name = "b"
address = "b.example"
`+row("a-web", "a", "80", "open")+row("b-ssh", "b", "22", "filtered")+`
[[expectation]]
id = "a-rest"
target = "a"
range = "80-80"
except_declared = true
transport = "tcp"
probe = "tcp"
expect = { internet = "not_open" }
`, []int{22}, Located{Name: "internet", Established: "stun-confirmed", NetworkEvidence: "STUN server 192.0.2.1:3478 answered"}, nil)
	alive := map[string]bool{}
	for _, tl := range rep.Targets {
		alive[tl.Name] = tl.Alive
	}
	if want := map[string]bool{"a": true, "b": false}; !maps.Equal(alive, want) {
		t.Errorf("alive %v; want %v: b.example answered nothing", alive, want)
	}
	r := resultOf(t, rep, "b-ssh")
	if r.Verdict != "inconclusive" || !strings.Contains(r.Reason, "not shown alive") {
		t.Errorf("b-ssh: %s (%s); want inconclusive, b not shown alive", r.Verdict, r.Reason)
	}
	if rest := resultOf(t, rep, "a-rest"); len(rest.Ports) != 0 {
		t.Errorf("a-rest: ports %v; want none (80 is declared)", rest.Ports)
	}
}
