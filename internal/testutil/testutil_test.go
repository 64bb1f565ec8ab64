package testutil

import (
	"os/exec"
	"strings"
	"testing"
)

// No package's non-test code imports testutil: it is for tests only.
// (go list's Imports leaves out what only _test.go files import.)
func TestNoProductionImports(t *testing.T) {
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	const self = "probe/internal/testutil"
	for _, tags := range []string{"", "testbed"} {
		cmd := exec.Command("go", "list", "-tags", tags, "-f", `{{.ImportPath}} {{join .Imports " "}}`, "./...")
		cmd.Dir = root
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("go list: %v", err)
		}
		for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			pkg, imports, _ := strings.Cut(line, " ")
			if pkg == self || strings.HasPrefix(pkg, "probe/e2e/") {
				continue // e2e/testbed is itself a test-only helper package
			}
			for _, imp := range strings.Fields(imports) {
				if imp == self {
					t.Errorf("%s imports %s outside its tests (tags %q)", pkg, self, tags)
				}
			}
		}
	}
	deps, err := exec.Command("go", "list", "-deps", "probe/cmd/probe").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	for _, dep := range strings.Fields(string(deps)) {
		if dep == self {
			t.Errorf("the probe binary depends on %s", self)
		}
	}
}
