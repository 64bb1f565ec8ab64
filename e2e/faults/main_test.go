//go:build testbed

// Package faults proves "no false green" under faults (issue 6): the built
// probe binary runs the reference expectations.toml inside the testbed
// (scripts/testbed) while `scripts/testbed fault ...` breaks something —
// the prober's link, a middlebox that rejects, a target, the path, the STUN
// server, DNS, a ban part-way — and each test asserts the run's verdicts,
// exit code and report whole, and that nothing passes that is not true of
// the testbed at that moment.
//
// It has its own testbed (prefix "flt"), apart from the e2e package's, so
// a fault never leaks into another package's tests; every test clears its
// faults when it ends, pass or fail.
//
// Run as root: go test -tags testbed ./e2e/faults/  (scripts/test does).
package faults

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"probe/e2e/testbed"
	"probe/internal/testutil"
)

// bed is this package's testbed: its own, prefix "flt". A testbed left
// up by an earlier, killed run may still hold faults; they are cleared
// before the tests.
var bed = &testbed.Bed{Prefix: "flt"}

func TestMain(m *testing.M) {
	// The tests run the root expectations.toml with the testbed's
	// overrides (Main sets them), as the e2e package does.
	bed.BeforeTests = func() { bed.Run("fault", "clear") }
	os.Exit(bed.Main(m))
}

// fault injects one fault and clears every fault when the test ends.
func fault(t *testing.T, args ...string) {
	t.Helper()
	t.Cleanup(func() {
		if out, err := bed.Run("fault", "clear"); err != nil {
			t.Errorf("testbed fault clear: %v\n%s", err, out)
		}
	})
	if out, err := bed.Run(append([]string{"fault"}, args...)...); err != nil {
		t.Fatalf("testbed fault %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// Report is the part of the JSON report these tests read.
type Report struct {
	RunID         string `json:"run_id"`
	Started       time.Time
	Finished      time.Time
	Partial       bool   `json:"partial"`
	PartialReason string `json:"partial_reason"`
	Vantage       struct {
		Name, Declared, Established string
	} `json:"vantage"`
	Network struct {
		Working  bool
		Evidence string
	} `json:"network"`
	Targets []struct {
		Name             string
		Address          string
		At               string
		Alive            bool
		Evidence         string
		StoppedAnswering bool `json:"stopped_answering"`
	} `json:"targets"`
	Results []Result `json:"results"`
	NotRun  []string `json:"not_run"`
	Summary struct {
		Total, Pass, Fail, Inconclusive, Error int
		Note                                   string
	} `json:"summary"`
}

type Result struct {
	ID, Target, Verdict, Observed, Reason, Expected string
	Evidence                                        []struct {
		Port        int
		Control     bool
		Verdict     string
		Reason      string
		Observation struct {
			State    string
			Outcome  string
			Error    string
			Started  time.Time
			Attempts int
		}
	}
}

func (r Report) result(id string) Result {
	for _, res := range r.Results {
		if res.ID == id {
			return res
		}
	}
	return Result{}
}

// target is what the report says of name at one of its addresses (public,
// private, loopback).
func (r Report) target(name, at string) (alive, stopped bool, evidence string) {
	for _, t := range r.Targets {
		if t.Name == name && t.At == at {
			return t.Alive, t.StoppedAnswering, t.Evidence
		}
	}
	return false, false, "(no such target address in the report)"
}

func (r Report) table() string {
	var b strings.Builder
	for _, res := range r.Results {
		fmt.Fprintf(&b, "  %-13s %-20s expected %-11s observed %-22s %s\n", res.Verdict, res.ID, res.Expected, res.Observed, res.Reason)
	}
	fmt.Fprintf(&b, "  summary %+v partial %v not_run %v\n", r.Summary, r.Partial, r.NotRun)
	return b.String()
}

// every is the reference file's every expectation id a runner outside the
// VPC (internet, admin) judges: the servers' public addresses, and the data
// tier's names (nothing else of the data tier is stated for outside the VPC).
var every = []string{
	"api-ssh", "api-http", "api-https", "api-app-3000", "api-sip-tcp", "api-sip-udp", "api-rtp",
	"freeswitch-ssh", "freeswitch-sip-tcp", "freeswitch-sip-udp", "freeswitch-rtp", "freeswitch-esl-public", "freeswitch-web",
	"database-name", "redis-name",
}

// everyAPI is every expectation id the runner on the API server judges:
// its own host at each address, FreeSWITCH at its private and public
// addresses, and the data tier.
var everyAPI = []string{
	"api-http", "api-https", "api-http-private", "api-app-3000-loopback", "api-app-3000-private", "api-app-3000-public",
	"freeswitch-ssh", "freeswitch-sip-tcp", "freeswitch-sip-udp", "freeswitch-rtp",
	"freeswitch-esl-private", "freeswitch-esl-public", "freeswitch-sip-public-path",
	"database-postgres", "redis", "database-name", "redis-name",
}

// run is one probe run from runner, as a user would make it.
type run struct {
	report Report
	code   int
	output string
	out    string // the report's path
}

// command builds the probe command run inside runner's namespace, writing
// its report to out.
func command(runner, out string, args ...string) *exec.Cmd {
	return bed.Command(runner, out, append([]string{"--no-color", "--wide"}, args...)...)
}

func probe(t *testing.T, runner string, args ...string) run {
	t.Helper()
	return probeFile(t, runner, filepath.Join(bed.Root, "expectations.toml"), args...)
}

// probeFile is probe of another expectation file.
func probeFile(t *testing.T, runner, file string, args ...string) run {
	t.Helper()
	out := filepath.Join(t.TempDir(), "report.json")
	cmd := bed.CommandFile(runner, out, file, bed.Overrides, append([]string{"--no-color", "--wide"}, args...)...)
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	err := cmd.Run()
	bed.Finished(runner)
	return finish(t, err, out, &buf)
}

// finish reads a finished run's exit code and report; the report must
// exist, match the schema, and no temporary file may be left beside it.
func finish(t *testing.T, err error, out string, buf *bytes.Buffer) run {
	t.Helper()
	r := run{output: buf.String(), out: out, code: testutil.ExitCode(t, err)}
	r.report = readReport(t, out, r.output)
	return r
}

func readReport(t *testing.T, out, output string) Report {
	t.Helper()
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatalf("no report: %v\n%s", err, output)
	}
	testutil.ValidateReport(t, b)
	var r Report
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(filepath.Dir(out))
	for _, e := range entries {
		if e.Name() != filepath.Base(out) {
			t.Errorf("left beside the report: %s", e.Name())
		}
	}
	return r
}

// verdicts checks that the report judged exactly the ids of want, each
// with its verdict, and that each reason holds the fragment given after a
// "|" in want's value, if any.
func verdicts(t *testing.T, r Report, want map[string]string) {
	t.Helper()
	var got, exp []string
	for _, res := range r.Results {
		got = append(got, res.ID)
	}
	for id := range want {
		exp = append(exp, id)
	}
	sort.Strings(got)
	sort.Strings(exp)
	if strings.Join(got, ",") != strings.Join(exp, ",") {
		t.Errorf("judged %v; want exactly %v", got, exp)
	}
	bad := false
	for id, w := range want {
		verdict, fragment, _ := strings.Cut(w, "|")
		res := r.result(id)
		if res.Verdict != verdict || !strings.Contains(res.Reason, fragment) {
			bad = true
			t.Errorf("%s: %s (%s); want %s with %q", id, res.Verdict, res.Reason, verdict, fragment)
		}
	}
	if bad {
		t.Logf("the run's table:\n%s", r.table())
	}
	if n := len(r.Results); r.Summary.Total != n || r.Summary.Pass+r.Summary.Fail+r.Summary.Inconclusive+r.Summary.Error != n {
		t.Errorf("summary %+v does not count the %d results", r.Summary, n)
	}
}

// all returns want with every id of ids set to v.
func all(want map[string]string, v string, ids ...string) map[string]string {
	if want == nil {
		want = map[string]string{}
	}
	for _, id := range ids {
		want[id] = v
	}
	return want
}

func code(t *testing.T, r run, want int) {
	t.Helper()
	if r.code != want {
		t.Errorf("exit %d; want %d\n%s\n%s", r.code, want, r.report.table(), r.output)
	}
}

// withRow writes the reference file with extra TOML appended, and returns
// its path.
func withRow(t *testing.T, extra string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(bed.Root, "expectations.toml"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "expectations.toml")
	if err := os.WriteFile(path, append(b, extra...), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}
