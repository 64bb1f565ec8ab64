package testutil

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// RepoRoot is the repository's root: the nearest directory above the
// working directory (a test's package directory) that holds go.mod.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		up := filepath.Dir(dir)
		if up == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = up
	}
}

// BuildProbe builds the probe binary (./cmd/probe) into dir and returns its
// path. It takes no testing.TB so that a TestMain can call it.
func BuildProbe(dir string) (string, error) {
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "probe")
	build := exec.Command("go", "build", "-o", bin, "./cmd/probe")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building probe: %v\n%s", err, out)
	}
	return bin, nil
}

// ExitCode is the exit code of a command that returned err from Run or
// Wait: 0 for nil, the code of an *exec.ExitError; any other error (the
// command did not start) fails the test.
func ExitCode(t testing.TB, err error) int {
	t.Helper()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		return ee.ExitCode()
	}
	t.Fatal(err)
	return 0
}

// Run runs cmd and returns what it wrote to stdout and stderr and its exit
// code.
func Run(t testing.TB, cmd *exec.Cmd) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	code = ExitCode(t, cmd.Run())
	return out.String(), errb.String(), code
}

// ValidateReport checks a JSON report against reports/report.schema.json:
// a document that is not JSON ends the test, one that does not match the
// schema fails it.
func ValidateReport(t testing.TB, doc []byte) {
	t.Helper()
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	sch, err := jsonschema.NewCompiler().Compile(filepath.Join(root, "reports", "report.schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		t.Fatalf("the report is not JSON: %v", err)
	}
	if err := sch.Validate(inst); err != nil {
		t.Errorf("the report does not match reports/report.schema.json: %v", err)
	}
}
