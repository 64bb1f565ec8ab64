package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"probe/internal/testutil"
)

// The binary is built once for every test in this file.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "probe-bin-")
	if err != nil {
		panic(err)
	}
	if binary, err = testutil.BuildProbe(dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// tcpListener is a loopback port that writes greeting to each connection.
func tcpListener(t *testing.T, greeting string) int {
	return testutil.Port(testutil.Greeter(t, "127.0.0.1:0", greeting).Addr())
}

// config writes an expectation table aimed at loopback.
func config(t *testing.T, body string) string {
	path := filepath.Join(t.TempDir(), "expectations.toml")
	head := `
[defaults]
timeout = "500ms"
deadline = "20s"

[[vantage]]
name = "local"
cidrs = ["127.0.0.0/8"]

[[vantage]]
name = "internet"
catch_all = true

[[target]]
name = "box"
address = "127.0.0.1"
`
	if err := os.WriteFile(path, []byte(head+body), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func run(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	return testutil.Run(t, exec.Command(binary, args...))
}

type reportDoc struct {
	Partial bool `json:"partial"`
	Vantage struct {
		Name, Established string
	} `json:"vantage"`
	Results []struct {
		ID, Verdict, Observed, Reason string
	} `json:"results"`
	Summary struct{ Pass, Fail, Inconclusive, Error int } `json:"summary"`
}

func readReport(t *testing.T, path string) (reportDoc, []byte) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var r reportDoc
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	return r, b
}

func TestRunAgainstLoopback(t *testing.T) {
	stunAddr := testutil.STUNResponder(t)
	open := tcpListener(t, "Content-Type: auth/request\n\n")
	closed := testutil.FreePort(t)
	cfg := config(t, fmt.Sprintf(`
[[expectation]]
id = "esl"
target = "box"
port = %d
transport = "tcp"
probe = "tcp"
expect = { local = "open", internet = "filtered" }
[expectation.tcp]
banner = "auth/request"

[[expectation]]
id = "app-3000"
target = "box"
port = %d
transport = "tcp"
probe = "tcp"
expect = { local = "not_open" }
`, open, closed))
	out := filepath.Join(t.TempDir(), "r.json")
	stdout, stderr, code := run(t, "run", "--from", "local", "--stun", stunAddr, "--out", out, cfg)
	if code != 0 {
		t.Fatalf("exit %d; want 0\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	rep, raw := readReport(t, out)
	testutil.ValidateReport(t, raw)
	if rep.Vantage.Name != "local" || rep.Vantage.Established != "stun-confirmed" {
		t.Errorf("vantage = %+v; want local, stun-confirmed", rep.Vantage)
	}
	want := map[string]string{"esl": "pass", "app-3000": "pass"}
	for _, r := range rep.Results {
		if want[r.ID] != r.Verdict {
			t.Errorf("%s: verdict %s (%s); want %s", r.ID, r.Verdict, r.Reason, want[r.ID])
		}
	}
	if !strings.Contains(stdout, "PASS") || !strings.Contains(stdout, "report: "+out) {
		t.Errorf("table missing verdicts or report path:\n%s", stdout)
	}
	if strings.Contains(stdout, "\x1b[") {
		t.Errorf("colour escapes written to a pipe")
	}
}

func TestRunFailsAndExitsOne(t *testing.T) {
	stunAddr := testutil.STUNResponder(t)
	open := tcpListener(t, "")
	cfg := config(t, fmt.Sprintf(`
[[expectation]]
id = "should-be-shut"
target = "box"
port = %d
transport = "tcp"
probe = "tcp"
purpose = "Node app (localhost only)"
expect = { local = "not_open" }
`, open))
	out := filepath.Join(t.TempDir(), "r.json")
	_, _, code := run(t, "run", "--from", "local", "--stun", stunAddr, "--out", out, cfg)
	rep, raw := readReport(t, out)
	testutil.ValidateReport(t, raw)
	if code != 1 || rep.Summary.Fail != 1 {
		t.Errorf("exit %d, summary %+v; want exit 1 with one failure", code, rep.Summary)
	}
}

func TestRunWithoutNetworkEvidenceIsInconclusive(t *testing.T) {
	// Nothing answers: no STUN server, and the only port is closed. A
	// refusal with nothing alive must not pass.
	closed := testutil.FreePort(t)
	deadSTUN := testutil.FreePort(t)
	cfg := config(t, fmt.Sprintf(`
[[expectation]]
id = "shut"
target = "box"
port = %d
transport = "tcp"
probe = "tcp"
expect = { local = "not_open" }
`, closed))
	out := filepath.Join(t.TempDir(), "r.json")
	_, stderr, code := run(t, "run", "--from", "local", "--trust-vantage", "--stun", fmt.Sprintf("127.0.0.1:%d", deadSTUN), "--out", out, cfg)
	rep, raw := readReport(t, out)
	testutil.ValidateReport(t, raw)
	if code != 3 || len(rep.Results) != 1 || rep.Results[0].Verdict != "inconclusive" {
		t.Errorf("exit %d, results %+v; want exit 3 and inconclusive\n%s", code, rep.Results, stderr)
	}
	if rep.Vantage.Established != "trusted-unconfirmed" {
		t.Errorf("established = %q; want trusted-unconfirmed", rep.Vantage.Established)
	}
}

func TestRunWrongVantageStops(t *testing.T) {
	stunAddr := testutil.STUNResponder(t)
	cfg := config(t, `
[[expectation]]
id = "x"
target = "box"
port = 9
transport = "tcp"
probe = "tcp"
expect = { internet = "filtered" }
`)
	_, stderr, code := run(t, "run", "--from", "internet", "--stun", stunAddr, "--out", filepath.Join(t.TempDir(), "r.json"), cfg)
	if code != 2 || !strings.Contains(stderr, "127.0.0.1") || !strings.Contains(stderr, "local") {
		t.Errorf("exit %d, stderr %q; want exit 2 naming the address and the vantage that holds it", code, stderr)
	}
}

func TestValidateExitCodes(t *testing.T) {
	stdout, _, code := run(t, "validate", "../../expectations.toml")
	if code != 0 || !strings.Contains(stdout, "ok") {
		t.Errorf("validate reference file: exit %d, %q", code, stdout)
	}
	bad := filepath.Join(t.TempDir(), "bad.toml")
	os.WriteFile(bad, []byte("[[vantage]]\nnam = \"x\"\n"), 0o644)
	_, stderr, code := run(t, "validate", bad)
	if code != 2 || !strings.Contains(stderr, bad+":2:1: vantage[0].nam: unknown key") {
		t.Errorf("validate bad file: exit %d, %q", code, stderr)
	}
	if _, _, code := run(t, "frobnicate"); code != 2 {
		t.Errorf("unknown command: exit %d; want 2", code)
	}
}

func TestPlanSendsNothingAndListsProbes(t *testing.T) {
	stdout, stderr, code := run(t, "plan", "--from", "internet", "--seed", "7", "../../expectations.toml")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"api-ssh", "3.83.53.69", "22/tcp", "sampled from 16384-32768", "control, just outside the range", "seed 7"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("plan output lacks %q:\n%s", want, stdout)
		}
	}
	again, _, _ := run(t, "plan", "--from", "internet", "--seed", "7", "../../expectations.toml")
	if again != stdout {
		t.Errorf("the same seed gave a different plan")
	}
}

// TestValidateMalformedFiles feeds the built binary files no config should
// be: each gets exit 2 and a message naming the file, never a panic.
func TestValidateMalformedFiles(t *testing.T) {
	dir := t.TempDir()
	valid, err := os.ReadFile("../../expectations.toml")
	if err != nil {
		t.Fatal(err)
	}
	junk := make([]byte, 4096)
	for i := range junk {
		junk[i] = byte(i*7919 + 13)
	}
	cases := map[string][]byte{
		"binary-junk":      junk,
		"ten-mb-nesting":   []byte(strings.Repeat("a = [", 2<<20)),
		"port-99999":       []byte(strings.Replace(string(valid), "port = 22", "port = 99999", 1)),
		"cidr-33":          []byte(strings.Replace(string(valid), "73.6.78.238/32", "73.6.78.238/33", 1)),
		"empty":            nil,
		"bom":              append([]byte("\xef\xbb\xbf"), valid...),
		"unterminated":     []byte("[[vantage]\nname = \"x"),
		"deep-inline":      []byte("x = " + strings.Repeat("{a = ", 100000)),
		"huge-integer":     []byte(strings.Replace(string(valid), "port = 22", "port = 99999999999999999999999", 1)),
		"duplicate-tables": []byte("[defaults]\n[defaults]\n"),
	}
	for name, body := range cases {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(dir, name+".toml")
			if err := os.WriteFile(path, body, 0o644); err != nil {
				t.Fatal(err)
			}
			_, stderr, code := run(t, "validate", path)
			if code != 2 || !strings.HasPrefix(stderr, path) || strings.Contains(stderr, "panic") || strings.Contains(stderr, "goroutine") {
				t.Errorf("exit %d, stderr %.300q; want exit 2 and a message that starts with the file name", code, stderr)
			}
		})
	}
}

// A TCP sweep sent half-open (--tcp-sweep syn, root only) and with connects
// finds the same ports, open and closed, on loopback, and the report says
// which ran; auto picks syn where it may. Without CAP_NET_RAW, syn stops
// the run before anything is sent (exit 4) and auto sweeps with connects.
func TestRunSweepMethods(t *testing.T) {
	stunAddr := testutil.STUNResponder(t)
	open, declared, closed := tcpListener(t, "SSH-2.0-fake\r\n"), tcpListener(t, ""), testutil.FreePort(t)
	// declaredRow is the open port every file here declares beside its
	// sweeps; sweepRow a sweep of lo-hi that expects nothing open, with
	// section appended.
	declaredRow := fmt.Sprintf(`
[[expectation]]
id = "declared"
target = "box"
port = %d
transport = "tcp"
probe = "tcp"
expect = { local = "open" }
`, declared)
	sweepRow := func(id string, lo, hi int, section string) string {
		return fmt.Sprintf(`
[[expectation]]
id = %q
target = "box"
range = "%d-%d"
transport = "tcp"
probe = "tcp"
expect = { local = "not_open" }
%s`, id, lo, hi, section)
	}
	cfg := config(t, declaredRow+sweepRow("sweep-open", open, open, "")+sweepRow("sweep-closed", closed, closed, ""))
	type sweepDoc struct {
		Results []struct {
			ID, Verdict string
			Ports       []int
			Sweep       *struct {
				Method       string `json:"method"`
				MethodReason string `json:"method_reason"`
			} `json:"sweep"`
		} `json:"results"`
	}
	// sweep runs cfg with --tcp-sweep method, with CAP_NET_RAW or without
	// it, and returns each row's verdict and ports, each sweep's method,
	// the exit code and the output; reasons gets each method_reason.
	reasons := map[string]string{}
	sweep := func(cfg, method string, raw bool) (map[string]string, int, string) {
		out := filepath.Join(t.TempDir(), "r.json")
		args := []string{"run", "--from", "local", "--stun", stunAddr, "--tcp-sweep", method, "--out", out, cfg}
		cmd := exec.Command(binary, args...)
		if !raw {
			cmd = withoutNetRaw(t, args...)
		}
		stdout, stderr, code := testutil.Run(t, cmd)
		b, err := os.ReadFile(out)
		if err != nil {
			return nil, code, stdout + stderr
		}
		testutil.ValidateReport(t, b)
		var r sweepDoc
		if err := json.Unmarshal(b, &r); err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, res := range r.Results {
			got[res.ID] = fmt.Sprintf("%s %v", res.Verdict, res.Ports)
			if res.Sweep != nil {
				got[res.ID+" method"] = res.Sweep.Method
				reasons[res.ID] = res.Sweep.MethodReason
				if res.Sweep.MethodReason == "" {
					t.Errorf("%s: %s has no method_reason", method, res.ID)
				}
			}
		}
		return got, code, stdout + stderr
	}
	want := func(method string) map[string]string {
		return map[string]string{
			"declared":            fmt.Sprintf("pass [%d]", declared),
			"sweep-open":          fmt.Sprintf("fail [%d]", open),
			"sweep-open method":   method,
			"sweep-closed":        fmt.Sprintf("pass [%d]", closed),
			"sweep-closed method": method,
		}
	}
	check := func(method, ran string, raw bool) {
		t.Helper()
		got, code, out := sweep(cfg, method, raw)
		if code != 1 || !reflect.DeepEqual(got, want(ran)) {
			t.Errorf("--tcp-sweep %s (CAP_NET_RAW: %v): exit %d, %v; want exit 1, %v\n%s", method, raw, code, got, want(ran), out)
		}
	}
	check("connect", "connect", true)

	// Without CAP_NET_RAW (a user other than root; root under setpriv):
	// auto falls back to connects and the report says why; syn stops
	// before sending anything.
	check("auto", "connect", false)
	if r := reasons["sweep-open"]; !strings.Contains(r, "no raw socket") || !strings.Contains(r, "CAP_NET_RAW") {
		t.Errorf("auto without CAP_NET_RAW: method_reason %q; want it to say no raw socket could be opened, for want of CAP_NET_RAW", r)
	}
	if _, code, out := sweep(cfg, "syn", false); code != 4 || !strings.Contains(out, "CAP_NET_RAW") {
		t.Errorf("--tcp-sweep syn without CAP_NET_RAW: exit %d; want 4 and a word on CAP_NET_RAW\n%s", code, out)
	}

	// A file whose only sweep reads a banner has no sweep the half-open
	// scan takes: syn asks for no raw socket it would not use, and the
	// sweep is sent as connects, saying why.
	banner := config(t, declaredRow+sweepRow("sweep-banner", closed, closed, "[expectation.tcp]\nbanner = \"SSH-\"\n"))
	got, code, out := sweep(banner, "syn", false)
	if w := map[string]string{"declared": fmt.Sprintf("pass [%d]", declared), "sweep-banner": fmt.Sprintf("pass [%d]", closed), "sweep-banner method": "connect"}; code != 0 || !reflect.DeepEqual(got, w) {
		t.Errorf("--tcp-sweep syn of a banner sweep without CAP_NET_RAW: exit %d, %v; want exit 0, %v\n%s", code, got, w, out)
	}
	if r := reasons["sweep-banner"]; !strings.Contains(r, "bare TCP probe") {
		t.Errorf("the banner sweep's method_reason %q; want it to say the half-open sweep takes a bare TCP probe", r)
	}

	if os.Geteuid() != 0 {
		t.Skip("not root: the half-open sweep itself is tested as root (CI)")
	}
	check("syn", "syn", true)
	check("auto", "syn", true)
}

// withoutNetRaw is the command that runs the binary with args without
// CAP_NET_RAW: as it is for a user other than root; for root, under
// setpriv, which drops the capability from the bounding set (so the
// binary's raw sockets fail as a user's do).
func withoutNetRaw(t *testing.T, args ...string) *exec.Cmd {
	t.Helper()
	if os.Geteuid() != 0 {
		return exec.Command(binary, args...)
	}
	setpriv, err := exec.LookPath("setpriv")
	if err != nil {
		t.Skipf("root, and no setpriv to run the binary without CAP_NET_RAW: %v", err)
	}
	return exec.Command(setpriv, append([]string{"--bounding-set=-net_raw", "--inh-caps=-net_raw", "--", binary}, args...)...)
}
