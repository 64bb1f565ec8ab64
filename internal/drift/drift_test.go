package drift

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"probe/internal/config"
	"probe/internal/report"
	"probe/internal/secgroups"
)

func loadAll(t *testing.T, groups, file string, reports ...string) Input {
	t.Helper()
	s, err := secgroups.ReadFile(groups)
	if err != nil {
		t.Fatal(err)
	}
	f, err := config.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	in := Input{GroupsPath: groups, Groups: s, File: f}
	for _, p := range reports {
		r, err := report.Read(p)
		if err != nil {
			t.Fatal(err)
		}
		in.Reports, in.ReportPaths = append(in.Reports, r), append(in.ReportPaths, p)
	}
	return in
}

// summary lists the findings as "kind target vantage ports/transport".
func summary(res *Result) []string {
	var out []string
	for _, f := range res.Findings {
		out = append(out, strings.TrimSpace(fmt.Sprintf("%s %s %s %s/%s", f.Kind, f.Target, f.Vantage, f.Ports, f.Transport)))
	}
	return out
}

func check(t *testing.T, res *Result, want []string) {
	t.Helper()
	got := summary(res)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("findings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		for _, f := range res.Findings {
			t.Log(f.Message)
		}
	}
}

const (
	after  = "testdata/groups-testbed-after.json"
	before = "testdata/groups-testbed-before.json"
	file   = "testdata/testbed.toml"
	reps   = "../report/testdata/"
)

// The document's groups after the fix, its table, and the testbed's runs
// from the admin and internet runners agree. The one finding is the file's
// api vantage: it stands at the API server's public address, and a group
// reference (ESL from sg-03f7...) matches private addresses only.
func TestHealthyIsNoDrift(t *testing.T) {
	res := Compare(loadAll(t, after, file, reps+"run-after-admin.json", reps+"run-after-internet.json"))
	check(t, res, []string{"no-rule-for-expectation freeswitch api 8021/tcp"})
	if res.Matters != 1 {
		t.Errorf("matters = %d", res.Matters)
	}
}

// A runner in the API server's group that reaches the FreeSWITCH server's
// public address on 8021 is not what the group reference allows: AWS
// matches a referenced group against private addresses only.
func TestGroupReferenceIsNotThePublicAddress(t *testing.T) {
	res := Compare(loadAll(t, after, file, reps+"run-after-api.json"))
	check(t, res, []string{
		"no-rule-for-expectation freeswitch api 8021/tcp",
		"passed-without-rule freeswitch api 8021/tcp",
	})
	if !strings.Contains(res.Findings[0].Message, "no rule of sg-0460ce5af3265896a lets 203.0.113.10/32 in") {
		t.Errorf("message: %s", res.Findings[0].Message)
	}
}

// The shared group from before the fix, against the fixed file: every rule
// the document removed is a contradiction of the file, and RTP on the API
// server is both that and a rule nothing declares.
func TestBeforeGroupsAgainstTheFile(t *testing.T) {
	in := loadAll(t, before, file)
	for i := range in.File.Targets {
		if len(in.File.Targets[i].SecurityGroups) > 0 {
			in.File.Targets[i].SecurityGroups = []string{"sg-0b7c3e91d2a4f5068"}
		}
	}
	res := Compare(in)
	check(t, res, []string{
		"rule-contradicts-file api internet 22/tcp",
		"rule-contradicts-file freeswitch internet 22/tcp",
		"rule-contradicts-file freeswitch admin 80/tcp",
		"rule-contradicts-file freeswitch internet 80/tcp",
		"rule-contradicts-file freeswitch admin 443/tcp",
		"rule-contradicts-file freeswitch internet 443/tcp",
		"rule-contradicts-file api admin 5060/tcp",
		"rule-contradicts-file api internet 5060/tcp",
		"rule-contradicts-file api admin 5060/udp",
		"rule-contradicts-file api internet 5060/udp",
		"rule-contradicts-file api admin 16384-32768/udp",
		"rule-contradicts-file api internet 16384-32768/udp",
		"rule-not-checked api  /",
		"rule-not-checked freeswitch  /",
		"no-rule-for-expectation freeswitch api 8021/tcp",
	})
}

// The same groups with one stray rule: exactly that finding.
func TestStrayRule(t *testing.T) {
	in := loadAll(t, after, file)
	g := in.Groups.Group("sg-0460ce5af3265896a")
	stray := g.Ingress[0]
	stray.Protocol, stray.FromPort, stray.ToPort, stray.Description = secgroups.TCP, 8021, 8021, "debugging"
	stray.Prefix = netip.MustParsePrefix("0.0.0.0/0")
	g.Ingress = append(g.Ingress, stray)
	res := Compare(in)
	check(t, res, []string{
		"rule-contradicts-file freeswitch admin 8021/tcp",
		"rule-contradicts-file freeswitch internet 8021/tcp",
	})
	f := res.Findings[1]
	if f.Rule != "sg-0460ce5af3265896a tcp 8021 from 0.0.0.0/0" || f.Expectation != "freeswitch-esl" || f.RuleDescription != "debugging" {
		t.Errorf("finding: %+v", f)
	}
}

// A rule for a port the file never names is an undeclared exposure.
func TestUndeclaredPort(t *testing.T) {
	in := loadAll(t, after, file)
	g := in.Groups.Group("sg-03f77311c140b8f2e")
	extra := g.Ingress[1] // tcp 80 from 0.0.0.0/0
	extra.FromPort, extra.ToPort = 9000, 9100
	g.Ingress = append(g.Ingress, extra)
	res := Compare(in)
	check(t, res, []string{
		"undeclared-rule api  9000-9100/tcp",
		"no-rule-for-expectation freeswitch api 8021/tcp",
	})
	if !strings.Contains(res.Findings[0].Message, "lets admin, internet, api in to api on 9000-9100/tcp, and no expectation declares it") {
		t.Errorf("message: %s", res.Findings[0].Message)
	}
}

// Observations the rules do not explain, from the runs of the "before"
// profile held against the fixed groups: SSH, SIP, RTP and the web ports
// reached hosts whose groups do not admit them.
func TestObservationsWithoutRule(t *testing.T) {
	res := Compare(loadAll(t, after, file, reps+"run-before-internet.json"))
	check(t, res, []string{
		"no-rule-for-expectation freeswitch api 8021/tcp",
		"passed-without-rule api internet 22/tcp",
		"passed-without-rule api internet 5060/tcp",
		"passed-without-rule api internet 5060/udp",
		"passed-without-rule api internet 16384, 19058, 22582, 22788, 22936, 24660, 26512, 27690, 31024, 32768/udp",
		"passed-without-rule freeswitch internet 22/tcp",
		"passed-without-rule freeswitch internet 80, 443/tcp",
	})
}

// A rule that admits, a port that was dropped: another layer.
func TestFilteredDespiteRuleAndNothingListens(t *testing.T) {
	in := loadAll(t, after, file, reps+"run-after-internet.json")
	rep := in.Reports[0]
	for i := range rep.Results {
		r := &rep.Results[i]
		switch r.ID {
		case "api-https":
			r.Evidence[0].Observation.State = "filtered"
		case "freeswitch-sip-tcp":
			r.Evidence[0].Observation.State = "closed"
		}
	}
	res := Compare(in)
	check(t, res, []string{
		"no-rule-for-expectation freeswitch api 8021/tcp",
		"filtered-despite-rule api internet 443/tcp",
		"allowed-nothing-listens freeswitch internet 5060/tcp",
	})
	if !strings.Contains(res.Findings[1].Message, "a network ACL") {
		t.Errorf("message: %s", res.Findings[0].Message)
	}
}

// The office's address changed: STUN sees the admin runner elsewhere than
// the groups allowlist it.
func TestAllowlistedAddressMoved(t *testing.T) {
	in := loadAll(t, after, file, reps+"run-after-admin.json")
	rep := in.Reports[0]
	rep.Vantage.PublicAddress = "198.51.100.77"
	rep.Vantage.CIDRs = []string{"198.51.100.77/32"}
	res := Compare(in)
	var kinds []string
	for _, f := range res.Findings {
		kinds = append(kinds, string(f.Kind))
	}
	if !strings.Contains(strings.Join(kinds, " "), string(AddressMoved)) {
		t.Fatalf("no %s finding: %v", AddressMoved, summary(res))
	}
	for _, f := range res.Findings {
		if f.Kind == AddressMoved {
			want := "STUN saw vantage admin at 198.51.100.77, but the groups allowlist it as 198.51.100.238/32"
			if !strings.HasPrefix(f.Message, want) || !strings.Contains(f.Message, "until they name 198.51.100.77/32") {
				t.Errorf("message: %s", f.Message)
			}
		}
	}
}

func TestUnknownGroup(t *testing.T) {
	in := loadAll(t, after, file)
	in.File.Targets[0].SecurityGroups = append(in.File.Targets[0].SecurityGroups, "sg-0123456789abcdef0")
	res := Compare(in)
	if len(res.Findings) == 0 || res.Findings[0].Kind != UnknownGroup {
		t.Fatalf("findings: %v", summary(res))
	}
}

// A group that no target carries is noted, not compared: its rules make
// no finding that matters, and it does not count as compared.
func TestGroupNotInFile(t *testing.T) {
	in := loadAll(t, after, file)
	for i := range in.File.Targets {
		if in.File.Targets[i].Name == "freeswitch" {
			in.File.Targets[i].SecurityGroups = nil
		}
	}
	res := Compare(in)
	var notes []string
	for _, f := range res.Findings {
		if f.Kind == GroupNotInFile {
			notes = append(notes, f.Rule)
			if f.Matters || !strings.Contains(f.Message, "not compared") {
				t.Errorf("%s: matters=%v, %q; want a note that its rules are not compared", f.Rule, f.Matters, f.Message)
			}
		}
		if f.Target == "freeswitch" && f.Matters {
			t.Errorf("a finding about freeswitch, whose group is no longer tied to it: %s", f.Message)
		}
	}
	if len(notes) != 1 || notes[0] != "sg-0460ce5af3265896a" || res.Compared != 1 {
		t.Errorf("noted %v, %d compared; want FreeSWITCH's group noted alone, the API server's compared", notes, res.Compared)
	}
}

func TestRender(t *testing.T) {
	in := loadAll(t, after, file, reps+"run-after-api.json")
	res := Compare(in)
	for _, format := range Formats {
		var b bytes.Buffer
		if err := Write(&b, res, format); err != nil {
			t.Fatal(err)
		}
		out := b.String()
		if !strings.Contains(out, "passed-without-rule") {
			t.Errorf("%s: no finding in\n%s", format, out)
		}
		if format == "json" {
			var back Result
			if err := json.Unmarshal(b.Bytes(), &back); err != nil || back.Matters != 2 {
				t.Errorf("json: %v, matters %d", err, back.Matters)
			}
		}
		if format == "markdown" && !strings.Contains(out, "| ❌ | no-rule-for-expectation | freeswitch | api | 8021/tcp |") {
			t.Errorf("markdown:\n%s", out)
		}
	}
	var b bytes.Buffer
	if err := Write(&b, Compare(loadAll(t, after, file)), "table"); err != nil || !strings.Contains(b.String(), "1 findings, 1 that matter") {
		t.Errorf("table: %v\n%s", err, b.String())
	}
}

// A ::/0 rule on a port IPv4 keeps shut: a target with an IPv6 address,
// whose ESL row says filtered from the internet over both families, is
// contradicted over IPv6 only, and the finding says so; over IPv6 the API
// server's runner reaches ESL by its group (AWS never translates IPv6).
func TestIPv6RuleContradictsOverIPv6Only(t *testing.T) {
	dir := t.TempDir()
	b, err := os.ReadFile(after)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	i := strings.Index(s, `"FromPort": 8021`)
	j := i + strings.Index(s[i:], `"Ipv6Ranges": []`)
	s = s[:j] + `"Ipv6Ranges": [{"CidrIpv6": "::/0", "Description": "ESL for the v6 test"}]` + s[j+len(`"Ipv6Ranges": []`):]
	groups := filepath.Join(dir, "groups.json")
	table := filepath.Join(dir, "table.toml")
	toml := `
[[vantage]]
name = "internet"
network = "internet"
catch_all = true

[[vantage]]
name = "api"
network = "vpc"
host = "api"
cidrs = ["203.0.113.10/32"]

[[target]]
name = "api"
public = "203.0.113.10"
private = "10.0.1.10"
ipv6 = "2001:db8:1::10"
security_groups = ["sg-03f77311c140b8f2e"]

[[target]]
name = "freeswitch"
public = "203.0.113.20"
private = "10.0.1.20"
ipv6 = "2001:db8:1::20"
security_groups = ["sg-0460ce5af3265896a"]

[[expectation]]
id = "esl"
target = "freeswitch"
port = 8021
transport = "tcp"
probe = "tcp"
expect = { internet = "filtered", api = "open" }
`
	if err := os.WriteFile(groups, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(table, []byte(toml), 0o644); err != nil {
		t.Fatal(err)
	}
	res := Compare(loadAll(t, groups, table))
	var got []string
	for _, f := range res.Findings {
		if f.Kind == Undeclared {
			continue // the rest of the groups' ports: this table states ESL alone
		}
		got = append(got, fmt.Sprintf("%s %s %s %s %s/%s %s", f.Kind, f.Target, f.Vantage, f.Family, f.Ports, f.Transport, f.Rule))
	}
	want := []string{"rule-contradicts-file freeswitch internet ipv6 8021/tcp sg-0460ce5af3265896a tcp 8021 from ::/0"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("findings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
