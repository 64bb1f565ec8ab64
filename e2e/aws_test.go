//go:build testbed

package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"probe/internal/testutil"
)

// todaysESLRow is the ESL row as the reference file stated it before it
// knew of networks: FreeSWITCH's public address, open from the API server.
// On AWS a rule whose source is a security group never matches a public
// source, so this row fails even when the group is exactly right.
const todaysESLRow = `
[[expectation]]
id = "freeswitch-esl-todays-shape"
target = "freeswitch"
port = 8021
transport = "tcp"
probe = "tcp"
at = "public"
purpose = "ESL, stated at the public address"
expect = { api = "open" }
[expectation.tcp]
banner = "Content-Type: auth/request"
`

// withRows writes the reference file with extra TOML appended (or a
// replacement made), and returns its path.
func withRows(t *testing.T, extra string, replace ...string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(bed.Root, "expectations.toml"))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for i := 0; i+1 < len(replace); i += 2 {
		if !strings.Contains(s, replace[i]) {
			t.Fatalf("the reference file has no %q", replace[i])
		}
		s = strings.Replace(s, replace[i], replace[i+1], 1)
	}
	path := filepath.Join(t.TempDir(), "expectations.toml")
	if err := os.WriteFile(path, []byte(s+extra), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// probeFile is probe for another file, with the given overrides.
func probeFile(t *testing.T, runner, file string, overrides []string, args ...string) (Report, int, string, bool) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "report.json")
	stdout, stderr, code := testutil.Run(t, bed.CommandFile(runner, out, file, overrides, args...))
	bed.Finished(runner)
	var r Report
	b, err := os.ReadFile(out)
	if err == nil {
		testutil.ValidateReport(t, b)
		if err := json.Unmarshal(b, &r); err != nil {
			t.Fatal(err)
		}
	}
	return r, code, stdout + stderr, err == nil
}

// TestGroupRuleMatchesPrivateSourcesOnly: on the AWS-like testbed, the ESL
// row in its old shape fails though the security group is right, and the
// two rows that state the group rule (private open with ESL's greeting,
// public filtered, the public path shown alive) pass.
func TestGroupRuleMatchesPrivateSourcesOnly(t *testing.T) {
	profile(t, "after")
	file := withRows(t, todaysESLRow)
	ids := []string{"freeswitch-esl-todays-shape", "freeswitch-esl-private", "freeswitch-esl-public", "freeswitch-sip-public-path"}
	r, code, out, _ := probeFile(t, "api", file, bed.Overrides, "--from", "api", "--only", strings.Join(ids, ","))
	v := r.verdicts()
	want := map[string]string{
		"freeswitch-esl-todays-shape": "fail",
		"freeswitch-esl-private":      "pass",
		"freeswitch-esl-public":       "pass",
		"freeswitch-sip-public-path":  "pass",
	}
	for id, w := range want {
		if v[id] != w {
			t.Errorf("%s: %s; want %s\n%s\n%s", id, v[id], w, r.table(), out)
		}
	}
	for _, res := range r.Results {
		if res.ID == "freeswitch-esl-todays-shape" && res.Observed != "filtered" {
			t.Errorf("the old row observed %q; want filtered (the group rule drops the API server's public source)", res.Observed)
		}
	}
	if code != 1 {
		t.Errorf("exit %d; want 1", code)
	}
}

// TestCIDRESLProfileFailsTheFile: ESL opened to a CIDR of the API server's
// public address, instead of to its group, is caught from the api runner at
// both addresses, and looks the same as the right rule from outside.
func TestCIDRESLProfileFailsTheFile(t *testing.T) {
	profile(t, "cidr-esl")
	defer profile(t, "after")
	want := map[string][]string{
		"api":      {"freeswitch-esl-private", "freeswitch-esl-public"},
		"internet": nil,
	}
	for _, runner := range []string{"api", "internet"} {
		t.Run(runner, func(t *testing.T) {
			r, code, out := probe(t, runner, "--from", runner)
			if got := r.with("fail"); !slices.Equal(got, want[runner]) {
				t.Errorf("failed rows %v; want exactly %v\n%s\n%s", got, want[runner], r.table(), out)
			}
			wantCode := 1
			if want[runner] == nil {
				wantCode = 0
			}
			if code != wantCode {
				t.Errorf("exit %d; want %d\n%s", code, wantCode, r.table())
			}
		})
	}
}

// TestDataTierNamesResolvePrivately: the data tier's names, looked up by
// each runner's own resolver (the testbed's hosts files answer as AWS's
// DNS does), resolve only to private addresses, from outside the VPC too.
// When the RDS endpoint is made publicly accessible (`fault public-name`),
// the internet and admin runners fail its row and the runners inside still
// pass it: only a look from outside sees the exposure.
func TestDataTierNamesResolvePrivately(t *testing.T) {
	profile(t, "after")
	var byName []string // the overrides, less the data tier's IPs: their names are looked up
	for i := 0; i < len(bed.Overrides); i++ {
		if bed.Overrides[i] == "--target" && i+1 < len(bed.Overrides) &&
			(strings.HasPrefix(bed.Overrides[i+1], "database.") || strings.HasPrefix(bed.Overrides[i+1], "redis.")) {
			i++
			continue
		}
		byName = append(byName, bed.Overrides[i])
	}
	file := filepath.Join(bed.Root, "expectations.toml")
	check := func(t *testing.T, runner string, want map[string]string) {
		t.Helper()
		r, code, out, _ := probeFile(t, runner, file, byName, "--from", runner, "--only", "database-name,redis-name")
		failed := false
		for id, w := range want {
			if r.verdicts()[id] != w {
				t.Errorf("%s from %s: %s; want %s", id, runner, r.verdicts()[id], w)
				failed = true
			}
		}
		for _, res := range r.Results {
			name := bed.Info["DATABASE_NAME"]
			if res.ID == "redis-name" {
				name = bed.Info["REDIS_NAME"]
			}
			if !strings.Contains(res.Reason, name) {
				t.Errorf("%s from %s: reason %q does not name the name looked up, %s", res.ID, runner, res.Reason, name)
			}
		}
		wantCode := 0
		if slices.Contains([]string{want["database-name"], want["redis-name"]}, "fail") {
			wantCode = 1
		}
		if code != wantCode || failed {
			t.Errorf("exit %d; want %d\n%s\n%s", code, wantCode, r.table(), out)
		}
	}
	for _, runner := range runners {
		t.Run(runner, func(t *testing.T) {
			check(t, runner, map[string]string{"database-name": "pass", "redis-name": "pass"})
		})
	}
	t.Run("made_publicly_accessible", func(t *testing.T) {
		if out, err := bed.Run("fault", "public-name"); err != nil {
			t.Fatalf("fault public-name: %v\n%s", err, out)
		}
		defer func() {
			if out, err := bed.Run("fault", "clear"); err != nil {
				t.Errorf("fault clear: %v\n%s", err, out)
			}
		}()
		for _, runner := range runners {
			want := map[string]string{"database-name": "pass", "redis-name": "pass"}
			if runner == "internet" || runner == "admin" {
				want["database-name"] = "fail"
			}
			check(t, runner, want)
		}
	})
}
