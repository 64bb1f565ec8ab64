//go:build testbed

// Package e2e runs the built probe binary inside the testbed (scripts/testbed):
// the security document's deployment in network namespaces, with real
// servers, security groups as nftables rules, and a NAT in front of the admin
// runner. The root expectations.toml itself is run, with its addresses,
// vantage CIDRs and STUN server overridden to the testbed's.
//
// Run as root: go test -tags testbed ./e2e/  (scripts/test does).
package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

var (
	root     string // the repository
	binary   string // the probe binary under test
	testbed  string // scripts/testbed
	info     map[string]string
	override []string
)

// prefix names this test's testbed, apart from a demo's or a developer's.
const prefix = "e2e"

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	if os.Geteuid() != 0 {
		fmt.Fprintln(os.Stderr, "e2e: the testbed needs root")
		return 1
	}
	wd, _ := os.Getwd()
	root = filepath.Dir(wd)
	testbed = filepath.Join(root, "scripts", "testbed")
	dir, err := os.MkdirTemp("", "probe-e2e-")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	binary = filepath.Join(dir, "probe")
	build := exec.Command("go", "build", "-o", binary, "./cmd/probe")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building probe: %v\n%s", err, out)
		return 1
	}
	if out, err := tb("up", "--profile", "after"); err != nil {
		fmt.Fprintf(os.Stderr, "testbed up: %v\n%s", err, out)
		tb("down")
		return 1
	}
	defer tb("down")
	out, err := tb("info")
	if err != nil {
		fmt.Fprintf(os.Stderr, "testbed info: %v\n%s", err, out)
		return 1
	}
	info = map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok {
			info[k] = v
		}
	}
	out, err = tb("overrides")
	if err != nil {
		fmt.Fprintf(os.Stderr, "testbed overrides: %v\n%s", err, out)
		return 1
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		override = append(override, strings.Fields(line)...)
	}
	return m.Run()
}

// tb runs scripts/testbed with this test's prefix.
func tb(args ...string) ([]byte, error) {
	cmd := exec.Command(testbed, args...)
	cmd.Env = append(os.Environ(), "TESTBED_PREFIX="+prefix)
	return cmd.CombinedOutput()
}

// profile switches the testbed's security groups.
func profile(t *testing.T, name string) {
	t.Helper()
	if out, err := tb("up", "--profile", name); err != nil {
		t.Fatalf("testbed up --profile %s: %v\n%s", name, err, out)
	}
}

// Report is the part of the JSON report these tests read.
type Report struct {
	Partial bool `json:"partial"`
	Vantage struct {
		Name, Declared, Established string
		PublicAddress               string `json:"public_address"`
	} `json:"vantage"`
	Network struct {
		Working  bool
		Evidence string
	} `json:"network"`
	Targets []struct {
		Name             string
		Alive            bool
		StoppedAnswering bool `json:"stopped_answering"`
	} `json:"targets"`
	Results []struct {
		ID, Verdict, Observed, Reason, Expected string
	} `json:"results"`
	NotRun  []string `json:"not_run"`
	Summary struct {
		Total, Pass, Fail, Inconclusive, Error int
		Note                                   string
	} `json:"summary"`
}

func (r Report) verdicts() map[string]string {
	m := map[string]string{}
	for _, res := range r.Results {
		m[res.ID] = res.Verdict
	}
	return m
}

func (r Report) with(verdict string) []string {
	var ids []string
	for _, res := range r.Results {
		if res.Verdict == verdict {
			ids = append(ids, res.ID)
		}
	}
	sort.Strings(ids)
	return ids
}

func (r Report) table() string {
	var b strings.Builder
	for _, res := range r.Results {
		fmt.Fprintf(&b, "  %-13s %-20s expected %-11s observed %-22s %s\n", res.Verdict, res.ID, res.Expected, res.Observed, res.Reason)
	}
	return b.String()
}

// probe runs the binary as runner (a testbed vantage) with the testbed's
// overrides and args, and returns its report and exit code.
func probe(t *testing.T, runner string, args ...string) (Report, int, string) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "report.json")
	full := append([]string{"exec", runner, "--", binary, "run", "--out", out}, override...)
	full = append(full, args...)
	full = append(full, filepath.Join(root, "expectations.toml"))
	cmd := exec.Command(testbed, full...)
	cmd.Env = append(os.Environ(), "TESTBED_PREFIX="+prefix)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	var r Report
	if b, err := os.ReadFile(out); err == nil {
		validate(t, b)
		if err := json.Unmarshal(b, &r); err != nil {
			t.Fatal(err)
		}
	}
	return r, code, stdout.String() + stderr.String()
}

func validate(t *testing.T, doc []byte) {
	t.Helper()
	sch, err := jsonschema.NewCompiler().Compile(filepath.Join(root, "reports", "report.schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	if err := sch.Validate(inst); err != nil {
		t.Errorf("report does not match the schema: %v", err)
	}
}
