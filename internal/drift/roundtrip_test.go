package drift

import (
	"bytes"
	"testing"

	"probe/internal/config"
	"probe/internal/draft"
	"probe/internal/report"
	"probe/internal/secgroups"
	"probe/probes"
)

// imported is the table `probe import` writes from groups and instances.
func imported(t *testing.T, groups, instances string) *config.File {
	t.Helper()
	s, err := secgroups.ReadFile(groups)
	if err != nil {
		t.Fatal(err)
	}
	in, err := secgroups.ReadInstancesFile(instances)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := draft.Make(s, in, draft.Options{Names: map[string]string{"73.6.78.238/32": "admin"}}).Write(&b, groups); err != nil {
		t.Fatal(err)
	}
	f, err := config.Parse("imported.toml", b.Bytes())
	if err != nil {
		t.Fatalf("the imported table does not load: %v\n%s", err, b.String())
	}
	return f
}

// The table imported from the groups agrees with them; the same table
// against the groups with one stray rule gives exactly that rule.
func TestImportedTableAgainstTheGroups(t *testing.T) {
	const sg = "../secgroups/testdata/"
	f := imported(t, sg+"groups-after.json", sg+"instances-after.json")
	s, err := secgroups.ReadFile(sg + "groups-after.json")
	if err != nil {
		t.Fatal(err)
	}
	check(t, Compare(Input{GroupsPath: "groups-after.json", Groups: s, File: f}), nil)

	g := s.Group("sg-0460ce5af3265896a")
	stray := g.Ingress[1] // tcp 5060 from 0.0.0.0/0
	stray.FromPort, stray.ToPort, stray.Description = 8021, 8021, "debugging ESL"
	g.Ingress = append(g.Ingress, stray)
	check(t, Compare(Input{GroupsPath: "stray.json", Groups: s, File: f}), []string{
		"rule-contradicts-file irisx-prod-freeswitch admin 8021/tcp",
		"rule-contradicts-file irisx-prod-freeswitch internet 8021/tcp",
		"rule-contradicts-file irisx-prod-freeswitch irisx-prod-api 8021/tcp",
	})
}

// The shared group from before the fix and its table agree too: the table
// states what the groups allow, whatever the document says of it.
func TestBeforeTableAgainstBeforeGroups(t *testing.T) {
	const sg = "../secgroups/testdata/"
	f := imported(t, sg+"groups-before.json", sg+"instances-before.json")
	s, err := secgroups.ReadFile(sg + "groups-before.json")
	if err != nil {
		t.Fatal(err)
	}
	check(t, Compare(Input{GroupsPath: "groups-before.json", Groups: s, File: f}), []string{
		"rule-not-checked irisx-prod-api  /",
		"rule-not-checked irisx-prod-freeswitch  /",
	})
}

// A runner on the API server, in its group: ESL at FreeSWITCH's private
// address is what the group reference admits; ESL answering at the public
// address is not, whatever the group says: something else lets it in (a
// CIDR hole for the API server's public address).
func TestRunnerInTheGroup(t *testing.T) {
	const sg = "../secgroups/testdata/"
	f := imported(t, sg+"groups-after.json", sg+"instances-after.json")
	s, err := secgroups.ReadFile(sg + "groups-after.json")
	if err != nil {
		t.Fatal(err)
	}
	esl := func(id, at, addr, state string) report.Result {
		return report.Result{ID: id, Target: "irisx-prod-freeswitch", Address: addr, At: at, Ports: []int{8021}, Transport: "tcp",
			Probe: "tcp", Expected: "open", Evidence: []report.PortEvidence{{Port: 8021, Observation: probes.Observation{State: probes.State(state)}}}}
	}
	rep := &report.Report{RunID: "r1", Vantage: report.Vantage{Name: "irisx-prod-api", PublicAddress: "3.83.53.69", CIDRs: []string{"3.83.53.69/32"}},
		Results: []report.Result{
			esl("irisx-prod-freeswitch-tcp-8021", "private", "172.31.10.20", "open"),
			esl("irisx-prod-freeswitch-tcp-8021-public", "public", "54.160.220.243", "open"),
		}}
	res := Compare(Input{GroupsPath: "groups-after.json", Groups: s, File: f, Reports: []*report.Report{rep}, ReportPaths: []string{"r1.json"}})
	check(t, res, []string{"passed-without-rule irisx-prod-freeswitch irisx-prod-api 8021/tcp"})
	if res.Findings[0].At != "public" {
		t.Errorf("finding at %q; want public", res.Findings[0].At)
	}
	// The private address dropping it, though the group admits it: another layer.
	rep.Results = rep.Results[:1]
	rep.Results[0].Evidence[0].Observation.State = probes.Filtered
	check(t, Compare(Input{GroupsPath: "groups-after.json", Groups: s, File: f, Reports: []*report.Report{rep}, ReportPaths: []string{"r1.json"}}),
		[]string{"filtered-despite-rule irisx-prod-freeswitch irisx-prod-api 8021/tcp"})
}

// The testbed's dual-stack groups (both servers with an IPv6 address, SIP
// open to ::/0): the imported table, with each target's ipv6 key and rows
// stated over both families, agrees with the groups it came from; against
// the groups with ESL open to ::/0 it gives exactly that rule, for the
// internet over IPv6 alone (the API server's runner is admitted there by
// its group already, and IPv4 keeps ESL to the group).
func TestImportedDualStackTable(t *testing.T) {
	const bed = "../../scripts/testbed.d/sg/"
	f := imported(t, bed+"groups-v6/groups.json", bed+"groups-v6/instances.json")
	if fs := f.Target("freeswitch"); fs == nil || fs.IPv6 != "2001:db8:1::20" {
		t.Fatalf("freeswitch target %+v; want its ipv6 key", fs)
	}
	s, err := secgroups.ReadFile(bed + "groups-v6/groups.json")
	if err != nil {
		t.Fatal(err)
	}
	check(t, Compare(Input{GroupsPath: "groups-v6", Groups: s, File: f}), nil)
	hole, err := secgroups.ReadFile(bed + "groups-v6hole/groups.json")
	if err != nil {
		t.Fatal(err)
	}
	res := Compare(Input{GroupsPath: "groups-v6hole", Groups: hole, File: f})
	check(t, res, []string{"rule-contradicts-file freeswitch internet 8021/tcp"})
	if f := res.Findings[0]; f.Family != "ipv6" || f.Rule != "sg-0460ce5af3265896a tcp 8021 from ::/0" {
		t.Errorf("finding over %q, rule %q; want ipv6, the ::/0 rule", f.Family, f.Rule)
	}
}
