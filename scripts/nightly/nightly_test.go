// Package nightly checks the scheduler setups in scripts/nightly: the
// systemd units with systemd-analyze verify, the GitHub Actions workflow
// with actionlint, the Kubernetes CronJob against a schema of the fields it
// uses, the cron line's fields, and probe-nightly itself end to end on
// loopback. A checker that is not installed skips its test and says so;
// each check is also shown a broken copy, so a pass means it looked.
package nightly

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"go.yaml.in/yaml/v3"

	"probe/internal/testutil"
)

func read(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestSystemdUnits(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze not installed (Debian: systemd); units not verified")
	}
	script, err := filepath.Abs("probe-nightly")
	if err != nil {
		t.Fatal(err)
	}
	// verify wants ExecStart's program to exist: point it at the script in
	// this tree instead of its installed path.
	verify := func(timer, service string) (string, error) {
		dir := t.TempDir()
		service = strings.ReplaceAll(service, "ExecStart=/usr/local/bin/probe-nightly", "ExecStart="+script)
		for name, body := range map[string]string{"probe-nightly.service": service, "probe-nightly.timer": timer} {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		cmd := exec.Command(analyze, "verify", filepath.Join(dir, "probe-nightly.service"), filepath.Join(dir, "probe-nightly.timer"))
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	service, timer := read(t, "probe-nightly.service"), read(t, "probe-nightly.timer")
	if !strings.Contains(service, "ExecStart=/usr/local/bin/probe-nightly\n") {
		t.Fatalf("the service no longer starts /usr/local/bin/probe-nightly; update this test")
	}
	if out, err := verify(timer, service); err != nil || strings.TrimSpace(out) != "" {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
	if out, err := verify(strings.Replace(timer, "OnCalendar=", "OnCalender=", 1), service); err == nil && out == "" {
		t.Errorf("systemd-analyze verify passed a timer with a misspelt key: it is not checking")
	}
}

// cronField checks one of the five time fields: *, numbers in range, lists,
// ranges and steps.
func cronField(f string, lo, hi int) bool {
	for _, part := range strings.Split(f, ",") {
		base, step, hasStep := strings.Cut(part, "/")
		if hasStep {
			if n, err := strconv.Atoi(step); err != nil || n < 1 {
				return false
			}
		}
		if base == "*" {
			continue
		}
		a, b, isRange := strings.Cut(base, "-")
		x, err := strconv.Atoi(a)
		if err != nil || x < lo || x > hi {
			return false
		}
		if isRange {
			y, err := strconv.Atoi(b)
			if err != nil || y < x || y > hi {
				return false
			}
		}
	}
	return true
}

func TestCronLine(t *testing.T) {
	env := regexp.MustCompile(`^[A-Z_]+=\S*$`)
	jobs := 0
	for i, line := range strings.Split(read(t, "probe-nightly.cron"), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") || env.MatchString(line) {
			continue
		}
		f := strings.Fields(line)
		if len(f) < 7 {
			t.Errorf("line %d: %q: want five time fields, a user and a command (/etc/cron.d format)", i+1, line)
			continue
		}
		ranges := [][2]int{{0, 59}, {0, 23}, {1, 31}, {1, 12}, {0, 7}}
		for j, r := range ranges {
			if !cronField(f[j], r[0], r[1]) {
				t.Errorf("line %d: field %d %q is not a cron time field in %d-%d", i+1, j+1, f[j], r[0], r[1])
			}
		}
		if _, err := os.Stat(filepath.Base(f[6])); err != nil {
			t.Errorf("line %d: the command %s is not a script of this directory", i+1, f[6])
		}
		jobs++
	}
	if jobs != 1 {
		t.Errorf("%d job lines; want 1", jobs)
	}
	if cronField("61", 0, 59) || cronField("5-2", 0, 59) || !cronField("*/15", 0, 59) {
		t.Errorf("cronField accepts what cron refuses, or the reverse")
	}
}

// actionlint is run with `go run` at a version known to install; where it
// cannot be built (no module proxy), the test skips.
const actionlint = "github.com/rhysd/actionlint/cmd/actionlint@v1.7.12"

func TestGitHubWorkflow(t *testing.T) {
	wf := read(t, "github-actions.yml")

	// The structure merge relies on: every vantage's shards 1..N, and a
	// final job that merges and diffs.
	var doc struct {
		Jobs map[string]struct {
			Needs    any `yaml:"needs"`
			Strategy struct {
				Matrix struct {
					Include []map[string]string `yaml:"include"`
				} `yaml:"matrix"`
			} `yaml:"strategy"`
			Steps []map[string]any `yaml:"steps"`
		} `yaml:"jobs"`
	}
	if err := yaml.Unmarshal([]byte(wf), &doc); err != nil {
		t.Fatal(err)
	}
	shards := map[string][]string{}
	for _, m := range doc.Jobs["probe"].Strategy.Matrix.Include {
		if m["vantage"] == "" || m["runner"] == "" || m["shard"] == "" {
			t.Errorf("matrix entry %v lacks vantage, runner or shard", m)
		}
		shards[m["vantage"]] = append(shards[m["vantage"]], m["shard"])
	}
	if len(shards) == 0 {
		t.Fatal("no matrix over runners")
	}
	for v, ss := range shards {
		for i, s := range ss {
			if want := fmt.Sprintf("%d/%d", i+1, len(ss)); s != want {
				t.Errorf("vantage %s: shard %s in place %d; want %s (merge reports a missing shard)", v, s, i+1, want)
			}
		}
	}
	// The reports travel through a directory the checkout does not have:
	// reports/ holds report.schema.json, which a reports/*.json glob hands
	// to merge as if it were a report.
	upload, download, glob := "", "", ""
	for _, s := range doc.Jobs["probe"].Steps {
		if u, _ := s["uses"].(string); strings.HasPrefix(u, "actions/upload-artifact") {
			upload, _ = s["with"].(map[string]any)["path"].(string)
		}
	}
	for _, s := range doc.Jobs["merge"].Steps {
		if u, _ := s["uses"].(string); strings.HasPrefix(u, "actions/download-artifact") {
			download, _ = s["with"].(map[string]any)["path"].(string)
		}
		if r, _ := s["run"].(string); strings.Contains(r, "probe merge") {
			for _, f := range strings.Fields(r) {
				if strings.Contains(f, "*") {
					glob = f
				}
			}
		}
	}
	for what, dir := range map[string]string{"probe job's upload path": upload, "merge job's download path": download} {
		dir = strings.TrimSuffix(dir, "/")
		if dir == "" {
			t.Errorf("%s not found", what)
			continue
		}
		if _, err := os.Stat(filepath.Join("..", "..", dir)); err == nil {
			t.Errorf("%s %q is a directory of the checkout: its files would be taken for tonight's reports", what, dir)
		}
	}
	if glob == "" || filepath.Dir(glob) != strings.TrimSuffix(download, "/") {
		t.Errorf("merge's reports %q are not the downloaded ones in %q", glob, download)
	}
	if m, _ := filepath.Glob(filepath.Join("..", "..", glob)); len(m) > 0 {
		t.Errorf("merge's glob %s matches files of the checkout: %v", glob, m)
	}

	merge := doc.Jobs["merge"]
	if merge.Needs != "probe" {
		t.Errorf("merge job needs %v; want probe", merge.Needs)
	}
	steps := fmt.Sprint(merge.Steps)
	for _, want := range []string{"probe merge", "probe diff", "merged-report", "GITHUB_STEP_SUMMARY"} {
		if !strings.Contains(steps, want) {
			t.Errorf("merge job lacks %q", want)
		}
	}

	if testing.Short() {
		t.Skip("-short: actionlint not run")
	}
	dir := t.TempDir()
	install := exec.Command("go", "install", actionlint)
	install.Env = append(os.Environ(), "GOBIN="+dir)
	if out, err := install.CombinedOutput(); err != nil {
		t.Skipf("cannot install %s (no module proxy?): %v\n%s", actionlint, err, out)
	}
	bin := filepath.Join(dir, "actionlint")
	config := filepath.Join(dir, "actionlint.yaml")
	// The self-hosted runners' labels the matrix names.
	if err := os.WriteFile(config, []byte("self-hosted-runner:\n  labels: [probe-admin, probe-api]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	lint := func(body string) (string, error) {
		f := filepath.Join(dir, "workflow.yml")
		if err := os.WriteFile(f, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(bin, "-config-file", config, f).CombinedOutput()
		return string(out), err
	}
	if out, err := lint(wf); err != nil {
		t.Errorf("actionlint: %v\n%s", err, out)
	}
	broken := strings.Replace(wf, "${{ matrix.runner }}", "${{ matrix.runnner }}", 1)
	if _, err := lint(broken); err == nil {
		t.Errorf("actionlint passed a workflow that names an undefined matrix key: it is not checking")
	}
}

func TestCronJobManifest(t *testing.T) {
	c := jsonschema.NewCompiler()
	sch, err := c.Compile("cronjob.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	validate := func(body string) error {
		var v any
		if err := yaml.Unmarshal([]byte(body), &v); err != nil {
			return err
		}
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err != nil {
			return err
		}
		return sch.Validate(inst)
	}
	manifest := read(t, "cronjob.yaml")
	if err := validate(manifest); err != nil {
		t.Errorf("cronjob.yaml: %v", err)
	}
	for _, broken := range []string{
		strings.Replace(manifest, "restartPolicy: Never", "restartPolicy: Always", 1),
		strings.Replace(manifest, "concurrencyPolicy:", "concurencyPolicy:", 1),
		strings.Replace(manifest, "mountPath: /etc/probe", "mountpath: /etc/probe", 1),
	} {
		if validate(broken) == nil {
			t.Errorf("the schema passed a broken manifest: it is not checking")
		}
	}
	// The variables it sets are the ones probe-nightly reads.
	script := read(t, "probe-nightly")
	for _, name := range regexp.MustCompile(`name: (PROBE_[A-Z_]+)`).FindAllStringSubmatch(manifest, -1) {
		if !strings.Contains(script, name[1]) {
			t.Errorf("cronjob.yaml sets %s, which probe-nightly does not read", name[1])
		}
	}
}

func TestScriptLints(t *testing.T) {
	if out, err := exec.Command("bash", "-n", "probe-nightly").CombinedOutput(); err != nil {
		t.Fatalf("bash -n: %v\n%s", err, out)
	}
	sc, err := exec.LookPath("shellcheck")
	if err != nil {
		t.Skip("shellcheck not installed; bash -n only")
	}
	if out, err := exec.Command(sc, "probe-nightly").CombinedOutput(); err != nil {
		t.Errorf("shellcheck: %v\n%s", err, out)
	}
}

// The script end to end on loopback: a first run keeps its report and the
// renderings; after a port that should stay shut opens, the second run
// prints the change and exits 1.
func TestNightlyScriptOnLoopback(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: builds probe")
	}
	dir := t.TempDir()
	bin, err := testutil.BuildProbe(dir)
	if err != nil {
		t.Fatal(err)
	}
	open := testutil.Greeter(t, "127.0.0.1:0", "")
	shut := testutil.Greeter(t, "127.0.0.1:0", "")
	shutAddr := shut.Addr().String()
	shut.Close()
	_, shutPort, _ := net.SplitHostPort(shutAddr)
	_, openPort, _ := net.SplitHostPort(open.Addr().String())
	config := filepath.Join(dir, "expectations.toml")
	body := fmt.Sprintf(`
[defaults]
timeout = "500ms"
deadline = "20s"

[[vantage]]
name = "local"
cidrs = ["127.0.0.0/8"]

[[target]]
name = "box"
address = "127.0.0.1"

[[expectation]]
id = "web"
target = "box"
port = %s
transport = "tcp"
probe = "tcp"
expect = { local = "open" }

[[expectation]]
id = "app"
target = "box"
port = %s
transport = "tcp"
probe = "tcp"
expect = { local = "not_open" }
`, openPort, shutPort)
	if err := os.WriteFile(config, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	// The sweep table beside it, as sweep.toml is beside expectations.toml:
	// the open port declared, every other port of a short range swept.
	sweep := filepath.Join(dir, "sweep.toml")
	sweepBody := fmt.Sprintf(`
[defaults]
timeout = "500ms"
deadline = "20s"

[[vantage]]
name = "local"
cidrs = ["127.0.0.0/8"]

[[target]]
name = "box"
address = "127.0.0.1"

[[expectation]]
id = "web-declared"
target = "box"
port = %[1]s
transport = "tcp"
probe = "tcp"
expect = { local = "open" }

[[expectation]]
id = "box-nothing-else"
target = "box"
range = "%[2]s-%[2]s"
except_declared = true
transport = "tcp"
probe = "tcp"
expect = { local = "not_open" }
`, openPort, shutPort)
	if err := os.WriteFile(sweep, []byte(sweepBody), 0o644); err != nil {
		t.Fatal(err)
	}
	textfile := filepath.Join(dir, "textfile")
	if err := os.MkdirAll(textfile, 0o755); err != nil {
		t.Fatal(err)
	}
	stun := testutil.STUNResponder(t)
	// The script, and `probe nightly` (its steps as a command, for an image
	// without a shell), from the same environment, must behave alike.
	for _, mode := range []string{"script", "probe nightly"} {
		t.Run(mode, func(t *testing.T) {
			state := filepath.Join(dir, strings.ReplaceAll(mode, " ", "-"))
			nightlyOnLoopback(t, mode, bin, config, sweep, state, textfile, stun, shutAddr)
		})
	}
}

func nightlyOnLoopback(t *testing.T, mode, bin, config, sweep, state, textfile, stun, shutAddr string) {
	run := func() (string, int) {
		cmd := exec.Command("./probe-nightly")
		if mode == "probe nightly" {
			cmd = exec.Command(bin, "nightly")
		}
		cmd.Env = append(os.Environ(), "PROBE="+bin, "PROBE_CONFIG="+config, "PROBE_SWEEP="+sweep, "PROBE_FROM=local",
			"PROBE_DIR="+state, "PROBE_TEXTFILE_DIR="+textfile, "PROBE_ARGS=--stun "+stun)
		out, err := cmd.CombinedOutput()
		return string(out), testutil.ExitCode(t, err)
	}
	out, code := run()
	if code != 0 || out != "" {
		t.Fatalf("first run: exit %d, output %q; want 0 and silence", code, out)
	}
	first, err := os.Readlink(filepath.Join(state, "last.json"))
	if err != nil {
		t.Fatalf("last.json: %v", err)
	}
	base := strings.TrimSuffix(filepath.Join(state, first), ".json")
	firstSweep, err := os.Readlink(filepath.Join(state, "last-sweep.json"))
	if err != nil || firstSweep != first[:len(first)-len(".json")]+"-sweep.json" {
		t.Fatalf("last-sweep.json: %q, %v; want the sweep table's report beside the first's", firstSweep, err)
	}
	for _, f := range []string{base + ".json", base + ".junit.xml", base + ".md", filepath.Join(textfile, "probe-local.prom"),
		base + "-sweep.json", base + "-sweep.md", filepath.Join(textfile, "probe-local-sweep.prom")} {
		if _, err := os.Stat(f); err != nil {
			t.Errorf("first run left no %s", f)
		}
	}

	opened := testutil.Greeter(t, shutAddr, "")
	defer opened.Close()
	out, code = run()
	if code != 1 || !strings.Contains(out, "app from local") || !strings.Contains(out, "opened") {
		t.Errorf("second run: exit %d, output:\n%s\nwant exit 1 naming the port that opened", code, out)
	}
	// The sweep saw it too: its diff names the port the sweep found open
	// (refused before: loopback answers a closed port with a RST).
	if want := "box-nothing-else from local: " + shutAddr[strings.LastIndex(shutAddr, ":")+1:] + "/tcp opened: "; !strings.Contains(out, want) {
		t.Errorf("second run's output lacks the sweep's %q:\n%s", want, out)
	}
	second, _ := os.Readlink(filepath.Join(state, "last.json"))
	if second == first {
		t.Errorf("last.json still points at the first run")
	}
	// The report last.json points at is gone (a cleanup, a restored
	// disk): the next run has nothing to compare with, and links
	// last.json anew instead of failing this and every later night.
	if err := os.Remove(filepath.Join(state, second)); err != nil {
		t.Fatal(err)
	}
	out, code = run()
	third, err := os.Readlink(filepath.Join(state, "last.json"))
	if code > 1 || err != nil || third == second {
		t.Errorf("run after the last report was deleted: exit %d, last.json %q (%v); want at most 1 and a new link\n%s", code, third, err, out)
	} else if _, err := os.Stat(filepath.Join(state, third)); err != nil {
		t.Errorf("last.json points at %s, which is not there: %v", third, err)
	}
}

// Every setup runs sweep.toml beside the reference file: the host setups
// and the CronJob name it as PROBE_SWEEP (the second table `probe nightly`
// runs; probe-nightly is that command), and the workflow's internet jobs run it, their
// reports in the directory the final job merges and diffs.
func TestSetupsRunTheSweeps(t *testing.T) {
	for file, want := range map[string]string{
		"probe-nightly.service": "Environment=PROBE_SWEEP=/etc/probe/sweep.toml\n",
		"probe-nightly.cron":    "PROBE_SWEEP=/etc/probe/sweep.toml\n",
		"cronjob.yaml":          "- name: PROBE_SWEEP\n                  value: /etc/probe/sweep.toml\n",
		"probe-nightly":         `exec "${PROBE:-probe}" nightly`, // which reads PROBE_SWEEP
		"github-actions.yml":    `--out "tonight/$name-sweep.json" --format junit sweep.toml`,
	} {
		if !strings.Contains(read(t, file), want) {
			t.Errorf("%s lacks %q: it does not run the sweeps", file, want)
		}
	}
	if !strings.Contains(read(t, "cronjob.yaml"), "--from-file=sweep.toml") {
		t.Error("cronjob.yaml's ConfigMap is not made with sweep.toml")
	}
	var doc struct {
		Jobs map[string]struct {
			Strategy struct {
				Matrix struct {
					Include []map[string]any `yaml:"include"`
				} `yaml:"matrix"`
			} `yaml:"strategy"`
		} `yaml:"jobs"`
	}
	if err := yaml.Unmarshal([]byte(read(t, "github-actions.yml")), &doc); err != nil {
		t.Fatal(err)
	}
	for _, m := range doc.Jobs["probe"].Strategy.Matrix.Include {
		// sweep.toml's rows are the internet's: it sweeps from outside.
		if want := m["vantage"] == "internet"; m["sweep"] != want {
			t.Errorf("matrix entry %v: sweep %v; want %v", m, m["sweep"], want)
		}
	}
}
