package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func runMain(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := Main(args, Env{Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }})
	return code, out.String(), errb.String()
}

func TestDriftExitCodes(t *testing.T) {
	const td = "../drift/testdata/"
	stray := td + "groups-testbed-stray.json" // 8021 open to the world, as someone debugging ESL might leave it
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{"stray rule", []string{"drift", stray, td + "testbed.toml"}, 1,
			"! rule-contradicts-file: sg-0460ce5af3265896a tcp 8021 from 0.0.0.0/0 lets internet in to freeswitch on 8021/tcp, where freeswitch-esl expects it filtered", ""},
		{"markdown", []string{"drift", "--format", "markdown", stray, td + "testbed.toml"}, 1, "| ❌ | rule-contradicts-file | freeswitch | admin | 8021/tcp |", ""},
		{"json", []string{"drift", stray, td + "testbed.toml", "--format", "json"}, 1, `"kind": "rule-contradicts-file"`, ""},
		{"too few", []string{"drift", stray}, 2, "", "want GROUPS.json"},
		{"bad format", []string{"drift", "--format", "xml", stray, td + "testbed.toml"}, 2, "", "no such format"},
		{"groups that are not groups", []string{"drift", td + "testbed.toml", td + "testbed.toml"}, 2, "", "not JSON"},
		{"file that is not a file", []string{"drift", stray, td + "nothing.toml"}, 2, "", "cannot read the file"},
		{"report that is not a report", []string{"drift", stray, td + "testbed.toml", td + "nothing.json"}, 2, "", "nothing.json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errs := runMain(tt.args...)
			if code != tt.code || !strings.Contains(out, tt.stdout) || !strings.Contains(errs, tt.stderr) {
				t.Errorf("exit %d; want %d\nstdout:\n%s\nstderr:\n%s", code, tt.code, out, errs)
			}
		})
	}
}

// drift takes run's address overrides: the table imported from the
// production groups (the office at 73.6.78.238), held against the
// testbed's groups (the office at 198.51.100.238), says SSH from the office
// will fail; with the addresses a testbed run is given, the three agree.
// An override of a target the file lacks is a usage error.
func TestDriftOverrides(t *testing.T) {
	const sg = "../secgroups/testdata/"
	const testbed = "../../scripts/testbed.d/sg/groups/groups.json"
	table := filepath.Join(t.TempDir(), "imported.toml")
	if code, _, errs := runMain("import", "--instances", sg+"instances-after.json", "--vantage", "admin=73.6.78.238/32", "--out", table, sg+"groups-after.json"); code != 0 {
		t.Fatalf("import: exit %d\n%s", code, errs)
	}
	code, out, errs := runMain("drift", testbed, table)
	if code != 1 || strings.Count(out, "no-rule-for-expectation") != 2 || !strings.Contains(out, "lets 73.6.78.238/32 in") {
		t.Errorf("drift without overrides: exit %d; want 1 and SSH from the office named twice\n%s%s", code, out, errs)
	}
	overrides := []string{
		"--vantage-cidrs", "admin=198.51.100.238/32",
		"--target", "irisx-prod-api.public=203.0.113.10", "--target", "irisx-prod-api.private=10.0.1.10",
		"--target", "irisx-prod-freeswitch.public=203.0.113.20", "--target", "irisx-prod-freeswitch.private=10.0.1.20",
	}
	code, out, errs = runMain(append(append([]string{"drift"}, overrides...), testbed, table)...)
	if code != 0 || !strings.Contains(out, "no drift") {
		t.Errorf("drift with the testbed's addresses: exit %d; want 0, no drift\n%s%s", code, out, errs)
	}
	code, _, errs = runMain("drift", "--target", "nosuch.public=203.0.113.9", testbed, table)
	if code != 2 || !strings.Contains(errs, "--target nosuch.public") {
		t.Errorf("drift with an override of no target: exit %d; want 2 naming it\n%s", code, errs)
	}
}

// The reference file names each server's group, and holds against the
// document's two groups after the fix: no drift. A file none of whose
// targets carries a group of the JSON compares nothing, and says so
// rather than "no drift"; a group no target carries is noted.
func TestDriftOfTheReferenceFile(t *testing.T) {
	const sg = "../secgroups/testdata/"
	code, out, errs := runMain("drift", sg+"groups-after.json", "../../expectations.toml")
	if code != 0 || !strings.Contains(out, "no drift") {
		t.Errorf("the reference file against the groups after the fix: exit %d; want 0, no drift\n%s%s", code, out, errs)
	}
	code, out, errs = runMain("drift", sg+"groups-before.json", "../../expectations.toml")
	if code != 1 || strings.Count(out, "! unknown-group") != 2 || !strings.Contains(out, "sg-0b7c3e91d2a4f5068 (") {
		t.Errorf("the reference file against the shared group from before the fix: exit %d; want 1, its two groups unknown, the shared one noted\n%s%s", code, out, errs)
	}
	body, err := os.ReadFile("../../expectations.toml")
	if err != nil {
		t.Fatal(err)
	}
	bare := filepath.Join(t.TempDir(), "bare.toml")
	if err := os.WriteFile(bare, regexp.MustCompile(`(?m)^security_groups = .*$`).ReplaceAll(body, nil), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errs = runMain("drift", sg+"groups-after.json", bare)
	if code != 2 || out != "" || !strings.Contains(errs, "nothing can be compared") || !strings.Contains(errs, "sg-03f77311c140b8f2e") {
		t.Errorf("a file whose targets carry no group: exit %d; want 2 and nothing compared, naming the groups\nstdout:\n%s\nstderr:\n%s", code, out, errs)
	}
}
