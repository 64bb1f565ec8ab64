//go:build testbed

package faults

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The internet runner's expectations, by what they rest on.
var (
	// denyInternet rest on silence or refusal.
	denyInternet = []string{"api-ssh", "api-app-3000", "api-sip-tcp", "api-sip-udp", "api-rtp",
		"freeswitch-ssh", "freeswitch-esl-public", "freeswitch-web"}
	// answerInternet rest on an answer: they say what this vantage should
	// see and the VPC's runners (which have no row, or another) do not.
	answerInternet = []string{"api-http", "api-https", "freeswitch-sip-tcp", "freeswitch-sip-udp"}
	// names send nothing: the runner's resolver answers. What it answers
	// depends on where the prober stands (inside the VPC a name resolves
	// privately whatever the endpoint's setting), so they rest on the
	// vantage being confirmed.
	names = []string{"database-name", "redis-name"}
)

const (
	noNetwork  = "the prober's own network was not shown to work"
	noVantage  = "not confirmed over STUN"
	notAlive   = "was not shown alive"
	nearProber = "a device near the prober may have refused it"
)

// everywhereRow states, beside the reference file's rows, what every
// vantage sees alike: API's HTTPS through its public address, open from
// outside the VPC and from both servers (out through the gateway). The
// reference file has no such row (from outside the VPC every row says what
// that vantage sees and a VPC runner does not), so the tests of what a
// doubt about the vantage leaves judged add it.
const everywhereRow = `
[[expectation]]
id = "api-https-everywhere"
target = "api"
port = 443
transport = "tcp"
probe = "tcp"
at = "public"
purpose = "HTTPS through the public address, from anywhere"
expect = { admin = "open", internet = "open", api = "open", freeswitch = "open" }
`

// 1. The prober's network is cut: nothing passes. What rests on silence or
// refusal is inconclusive for the network, what should answer (each row
// of the reference file saying what this vantage sees, and no other) for
// the vantage, which no STUN answer confirmed; an answer every vantage
// should get fails; exit is 1, and the summary says why. The runner on the
// API server, cut off with its server, still hears its own host, and still
// nothing passes: an answer from its own address shows nothing of the
// network, so its silences and refusals rest on no network evidence, and
// no STUN answer confirms the vantage either (exit 3).
func TestNetworkCut(t *testing.T) {
	for _, f := range [][]string{
		{"cut", "internet"},       // the runner's link down
		{"blackhole", "internet"}, // everything it sends dropped upstream
	} {
		t.Run(f[0], func(t *testing.T) {
			fault(t, f...)
			r := probeFile(t, "internet", withRow(t, everywhereRow), "--from", "internet")
			want := all(nil, "inconclusive|"+noNetwork, denyInternet...)
			all(want, "inconclusive|"+noVantage, answerInternet...)
			all(want, "inconclusive|"+noVantage, "freeswitch-rtp")
			all(want, "inconclusive|"+noVantage, names...)
			want["api-https-everywhere"] = "fail|expected open"
			verdicts(t, r.report, want)
			code(t, r, 1)
			rep := r.report
			if rep.Network.Working || !strings.Contains(rep.Summary.Note, "could not reach the network") {
				t.Errorf("network %+v, note %q; want not working, and a note that the prober could not reach the network", rep.Network, rep.Summary.Note)
			}
			if rep.Vantage.Established != "unconfirmed" {
				t.Errorf("vantage %q; want unconfirmed: no STUN answer came", rep.Vantage.Established)
			}
			for _, tg := range rep.Targets {
				if tg.Alive {
					t.Errorf("target %s@%s alive (%s) with the prober cut off", tg.Name, tg.At, tg.Evidence)
				}
			}
		})
	}
	t.Run("cut_api_server", func(t *testing.T) {
		fault(t, "cut", "api")
		r := probe(t, "api", "--from", "api")
		rep := r.report
		want := all(nil, "inconclusive|"+noVantage, everyAPI...)
		// Silences and refusals: the network was not shown first (the
		// only answers came from the runner's own host).
		all(want, "inconclusive|"+noNetwork, "freeswitch-ssh", "api-app-3000-public", "freeswitch-esl-public", "api-app-3000-private")
		verdicts(t, rep, want)
		code(t, r, 3)
		if rep.Network.Working || !strings.Contains(rep.Summary.Note, "could not reach the network") {
			t.Errorf("network %+v, note %q; want not working (its own host's answers never crossed it), and a note that says so", rep.Network, rep.Summary.Note)
		}
		if rep.Vantage.Established != "unconfirmed" {
			t.Errorf("vantage %q; want unconfirmed: no STUN answer came", rep.Vantage.Established)
		}
		for _, tg := range rep.Targets {
			if tg.Name != "api" && tg.Alive {
				t.Errorf("target %s@%s alive (%s) with the API server cut off", tg.Name, tg.At, tg.Evidence)
			}
		}
	})
}

// 2. A middlebox next to the prober rejects everything it sends, with TCP
// RST and ICMP port unreachable, exactly as closed ports answer. None of
// those refusals may pass as a target's answer. With STUN let through, the
// prober's network is shown working, and still no target is shown alive;
// only the data tier's names pass then: they are addresses here (the
// testbed's overrides), nothing is sent for them, and the vantage is
// confirmed.
func TestMiddleboxRejects(t *testing.T) {
	for _, tc := range []struct {
		name   string
		args   []string
		answer string // what the rows expecting an answer come to
		names  string // what the data tier's names come to
		code   int
	}{
		{"everything", []string{"reject", "internet"}, "inconclusive|" + noVantage, "inconclusive|" + noVantage, 3},
		// An answer owed and not given fails: refused, or silent where
		// the middlebox's own ICMP errors ran out (the router's kernel
		// rate-limits them per peer, as any Linux box does).
		{"everything_but_stun", []string{"reject", "internet", "--except-stun"}, "fail|expected open, but", "pass", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fault(t, tc.args...)
			r := probe(t, "internet", "--from", "internet")
			rep := r.report
			code(t, r, tc.code)
			for _, res := range rep.Results {
				if res.Verdict == "pass" && !slices.Contains(names, res.ID) {
					t.Errorf("%s passed behind a middlebox that refuses everything: %s", res.ID, res.Reason)
				}
			}
			for _, id := range denyInternet {
				if res := rep.result(id); res.Verdict != "inconclusive" {
					t.Errorf("%s: %s (%s); want inconclusive: a refusal from next to the prober proves nothing of the target", id, res.Verdict, res.Reason)
				}
			}
			// Where a drop was expected and a TCP refusal came, the reason
			// names the device near the prober.
			for _, id := range []string{"api-ssh", "api-sip-tcp", "freeswitch-ssh", "freeswitch-esl-public", "freeswitch-web"} {
				if res := rep.result(id); !strings.Contains(res.Reason, nearProber) && !strings.Contains(res.Reason, noNetwork) {
					t.Errorf("%s: reason %q; want it to say a device near the prober may have refused it", id, res.Reason)
				}
			}
			check := func(ids []string, want string) {
				v, frag, _ := strings.Cut(want, "|")
				for _, id := range ids {
					if res := rep.result(id); res.Verdict != v || !strings.Contains(res.Reason, frag) {
						t.Errorf("%s: %s (%s); want %s with %q", id, res.Verdict, res.Reason, v, frag)
					}
				}
			}
			check(answerInternet, tc.answer)
			if tc.code == 1 {
				// A TCP RST is not rate-limited: over TCP the refusal is seen.
				check([]string{"api-http", "api-https", "freeswitch-sip-tcp"}, "fail|expected open, but closed")
			}
			check(names, tc.names)
			// The RTP range's refusals are the middlebox's, and never pass
			// (checked above); the range is inconclusive, or fails where
			// the middlebox's rate-limited ICMP errors left it all silent.
			if res := rep.result("freeswitch-rtp"); res.Verdict != "inconclusive" && res.Verdict != "fail" {
				t.Errorf("freeswitch-rtp: %s (%s); want inconclusive or fail", res.Verdict, res.Reason)
			}
			for _, name := range []string{"api", "freeswitch"} {
				if alive, _, ev := rep.target(name, "public"); alive {
					t.Errorf("target %s shown alive (%s) by a middlebox's refusals", name, ev)
				}
			}
			if stunLet := len(tc.args) == 3; rep.Network.Working != stunLet {
				t.Errorf("network working %v (%s); want %v", rep.Network.Working, rep.Network.Evidence, stunLet)
			}
		})
	}
}

// 3. One target is down (its link): its expectations of an answer fail,
// those resting on silence are inconclusive, and every other target's
// verdicts are as on a healthy testbed. FreeSWITCH, from the admin runner,
// where its SSH is open too; the data tier, from the runner on the API
// server, the only place the reference file expects it to answer.
func TestTargetDown(t *testing.T) {
	t.Run("freeswitch_from_admin", func(t *testing.T) {
		fault(t, "down", "freeswitch")
		r := probe(t, "admin", "--from", "admin")
		want := all(nil, "pass", "api-ssh", "api-http", "api-https", "api-app-3000", "api-sip-tcp", "api-sip-udp", "api-rtp")
		all(want, "pass", names...)
		all(want, "fail|expected open", "freeswitch-ssh", "freeswitch-sip-tcp", "freeswitch-sip-udp")
		all(want, "fail|expected reachable", "freeswitch-rtp")
		all(want, "inconclusive|freeswitch@public "+notAlive, "freeswitch-esl-public", "freeswitch-web")
		verdicts(t, r.report, want)
		code(t, r, 1)
		if alive, _, ev := r.report.target("freeswitch", "public"); alive {
			t.Errorf("freeswitch alive (%s) with its link down", ev)
		}
		if alive, _, ev := r.report.target("api", "public"); !alive {
			t.Errorf("api not alive (%s); its link is up", ev)
		}
	})
	t.Run("database_from_api", func(t *testing.T) {
		fault(t, "down", "database")
		r := probe(t, "api", "--from", "api")
		want := all(nil, "pass", everyAPI...)
		all(want, "fail|expected open", "database-postgres", "redis")
		verdicts(t, r.report, want)
		code(t, r, 1)
		for _, name := range []string{"database", "redis"} {
			if alive, _, ev := r.report.target(name, "private"); alive {
				t.Errorf("%s alive (%s) with the data tier's link down", name, ev)
			}
		}
		if alive, _, ev := r.report.target("freeswitch", "private"); !alive {
			t.Errorf("freeswitch not alive (%s); its link is up", ev)
		}
	})
}

// 4. 20% loss both ways: the verdicts are those of a healthy path. The one
// exception allowed is the RTP range, which sends one packet per port and
// never retries (a stray packet can move a live call's media): a lost ICMP
// error leaves a silent port among refused ones, and the verdict is then
// inconclusive and says so, never fail.
func TestPacketLoss(t *testing.T) {
	fault(t, "loss", "20")
	r := probe(t, "internet", "--from", "internet")
	rep := r.report
	known := 0
	for _, id := range every {
		res := rep.result(id)
		switch {
		case res.Verdict == "pass":
		case id == "freeswitch-rtp" && res.Verdict == "inconclusive" &&
			(strings.Contains(res.Reason, "were refused") || strings.Contains(res.Reason, "ICMP error budget may have been spent") ||
				strings.Contains(res.Reason, "loss alone")):
			// A lost ICMP error leaves a silent port among refused ones:
			// doubtful beside the refusals, or, since the host refuses,
			// by the replay that then counts every silence as a spent token;
			// and a port silent to its second packet too, on a path this
			// lossy, is what the measured loss explains.
		case res.Verdict == "inconclusive" && allowsAnswer(res) && strings.Contains(res.Reason, "could not decide min_tls_version"):
			// A handshake offering an old TLS version that never
			// connected in its window: the assertion is undecided, and
			// says so; never a pass, never a fail.
			t.Logf("undecided under loss: %s: %s", id, res.Reason)
		case res.Verdict == "fail" && allowsAnswer(res) && timedOut(res.Reason):
			// KNOWN, not yet fixed (reported on issue 6): an exchange that
			// must answer gets one 3 s window; with 20% loss each way
			// SIP over UDP (3 sends) or a TLS handshake plus request
			// sometimes loses every try, and the open port fails. Logged,
			// not hidden; every deny-expectation is still held strictly.
			known++
			t.Logf("known false fail under loss: %s: %s", id, res.Reason)
		default:
			t.Errorf("%s: %s (%s); want pass, as without loss", id, res.Verdict, res.Reason)
		}
	}
	if r.code != 0 && r.code != 3 && known == 0 {
		t.Errorf("exit %d; want 0 (or 3 for the RTP range's doubt)\n%s", r.code, rep.table())
	}
	for _, tg := range rep.Targets {
		if tg.StoppedAnswering {
			t.Errorf("target %s said to have stopped answering (%s); loss is not a stop", tg.Name, tg.Evidence)
		}
	}
}

func allowsAnswer(res Result) bool {
	return res.Expected == "open" || res.Expected == "reachable"
}

func timedOut(reason string) bool {
	return strings.Contains(reason, "no reply to") || strings.Contains(reason, "before the timeout")
}

// 5. ICMP rate limiting at FreeSWITCH, stricter than Linux's default
// (net.ipv4.icmp_ratelimit 5000 ms in its namespace): some ports of its idle
// RTP range are silent only because their ICMP error was never sent. The
// range must not be judged unreachable for that; it is inconclusive and
// says why. And when the run's deadline cannot cover the sample, the ports
// left out make it inconclusive and the report partial.
func TestICMPRateLimit(t *testing.T) {
	fault(t, "icmp-limit", "5000")
	t.Run("stricter_limit", func(t *testing.T) {
		r := probe(t, "internet", "--from", "internet")
		want := all(nil, "pass", every...)
		want["freeswitch-rtp"] = "inconclusive|were refused"
		verdicts(t, r.report, want)
		code(t, r, 3)
		for _, ev := range r.report.result("freeswitch-rtp").Evidence {
			if ev.Verdict == "fail" {
				t.Errorf("port %d judged fail (%s): rate limiting is not a filter", ev.Port, ev.Reason)
			}
		}
	})
	t.Run("deadline_too_short", func(t *testing.T) {
		// The sample is 12 ports: the controls and the first in-range
		// ports at once, then, the bucket spent, one a second at best
		// (the live account assumes Linux's 1 s; this kernel earns one
		// back each 5 s, and the last subtest left it short). A port is
		// sent only while its wait (half the 2 s left) fits: 2 s cannot
		// cover it. A
		// control may pass on its silence (it is outside the range, and
		// was sent with the bucket full); an in-range port passes only
		// on a refusal.
		r := probe(t, "internet", "--from", "internet", "--only", "freeswitch-rtp,freeswitch-sip-tcp", "--deadline", "2s")
		verdicts(t, r.report, map[string]string{
			"freeswitch-sip-tcp": "pass",
			"freeswitch-rtp":     "inconclusive",
		})
		code(t, r, 3)
		kept := 0
		for _, ev := range r.report.result("freeswitch-rtp").Evidence {
			if ev.Verdict == "fail" || ev.Verdict == "pass" && !ev.Control && ev.Observation.State != "closed" {
				t.Errorf("port %d: %s (%s)", ev.Port, ev.Verdict, ev.Reason)
			}
			if ev.Verdict == "inconclusive" && strings.Contains(ev.Reason, "deadline") {
				kept++
			}
		}
		if kept == 0 {
			t.Errorf("no port of the sample says the deadline kept it back\n%s", r.report.table())
		}
		if !r.report.Partial || strings.Join(r.report.NotRun, ",") != "freeswitch-rtp" {
			t.Errorf("partial %v, not_run %v; want partial, with freeswitch-rtp not run", r.report.Partial, r.report.NotRun)
		}
	})
}

// 6. The STUN server is down: the vantage is unconfirmed, so what this
// vantage should see differently from the others cannot be judged (every
// row of the reference file, the names too: inside the VPC a name always
// resolves privately); what every vantage should see still is. With
// --trust-vantage, the run takes --from on trust, says so, and judges
// everything.
func TestSTUNDown(t *testing.T) {
	fault(t, "stun-down")
	t.Run("unconfirmed", func(t *testing.T) {
		r := probeFile(t, "internet", withRow(t, everywhereRow), "--from", "internet")
		want := all(nil, "inconclusive|"+noVantage, every...)
		want["api-https-everywhere"] = "pass"
		verdicts(t, r.report, want)
		code(t, r, 3)
		if r.report.Vantage.Established != "unconfirmed" || !r.report.Network.Working {
			t.Errorf("vantage %q, network %+v; want unconfirmed, and the network shown working by a target's answer", r.report.Vantage.Established, r.report.Network)
		}
	})
	t.Run("trust_vantage", func(t *testing.T) {
		r := probe(t, "internet", "--from", "internet", "--trust-vantage")
		verdicts(t, r.report, all(nil, "pass", every...))
		code(t, r, 0)
		if r.report.Vantage.Established != "trusted-unconfirmed" {
			t.Errorf("vantage %q; want trusted-unconfirmed", r.report.Vantage.Established)
		}
	})
}

// 7. A target's name does not resolve: its expectations are errors naming
// the name; the rest of the run is as on a healthy testbed. The runner's
// resolver is the testbed's router, where nothing answers on port 53, so
// the lookup fails at once and no query leaves the testbed. From outside
// the VPC only the database's name row uses the name; from the runner on
// the API server, the PostgreSQL row dials by it too.
func TestNameDoesNotResolve(t *testing.T) {
	const name = "database.flt-testbed.invalid"
	for _, tc := range []struct {
		runner, resolver string
		ids, errs        []string
	}{
		{"internet", "198.51.100.1:53", every, []string{"database-name"}},
		{"api", "10.0.1.1:53", everyAPI, []string{"database-name", "database-postgres"}},
	} {
		t.Run(tc.runner, func(t *testing.T) {
			fault(t, "dns", tc.runner)
			r := probe(t, tc.runner, "--from", tc.runner, "--target", "database.private="+name)
			want := all(nil, "pass", tc.ids...)
			all(want, "error|"+name, tc.errs...)
			verdicts(t, r.report, want)
			code(t, r, 3)
			for _, id := range tc.errs {
				if res := r.report.result(id); !strings.Contains(res.Reason, tc.resolver) {
					t.Errorf("%s: reason %q; want the lookup to have gone to the testbed's router, %s", id, res.Reason, tc.resolver)
				}
			}
		})
	}
}

// 8. FreeSWITCH starts dropping the prober part-way, as fail2ban would: an
// nftables meter bans the source after 8 new connections that its security
// group let in (from the internet: SIP over TCP and UDP, and the RTP range,
// whose ports beyond the ICMP burst go one a second, taking the count past 8
// a second or two into the run, after SIP has answered). The test watches the ban set itself, so it knows when
// the ban began, apart from anything the probe says: no port of FreeSWITCH
// probed after that moment may pass, and the report must say FreeSWITCH
// stopped answering.
func TestBanPartWay(t *testing.T) {
	fault(t, "ban", "freeswitch", "8")
	var banAt time.Time
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			out, err := exec.Command("ip", "netns", "exec", bed.Info["NS_FREESWITCH"], "nft", "-j", "list", "set", "inet", "fault", "banned").Output()
			if err == nil && bytes.Contains(out, []byte(`"elem"`)) {
				banAt = time.Now()
				return
			}
		}
	}()
	r := probe(t, "internet", "--from", "internet")
	close(stop)
	wg.Wait()
	rep := r.report
	if banAt.IsZero() || banAt.After(rep.Finished) {
		t.Fatalf("the ban did not happen during the run (ban seen at %v, run %v..%v)\n%s", banAt, rep.Started, rep.Finished, rep.table())
	}
	// The ban is seen up to one poll late: a probe started shortly before
	// banAt may or may not have met it, and is not counted; one started
	// after banAt certainly did.
	after := 0
	for _, res := range rep.Results {
		if res.Target != "freeswitch" {
			if res.Verdict != "pass" {
				t.Errorf("%s: %s (%s); the ban touches only freeswitch", res.ID, res.Verdict, res.Reason)
			}
			continue
		}
		for _, ev := range res.Evidence {
			if !ev.Observation.Started.After(banAt) {
				continue
			}
			after++
			if ev.Verdict == "pass" {
				t.Errorf("%s port %d probed %v after the ban and passed: %s", res.ID, ev.Port, ev.Observation.Started.Sub(banAt), ev.Reason)
			}
		}
	}
	if after == 0 {
		t.Fatalf("no port of freeswitch was probed after the ban; the scenario did not happen\n%s", rep.table())
	}
	if _, stopped, ev := rep.target("freeswitch", "public"); !stopped || !strings.Contains(rep.Summary.Note, "freeswitch stopped answering") {
		t.Errorf("freeswitch stopped_answering %v (%s), note %q; want the report to say it stopped answering", stopped, ev, rep.Summary.Note)
	}
	if r.code == 0 {
		t.Errorf("exit 0 with freeswitch banning the prober\n%s", rep.table())
	}
}

// 9. SIGINT and SIGTERM part-way (during the RTP ranges' pacing): a valid
// report marked partial, listing what did not run, exit 130 or 143, and no
// temporary file beside it.
func TestInterrupted(t *testing.T) {
	for _, tc := range []struct {
		sig  syscall.Signal
		code int
	}{{syscall.SIGINT, 130}, {syscall.SIGTERM, 143}} {
		t.Run(tc.sig.String(), func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "report.json")
			cmd := command("internet", out, "--from", "internet")
			var buf bytes.Buffer
			cmd.Stdout, cmd.Stderr = &buf, &buf
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			// `scripts/testbed exec` and `ip netns exec` both exec, so
			// the process is probe itself. The ranges take about 8 s.
			time.Sleep(4 * time.Second)
			if err := cmd.Process.Signal(tc.sig); err != nil {
				t.Fatal(err)
			}
			err := cmd.Wait()
			bed.Finished("internet")
			r := finish(t, err, out, &buf)
			code(t, r, tc.code)
			rep := r.report
			if !rep.Partial || !strings.Contains(rep.PartialReason, "interrupted") {
				t.Errorf("partial %v (%q); want partial, interrupted", rep.Partial, rep.PartialReason)
			}
			if len(rep.NotRun) == 0 {
				t.Fatalf("not_run is empty; the ranges were still pacing\n%s", rep.table())
			}
			for _, id := range rep.NotRun {
				if v := rep.result(id).Verdict; v != "inconclusive" {
					t.Errorf("%s did not run, yet is %s", id, v)
				}
			}
			if len(rep.Results) != len(every) {
				t.Errorf("%d results; want every expectation (%d) listed, run or not", len(rep.Results), len(every))
			}
		})
	}
}

// 10. Two runs write the same report path at once: the file is one whole
// report of one of them, valid against the schema, and nothing else is
// left in the directory.
func TestConcurrentWrites(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "report.json")
	var wg sync.WaitGroup
	outputs := make([]bytes.Buffer, 2)
	errs := make([]error, 2)
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := command("internet", out, "--from", "internet", "--only", "freeswitch-sip-tcp,freeswitch-sip-udp,api-http")
			cmd.Stdout, cmd.Stderr = &outputs[i], &outputs[i]
			errs[i] = cmd.Run()
			bed.Finished("internet")
		}()
	}
	wg.Wait()
	var ids []string
	for i := range 2 {
		if errs[i] != nil {
			t.Errorf("run %d: %v\n%s", i, errs[i], outputs[i].String())
		}
		// The table's first line: "probe run <run id> from vantage ..."
		f := strings.Fields(outputs[i].String())
		if len(f) < 3 {
			t.Fatalf("run %d printed %q", i, outputs[i].String())
		}
		ids = append(ids, f[2])
	}
	rep := readReport(t, out, outputs[0].String()+outputs[1].String())
	if rep.RunID != ids[0] && rep.RunID != ids[1] {
		t.Errorf("the report's run id %q is neither run's (%v)", rep.RunID, ids)
	}
	b, _ := os.ReadFile(out)
	var whole map[string]any
	if err := json.Unmarshal(b, &whole); err != nil || len(rep.Results) != 3 {
		t.Errorf("the report is not one whole run: %v, %d results", err, len(rep.Results))
	}
}

// 12. Decisive RTP. FreeSWITCH's security group narrowed to 16384-20000 of
// its 16384-32768 range: the sampled ports above 20000 are silent, and a
// second packet to each, bracketed by refused ports of the range sent again
// just before and after, shows the silence is the filter's. The range
// fails, not inconclusive; every other verdict is a healthy run's. No port
// gets more than two packets.
func TestNarrowedRTPRangeFails(t *testing.T) {
	fault(t, "narrow-rtp", "20000")
	r := probe(t, "internet", "--from", "internet")
	want := all(nil, "pass", every...)
	want["freeswitch-rtp"] = "fail|expected reachable"
	verdicts(t, r.report, want)
	code(t, r, 1)
	for _, ev := range r.report.result("freeswitch-rtp").Evidence {
		if ev.Observation.Attempts > 2 {
			t.Errorf("port %d got %d packets; at most 2 per RTP port", ev.Port, ev.Observation.Attempts)
		}
		if !ev.Control && ev.Port > 20000 && ev.Verdict != "fail" {
			t.Errorf("port %d, outside what the group lets in: %s (%s); want fail", ev.Port, ev.Verdict, ev.Reason)
		}
		if !ev.Control && ev.Port <= 20000 && ev.Verdict != "pass" {
			t.Errorf("port %d, inside what the group lets in: %s (%s); want pass", ev.Port, ev.Verdict, ev.Reason)
		}
	}
}

// 13. A healthy RTP range on a path losing 5% of the packets each way
// (about 10% of round trips): a port whose first ICMP error was lost gets a
// second packet, which is refused, and the range passes. Loss can leave a
// port silent to both packets; the range is then inconclusive and says the
// measured loss explains it. Never a fail.
func TestRTPRangeUnderLoss(t *testing.T) {
	fault(t, "loss", "5")
	r := probe(t, "internet", "--from", "internet", "--only", "freeswitch-rtp,freeswitch-sip-tcp")
	res := r.report.result("freeswitch-rtp")
	switch {
	case res.Verdict == "pass":
	case res.Verdict == "inconclusive" && strings.Contains(res.Reason, "loss alone"):
		t.Logf("undecided under loss: %s", res.Reason)
	default:
		t.Errorf("freeswitch-rtp: %s (%s); want pass (or inconclusive by the measured loss)\n%s", res.Verdict, res.Reason, r.report.table())
	}
	for _, ev := range res.Evidence {
		if ev.Observation.Attempts > 2 {
			t.Errorf("port %d got %d packets; at most 2 per RTP port", ev.Port, ev.Observation.Attempts)
		}
	}
}
