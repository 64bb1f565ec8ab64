package main

import (
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"probe/internal/secgroups"
	"probe/internal/testutil"
)

const td = "../secgroups/testdata/"

func rulesFor(t *testing.T, groups, instances, name string) string {
	t.Helper()
	set, err := secgroups.ReadFile(groups)
	if err != nil {
		t.Fatal(err)
	}
	ins, err := secgroups.ReadInstancesFile(instances)
	if err != nil {
		t.Fatal(err)
	}
	for i := range ins {
		if ins[i].Name == name {
			text, err := Rules(set, ins, &ins[i])
			if err != nil {
				t.Fatal(err)
			}
			return text
		}
	}
	t.Fatalf("no instance %s", name)
	return ""
}

func lines(text string) []string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return out
}

// The FreeSWITCH group after the fix, as nftables: the office's SSH, SIP
// and RTP from anywhere over IPv4, ESL from the API server's private
// address only.
func TestFreeswitchAfter(t *testing.T) {
	got := lines(rulesFor(t, td+"groups-after.json", td+"instances-after.json", "irisx-prod-freeswitch"))
	want := []string{
		"ip saddr 73.6.78.238/32 tcp dport 22 accept",
		"meta nfproto ipv4 tcp dport 5060 accept",
		"meta nfproto ipv4 udp dport 5060 accept",
		"meta nfproto ipv4 udp dport 16384-32768 accept",
		"ip saddr { 172.31.10.10 } tcp dport 8021 accept",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestEveryKindOfRule(t *testing.T) {
	set, err := secgroups.Parse([]byte(`{"SecurityGroups":[{"GroupId":"sg-1","IpPermissions":[
		{"IpProtocol":"-1","UserIdGroupPairs":[{"GroupId":"sg-2"}]},
		{"IpProtocol":"tcp","FromPort":8021,"ToPort":8021,"Ipv6Ranges":[{"CidrIpv6":"::/0"}]},
		{"IpProtocol":"tcp","FromPort":443,"ToPort":443,"Ipv6Ranges":[{"CidrIpv6":"2001:db8::/32"}],"PrefixListIds":[{"PrefixListId":"pl-1"}]},
		{"IpProtocol":"icmp","FromPort":8,"ToPort":-1,"IpRanges":[{"CidrIp":"10.0.0.0/8"}]},
		{"IpProtocol":"icmpv6","Ipv6Ranges":[{"CidrIpv6":"::/0"}]},
		{"IpProtocol":"47","IpRanges":[{"CidrIp":"10.0.0.0/8"}]}]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	ins := []secgroups.Instance{{ID: "i-1", Name: "a", Groups: []string{"sg-1"}}}
	text, err := Rules(set, ins, &ins[0])
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"# sg-1 all all from sg-2: no instance is in sg-2; nothing matches",
		"meta nfproto ipv6 tcp dport 8021 accept",
		"ip6 saddr 2001:db8::/32 tcp dport 443 accept",
		"# sg-1 tcp 443 from pl-1: a prefix list's contents are not in the JSON; not applied",
		"ip saddr 10.0.0.0/8 icmp type 8 accept",
		"meta nfproto ipv6 meta l4proto icmpv6 accept",
		"ip saddr 10.0.0.0/8 meta l4proto 47 accept",
	}
	for _, w := range want {
		if !strings.Contains(text, w+"\n") {
			t.Errorf("no line %q in\n%s", w, text)
		}
	}
	if _, err := Rules(set, []secgroups.Instance{{ID: "i-2", Groups: []string{"sg-9"}}}, &secgroups.Instance{ID: "i-2", Groups: []string{"sg-9"}}); err == nil {
		t.Error("a group missing from the JSON gave no error")
	}
}

// nftables itself accepts what is written, in the chain sg.bash puts it in.
func TestNftAcceptsTheRules(t *testing.T) {
	nft := testutil.RequireBinary(t, "nftables", "nft", "/usr/sbin/nft")
	if os.Geteuid() != 0 {
		testutil.Unavailable(t, "nft -c needs root")
	}
	dir := t.TempDir()
	for _, p := range []string{"after", "before"} {
		if err := run(td+"groups-"+p+".json", td+"instances-"+p+".json", dir); err != nil {
			t.Fatal(err)
		}
		files, _ := filepath.Glob(filepath.Join(dir, "*.nft"))
		if len(files) != 2 {
			t.Fatalf("%s: wrote %v; want one file per instance", p, files)
		}
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			ruleset := "table inet sgcheck {\n chain input {\n  type filter hook input priority filter; policy drop;\n" + string(b) + " }\n}\n"
			cmd := exec.Command(nft, "-c", "-f", "-")
			cmd.Stdin = strings.NewReader(ruleset)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("%s: nft -c: %v\n%s\n%s", f, err, out, ruleset)
			}
		}
	}
}

// A group reference matches its members' private IPv4 addresses and their
// IPv6 ones: AWS never translates IPv6, so a member's packets keep it.
func TestGroupReferenceOverBothFamilies(t *testing.T) {
	set, err := secgroups.Parse([]byte(`{"SecurityGroups":[{"GroupId":"sg-1","IpPermissions":[
		{"IpProtocol":"tcp","FromPort":8021,"ToPort":8021,"UserIdGroupPairs":[{"GroupId":"sg-2"}]}]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	ins := []secgroups.Instance{
		{ID: "i-1", Name: "fs", Groups: []string{"sg-1"}},
		{ID: "i-2", Name: "api", Groups: []string{"sg-2"}, Private: []netip.Addr{netip.MustParseAddr("10.0.1.10")}, IPv6: []netip.Addr{netip.MustParseAddr("2001:db8:1::10")}},
	}
	text, err := Rules(set, ins, &ins[0])
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"ip saddr { 10.0.1.10 } tcp dport 8021 accept", "ip6 saddr { 2001:db8:1::10 } tcp dport 8021 accept"} {
		if !strings.Contains(text, w+"\n") {
			t.Errorf("no line %q in\n%s", w, text)
		}
	}
}
