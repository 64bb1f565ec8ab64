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

// groupsJSON is a profile's describe-security-groups output, or its
// describe-instances output when instances is set.
func groupsJSON(profile string, instances bool) string {
	name := "groups.json"
	if instances {
		name = "instances.json"
	}
	return filepath.Join(bed.Root, "scripts/testbed.d/sg", profile, name)
}

// importTable runs probe import of the profile's groups and instances (the
// testbed's addresses), naming the office's CIDR admin, and returns the
// draft's path.
func importTable(t *testing.T, profile string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "imported.toml")
	cmd := exec.Command(bed.Binary, "import", "--instances", groupsJSON(profile, true),
		"--vantage", "admin="+bed.Info["ADMIN_ADDR"]+"/32", "--out", out, groupsJSON(profile, false))
	if stdout, stderr, code := testutil.Run(t, cmd); code != 0 {
		t.Fatalf("probe import: exit %d\n%s%s", code, stdout, stderr)
	}
	return out
}

// stunOnly is the testbed's STUN override alone: an imported table has the
// testbed's addresses already, and no STUN server of its own.
func stunOnly() []string {
	for i, o := range bed.Overrides {
		if o == "--stun" && i+1 < len(bed.Overrides) {
			return bed.Overrides[i : i+2]
		}
	}
	return nil
}

// runImported runs the table from runner, with the testbed's STUN server
// and any further overrides, and returns its report's path and the report.
func runImported(t *testing.T, runner, file string, overrides ...string) (string, Report) {
	t.Helper()
	out := filepath.Join(t.TempDir(), runner+".json")
	stdout, stderr, code := testutil.Run(t, bed.CommandFile(runner, out, file, append(stunOnly(), overrides...), "--from", runner))
	bed.Finished(runner)
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatalf("%s: exit %d, no report: %v\n%s%s", runner, code, err, stdout, stderr)
	}
	testutil.ValidateReport(t, b)
	var r Report
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	return out, r
}

// drift runs probe drift of the profile's groups JSON and the table against
// the reports, and returns its findings as "kind target vantage
// [family] ports/transport rule" and its exit code.
func drift(t *testing.T, profile, file string, reports ...string) ([]string, int) {
	t.Helper()
	args := append([]string{"drift", "--format", "json", groupsJSON(profile, false), file}, reports...)
	stdout, stderr, code := testutil.Run(t, exec.Command(bed.Binary, args...))
	var res struct {
		Findings []struct{ Kind, Target, Vantage, Family, Ports, Transport, Rule string }
	}
	if err := json.Unmarshal([]byte(stdout), &res); err != nil {
		t.Fatalf("drift: exit %d, %v\n%s%s", code, err, stdout, stderr)
	}
	var out []string
	for _, f := range res.Findings {
		out = append(out, strings.Join(strings.Fields(f.Kind+" "+f.Target+" "+f.Vantage+" "+f.Family+" "+f.Ports+"/"+f.Transport+" "+f.Rule), " "))
	}
	slices.Sort(out)
	return out, code
}

// End to end, as a user would: probe import of the groups' JSON and the
// instances' (the testbed's addresses), a run of that table from every
// runner on the network whose firewall internal/sgnft wrote from the same
// JSON (profile "groups"), and probe drift of the three: every verdict
// passes and drift finds nothing. Then one stray rule in the JSON (8021
// from 0.0.0.0/0, profile "groups-stray"): the same table fails exactly
// ESL, from the outside runners and at the public address from the API
// server, and drift names exactly that rule.
func TestImportRunDrift(t *testing.T) {
	file := importTable(t, "groups")
	profile(t, "groups")
	defer profile(t, "after")
	var reps []string
	for _, runner := range runners {
		path, r := runImported(t, runner, file)
		if r.Summary.Total == 0 || r.Summary.Pass != r.Summary.Total {
			t.Errorf("%s, imported table on the groups it came from: %+v; want every verdict pass\n%s", runner, r.Summary, r.table())
		}
		reps = append(reps, path)
	}
	if got, code := drift(t, "groups", file, reps...); len(got) != 0 || code != 0 {
		t.Errorf("drift of the healthy groups: exit %d, findings %q; want none, exit 0", code, got)
	}

	profile(t, "groups-stray")
	want := map[string][]string{
		"internet":   {"freeswitch-tcp-8021"},
		"admin":      {"freeswitch-tcp-8021"},
		"api":        {"freeswitch-tcp-8021-public"},
		"freeswitch": nil,
	}
	reps = nil
	for _, runner := range runners {
		path, r := runImported(t, runner, file)
		if failed := r.with("fail"); !slices.Equal(failed, want[runner]) || r.Summary.Pass+len(failed) != r.Summary.Total {
			t.Errorf("%s with the stray rule: failed %v, %+v; want exactly %v failed, the rest passed\n%s", runner, failed, r.Summary, want[runner], r.table())
		}
		reps = append(reps, path)
	}
	const stray = "sg-0460ce5af3265896a tcp 8021 from 0.0.0.0/0"
	got, code := drift(t, "groups-stray", file, reps...)
	wantDrift := []string{
		"rule-contradicts-file freeswitch admin 8021/tcp " + stray,
		"rule-contradicts-file freeswitch api 8021/tcp " + stray,
		"rule-contradicts-file freeswitch internet 8021/tcp " + stray,
	}
	if !slices.Equal(got, wantDrift) || code != 1 {
		t.Errorf("drift of the stray rule: exit %d, findings %q; want %q", code, got, wantDrift)
	}
}

// failedOver lists a report's failed results as "id over family".
func failedOver(r Report) []string {
	var out []string
	for _, res := range r.Results {
		if res.Verdict == "fail" {
			out = append(out, res.ID+" over "+res.Family)
		}
	}
	slices.Sort(out)
	return out
}

// IPv6, the hole nobody checks: both servers have an IPv6 address (no NAT,
// as on AWS) and FreeSWITCH's group opens SIP and the RTP range to ::/0
// beside 0.0.0.0/0 (profile groups-v6). The table imported from those groups gives each
// target its ipv6 key and states each port over both families; run from
// every runner (the internet's over both families, the API server's to
// FreeSWITCH's IPv6 address, where its group reference admits it by its
// own IPv6 address), every verdict passes, but a runner that nothing
// answered over IPv6 (FreeSWITCH's: the API server's IPv6 side is shut to
// it) cannot pass its IPv6 silences: its IPv6 was not shown to work, and
// they are inconclusive, saying so. Drift finds nothing. Then
// a ::/0 rule opens ESL, which IPv4 keeps to the API server's group
// (groups-v6hole): the same table fails ESL from the internet over IPv6
// alone, and drift names that rule.
func TestIPv6HoleImportRunDrift(t *testing.T) {
	file := importTable(t, "groups-v6")
	profile(t, "groups-v6")
	defer profile(t, "after")
	var reps []string
	v6 := map[string]int{}
	rtp6 := map[string]string{} // runner -> the RTP range over IPv6: observed, verdict
	for _, runner := range runners {
		path, r := runImported(t, runner, file)
		v6Open := false
		for _, res := range r.Results {
			v6Open = v6Open || res.Family == "ipv6" && res.Observed == "open"
		}
		unshown := 0
		for _, res := range r.Results {
			if res.Verdict == "inconclusive" && !v6Open && res.Family == "ipv6" && strings.Contains(res.Reason, "IPv6 was not shown to work") {
				unshown++
			}
		}
		if r.Summary.Total == 0 || r.Summary.Pass+unshown != r.Summary.Total {
			t.Errorf("%s, dual-stack groups: %+v; want every verdict pass, but IPv6 silences where nothing answered over IPv6\n%s", runner, r.Summary, r.table())
		}
		if (runner == "freeswitch") != (unshown > 0) {
			t.Errorf("%s: %d IPv6 silences without IPv6 shown working; want some from freeswitch alone, which nothing answers over IPv6\n%s", runner, unshown, r.table())
		}
		for _, res := range r.Results {
			if res.Family != "ipv6" {
				continue
			}
			v6[runner]++
			if res.ID == "freeswitch-udp-16384-32768" {
				rtp6[runner] = res.Observed + " " + res.Verdict
			}
			if want := bed.Info[strings.ToUpper(res.Target)+"_IPV6"]; res.Address != want {
				t.Errorf("%s: %s over ipv6 probed %s; want %s's IPv6 address %s", runner, res.ID, res.Address, res.Target, want)
			}
			if res.ID == "freeswitch-tcp-8021" && runner == "api" && (res.Observed != "open" || res.Verdict != "pass") {
				t.Errorf("api: ESL over IPv6 (its group, by the API server's IPv6 address): %s, %s; want open, pass", res.Observed, res.Verdict)
			}
		}
		reps = append(reps, path)
	}
	if v6["internet"] == 0 || v6["api"] == 0 || v6["freeswitch"] == 0 || v6["admin"] != 0 {
		t.Errorf("results over ipv6 per runner: %v; want some from internet, api and freeswitch, none from admin (known by IPv4 alone)", v6)
	}
	// The RTP range, open to ::/0 with nothing listening: each sampled
	// port's ICMPv6 port unreachable, paced by the same ICMP account as
	// over IPv4, shows it reachable.
	if want := "closed pass"; rtp6["internet"] != want || rtp6["api"] != want {
		t.Errorf("the RTP range over IPv6: %v; want %q from internet and api", rtp6, want)
	}
	if got, code := drift(t, "groups-v6", file, reps...); len(got) != 0 || code != 0 {
		t.Errorf("drift of the dual-stack groups: exit %d, findings %q; want none", code, got)
	}

	profile(t, "groups-v6hole")
	path, r := runImported(t, "internet", file)
	if failed := failedOver(r); !slices.Equal(failed, []string{"freeswitch-tcp-8021 over ipv6"}) || r.Summary.Pass+1 != r.Summary.Total {
		t.Errorf("internet with ESL open to ::/0: failed %v, %+v; want exactly freeswitch-tcp-8021 over ipv6\n%s", failed, r.Summary, r.table())
	}
	for _, res := range r.Results {
		if res.ID == "freeswitch-tcp-8021" && res.Family == "ipv4" && res.Verdict != "pass" {
			t.Errorf("ESL over IPv4: %s; want pass (IPv4 keeps it to the group)", res.Verdict)
		}
		if res.ID == "freeswitch-tcp-8021" && res.Family == "ipv6" && res.Observed != "open" {
			t.Errorf("ESL over IPv6: observed %q; want open", res.Observed)
		}
	}
	got, code := drift(t, "groups-v6hole", file, path)
	want := []string{"rule-contradicts-file freeswitch internet ipv6 8021/tcp sg-0460ce5af3265896a tcp 8021 from ::/0"}
	if !slices.Equal(got, want) || code != 1 {
		t.Errorf("drift of the ::/0 rule: exit %d, findings %q; want %q", code, got, want)
	}

	// FreeSWITCH by its public name, which has an A and an AAAA record
	// (the runner's hosts file, as a public zone answers): each family
	// dials its own records, so the verdicts are the addresses' own. A
	// name dialled as the resolver orders its addresses would reach the
	// IPv6 address from the IPv4 rows too, and ESL's would fail.
	name := bed.Info["FREESWITCH_NAME"]
	_, r = runImported(t, "internet", file, "--target", "freeswitch.public="+name, "--target", "freeswitch.ipv6="+name)
	if failed := failedOver(r); !slices.Equal(failed, []string{"freeswitch-tcp-8021 over ipv6"}) || r.Summary.Pass+1 != r.Summary.Total {
		t.Errorf("internet, FreeSWITCH by name: failed %v, %+v; want exactly freeswitch-tcp-8021 over ipv6\n%s", failed, r.Summary, r.table())
	}
	for _, res := range r.Results {
		if res.Target == "freeswitch" && res.Address != name {
			t.Errorf("%s over %s probed %s; want the name %s", res.ID, res.Family, res.Address, name)
		}
	}
}
