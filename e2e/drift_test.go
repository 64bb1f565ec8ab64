//go:build testbed

package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"probe/internal/testutil"
)

// runTo runs the reference file from runner and returns its report's path.
func runTo(t *testing.T, runner string) (string, Report) {
	t.Helper()
	out := filepath.Join(t.TempDir(), runner+".json")
	_, stderr, _ := testutil.Run(t, bed.Command(runner, out, "--from", runner))
	bed.Finished(runner)
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatalf("%s: no report: %v\n%s", runner, err, stderr)
	}
	var r Report
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	return out, r
}

// drift runs probe drift of the profile's groups JSON and the testbed's
// table against the reports, and returns its findings as "kind target
// vantage ports/transport" and its exit code.
func drift(t *testing.T, profile string, reports ...string) ([]string, int) {
	t.Helper()
	args := append([]string{"drift", "--format", "json",
		filepath.Join(bed.Root, "scripts/testbed.d/sg", profile, "groups.json"),
		filepath.Join(bed.Root, "internal/drift/testdata/testbed.toml")}, reports...)
	stdout, stderr, code := testutil.Run(t, exec.Command(bed.Binary, args...))
	var res struct {
		Findings []struct{ Kind, Target, Vantage, Ports, Transport string }
	}
	if err := json.Unmarshal([]byte(stdout), &res); err != nil {
		t.Fatalf("drift: exit %d, %v\n%s%s", code, err, stdout, stderr)
	}
	var out []string
	for _, f := range res.Findings {
		out = append(out, strings.TrimSpace(f.Kind+" "+f.Target+" "+f.Vantage+" "+f.Ports+"/"+f.Transport))
	}
	return out, code
}

// The testbed's security groups written from the groups' JSON (profile
// "groups", by internal/sgnft) behave as the hand-written "after" profile,
// and probe drift of that JSON, the table and the runs finds them agreeing.
// One stray rule in the JSON (8021 from 0.0.0.0/0) opens exactly ESL to
// the outside runners, and drift names exactly that rule.
//
// The table's api vantage stands at the API server's address, the only one
// this testbed gives it: so drift says the group reference (ESL from the
// API server's group) does not admit it there, which is AWS's rule. That
// finding is the file's, and is the same in both runs.
func TestGroupsJSONProfileAndDrift(t *testing.T) {
	profile(t, "groups")
	defer profile(t, "after")
	var reps []string
	for _, runner := range []string{"internet", "admin"} {
		path, r := runTo(t, runner)
		if r.Summary.Fail != 0 || r.Summary.Pass != r.Summary.Total {
			t.Fatalf("%s on the groups profile: %+v\n%s", runner, r.Summary, r.table())
		}
		reps = append(reps, path)
	}
	got, code := drift(t, "groups", reps...)
	want := []string{"no-rule-for-expectation freeswitch api 8021/tcp"}
	if !slices.Equal(got, want) || code != 1 {
		t.Errorf("drift of the healthy groups: exit %d, findings %q; want %q", code, got, want)
	}

	profile(t, "groups-stray")
	reps = nil
	for _, runner := range []string{"internet", "admin"} {
		path, r := runTo(t, runner)
		if failed := r.with("fail"); !slices.Equal(failed, []string{"freeswitch-esl-public"}) {
			t.Errorf("%s with the stray rule: failed %v; want exactly freeswitch-esl-public\n%s", runner, failed, r.table())
		}
		reps = append(reps, path)
	}
	got, code = drift(t, "groups-stray", reps...)
	want = []string{
		"rule-contradicts-file freeswitch admin 8021/tcp",
		"rule-contradicts-file freeswitch internet 8021/tcp",
	}
	if !slices.Equal(got, want) || code != 1 {
		t.Errorf("drift of the stray rule: exit %d, findings %q; want %q", code, got, want)
	}
}
