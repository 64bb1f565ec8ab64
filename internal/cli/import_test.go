package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestImport(t *testing.T) {
	const sg = "../secgroups/testdata/"
	dir := t.TempDir()
	out := filepath.Join(dir, "draft.toml")
	code, _, errs := runMain("import", "--instances", sg+"instances-after.json", "--vantage", "admin=73.6.78.238/32", "--out", out, sg+"groups-after.json")
	if code != 0 {
		t.Fatalf("import: exit %d\n%s", code, errs)
	}
	if !strings.Contains(errs, "4 vantages, 2 targets, 10 expectations") {
		t.Errorf("stderr: %s", errs)
	}
	// What it wrote validates, and names the rule behind each row.
	code, _, errs = runMain("validate", out)
	if code != 0 {
		t.Fatalf("validate of the draft: exit %d\n%s", code, errs)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`purpose = "sg-0460ce5af3265896a from sg-03f77311c140b8f2e: ESL (API server only)"`,
		`expect = { internet = "filtered", admin = "open", irisx-prod-freeswitch = "filtered" }`,
		`security_groups = ["sg-0460ce5af3265896a"]`,
	} {
		if !strings.Contains(string(b), want) {
			t.Errorf("draft lacks %s", want)
		}
	}
	// The draft, against the groups it came from: no drift.
	if code, stdout, errs := runMain("drift", sg+"groups-after.json", out); code != 0 {
		t.Errorf("drift of the draft against its own groups: exit %d\n%s%s", code, stdout, errs)
	}
}

// Bad input: a clear error, exit 2, and nothing written.
func TestImportBadInput(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`{"SecurityGroups":[{"GroupId":"sg-1","GroupName":"web","IpPermissions":[{"IpProtocol":"tcp","FromPort":80,"IpRanges":[{"CidrIp":"0.0.0.0/0"}]}]}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "draft.toml")
	for _, args := range [][]string{
		{"import", "--out", out, bad},
		{"import", "--out", out, "--instances", bad, "../secgroups/testdata/groups-after.json"},
		{"import", "--out", out, "--vantage", "admin", "../secgroups/testdata/groups-after.json"},
		{"import", "--out", out},
	} {
		code, _, errs := runMain(args...)
		if code != 2 || errs == "" {
			t.Errorf("%v: exit %d, stderr %q; want 2 and a message", args, code, errs)
		}
		if _, err := os.Stat(out); err == nil {
			t.Fatalf("%v wrote %s", args, out)
		}
	}
	_, _, errs := runMain("import", "--out", out, bad)
	if !strings.Contains(errs, "group sg-1 (web): IpPermissions[0]: tcp rule without FromPort and ToPort") {
		t.Errorf("stderr %q does not name the group and rule", errs)
	}
}
