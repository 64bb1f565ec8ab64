package secgroups

import (
	"net/netip"
	"os"
	"strings"
	"testing"
)

const (
	apiSG = "sg-03f77311c140b8f2e"
	fsSG  = "sg-0460ce5af3265896a"
)

func mustRead(t *testing.T, path string) *Set {
	t.Helper()
	s, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// The document's two groups after the fix read as its tables state them.
func TestReadAfter(t *testing.T) {
	s := mustRead(t, "testdata/groups-after.json")
	if len(s.Groups) != 2 {
		t.Fatalf("got %d groups; want 2", len(s.Groups))
	}
	var got []string
	for _, g := range s.Groups {
		for _, r := range g.Ingress {
			got = append(got, r.String()+" "+r.Description)
		}
	}
	want := []string{
		apiSG + " tcp 22 from 73.6.78.238/32 SSH from home",
		apiSG + " tcp 80 from 0.0.0.0/0 HTTP (redirect to HTTPS)",
		apiSG + " tcp 443 from 0.0.0.0/0 HTTPS (nginx reverse proxy)",
		fsSG + " tcp 22 from 73.6.78.238/32 SSH from home",
		fsSG + " tcp 5060 from 0.0.0.0/0 SIP signaling (TCP)",
		fsSG + " udp 5060 from 0.0.0.0/0 SIP signaling (UDP)",
		fsSG + " udp 16384-32768 from 0.0.0.0/0 RTP media streams",
		fsSG + " tcp 8021 from " + apiSG + " ESL (API server only)",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("rules:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	g := s.Group(fsSG)
	if g.Name != "irisx-prod-sg-freeswitch" || len(g.Egress) != 1 || g.Egress[0].Protocol != All {
		t.Errorf("freeswitch group: name %q, egress %v", g.Name, g.Egress)
	}
}

func TestReadBefore(t *testing.T) {
	s := mustRead(t, "testdata/groups-before.json")
	if len(s.Groups) != 1 || s.Groups[0].Name != "irisx-prod-sg" {
		t.Fatalf("got %+v; want the one shared group", s.Groups)
	}
	last := s.Groups[0].Ingress[len(s.Groups[0].Ingress)-1]
	if last.Protocol != ICMP || last.FromPort != -1 || last.PortLabel() != "all" {
		t.Errorf("icmp rule: %+v", last)
	}
}

func TestAdmits(t *testing.T) {
	s := mustRead(t, "testdata/groups-after.json")
	fs := []string{fsSG}
	api := []string{apiSG}
	admin := netip.MustParseAddr("73.6.78.238")
	other := netip.MustParseAddr("198.51.100.7")
	apiPriv := netip.MustParseAddr("172.31.10.10")
	apiPub := netip.MustParseAddr("3.83.53.69")
	tests := []struct {
		name      string
		groups    []string
		transport string
		port      int
		src       Source
		want      bool
	}{
		{"ssh from the office", api, "tcp", 22, Source{Addr: admin}, true},
		{"ssh from elsewhere", api, "tcp", 22, Source{Addr: other}, false},
		{"https from anywhere", api, "tcp", 443, Source{Addr: other}, true},
		{"udp 443 is not tcp 443", api, "udp", 443, Source{Addr: other}, false},
		{"rtp inside the range", fs, "udp", 20000, Source{Addr: other}, true},
		{"rtp bound low", fs, "udp", 16384, Source{Addr: other}, true},
		{"rtp below the range", fs, "udp", 16383, Source{Addr: other}, false},
		{"esl from the api group at the private address", fs, "tcp", 8021, Source{Addr: apiPriv, Groups: api}, true},
		{"esl from the api server's public address", fs, "tcp", 8021, Source{Addr: apiPub}, false},
		{"esl from the internet", fs, "tcp", 8021, Source{Addr: other}, false},
		{"an IPv4-mapped source is IPv4", api, "tcp", 80, Source{Addr: netip.MustParseAddr("::ffff:198.51.100.7")}, true},
		{"IPv6 source, no IPv6 rule", api, "tcp", 80, Source{Addr: netip.MustParseAddr("2001:db8::1")}, false},
		{"a group not in the set", []string{"sg-0000"}, "tcp", 80, Source{Addr: other}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := len(s.Admitting(tt.groups, tt.transport, tt.port, tt.src)) > 0
			if got != tt.want {
				t.Errorf("got %v; want %v", got, tt.want)
			}
		})
	}
}

func TestAllProtocolsAndIPv6(t *testing.T) {
	s, err := Parse([]byte(`{"SecurityGroups":[{"GroupId":"sg-1","GroupName":"x","IpPermissions":[
		{"IpProtocol":"-1","IpRanges":[],"Ipv6Ranges":[{"CidrIpv6":"::/0","Description":"all v6"}],"PrefixListIds":[],"UserIdGroupPairs":[]},
		{"IpProtocol":"47","IpRanges":[{"CidrIp":"10.0.0.0/8"}]},
		{"IpProtocol":"icmpv6","Ipv6Ranges":[{"CidrIpv6":"2001:db8::/32"}]},
		{"IpProtocol":"tcp","FromPort":0,"ToPort":65535,"PrefixListIds":[{"PrefixListId":"pl-63a5400a"}]}]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	rs := s.Groups[0].Ingress
	v6 := Source{Addr: netip.MustParseAddr("2001:db8::5")}
	if !rs[0].Admits("udp", 9, v6) || !rs[0].Admits("tcp", 8021, v6) {
		t.Errorf("-1 from ::/0 should admit every port from an IPv6 source: %+v", rs[0])
	}
	if rs[0].Admits("tcp", 8021, Source{Addr: netip.MustParseAddr("198.51.100.1")}) {
		t.Error("::/0 admitted an IPv4 source")
	}
	if rs[1].Protocol != "47" {
		t.Errorf("protocol 47 read as %q", rs[1].Protocol)
	}
	if _, _, ok := rs[1].Ports("tcp"); ok {
		t.Error("a GRE rule covers tcp")
	}
	if rs[2].Protocol != ICMPv6 || rs[2].FromPort != -1 {
		t.Errorf("icmpv6 without ports: %+v", rs[2])
	}
	if rs[3].Admits("tcp", 443, Source{Addr: netip.MustParseAddr("52.94.1.1")}) {
		t.Error("a prefix list matched an address; its contents are not known")
	}
	if rs[3].SourceLabel() != "pl-63a5400a" {
		t.Errorf("prefix list label %q", rs[3].SourceLabel())
	}
}

// Bad input gets an error naming the group and the rule.
func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"empty", ``, "empty"},
		{"not json", `SecurityGroups: []`, "not JSON"},
		{"query output", `[{"IpProtocol":"tcp"}]`, "without --query"},
		{"instances instead", `{"Reservations":[]}`, "no SecurityGroups key"},
		{"wrong type", `{"SecurityGroups":{"GroupId":"sg-1"}}`, "SecurityGroups is a JSON object"},
		{"two documents", `{"SecurityGroups":[]} {}`, "more than one JSON document"},
		{"truncated", `{"SecurityGroups":[{"GroupId":"sg-1"`, "not valid JSON"},
		{"no group id", `{"SecurityGroups":[{"GroupName":"x"}]}`, "SecurityGroups[0]: no GroupId"},
		{"twice", `{"SecurityGroups":[{"GroupId":"sg-1"},{"GroupId":"sg-1"}]}`, "listed twice"},
		{"missing port", `{"SecurityGroups":[{"GroupId":"sg-1","GroupName":"web","IpPermissions":[
			{"IpProtocol":"tcp","FromPort":22,"ToPort":22,"IpRanges":[{"CidrIp":"1.2.3.4/32"}]},
			{"IpProtocol":"tcp","FromPort":80,"IpRanges":[{"CidrIp":"0.0.0.0/0"}]}]}]}`,
			"group sg-1 (web): IpPermissions[1]: tcp rule without FromPort and ToPort"},
		{"unknown protocol", `{"SecurityGroups":[{"GroupId":"sg-1","IpPermissions":[{"IpProtocol":"sctpx","IpRanges":[{"CidrIp":"0.0.0.0/0"}]}]}]}`,
			`group sg-1: IpPermissions[0]: IpProtocol "sctpx" is not a protocol`},
		{"protocol out of range", `{"SecurityGroups":[{"GroupId":"sg-1","IpPermissions":[{"IpProtocol":"300","IpRanges":[{"CidrIp":"0.0.0.0/0"}]}]}]}`,
			`IpProtocol "300" is not a protocol`},
		{"no protocol", `{"SecurityGroups":[{"GroupId":"sg-1","IpPermissions":[{"FromPort":1,"ToPort":2}]}]}`, "IpPermissions[0]: no IpProtocol"},
		{"ports reversed", `{"SecurityGroups":[{"GroupId":"sg-1","IpPermissions":[{"IpProtocol":"udp","FromPort":9,"ToPort":1,"IpRanges":[{"CidrIp":"0.0.0.0/0"}]}]}]}`, "FromPort is above ToPort"},
		{"port too high", `{"SecurityGroups":[{"GroupId":"sg-1","IpPermissions":[{"IpProtocol":"udp","FromPort":9,"ToPort":70000,"IpRanges":[{"CidrIp":"0.0.0.0/0"}]}]}]}`, "ports are 0-65535"},
		{"bad cidr", `{"SecurityGroups":[{"GroupId":"sg-1","IpPermissions":[{"IpProtocol":"tcp","FromPort":1,"ToPort":1,"IpRanges":[{"CidrIp":"1.2.3.400/32"}]}]}]}`, `IpRanges[0]: CidrIp "1.2.3.400/32" is not an IPv4 CIDR`},
		{"v6 in IpRanges", `{"SecurityGroups":[{"GroupId":"sg-1","IpPermissions":[{"IpProtocol":"tcp","FromPort":1,"ToPort":1,"IpRanges":[{"CidrIp":"::/0"}]}]}]}`, "not an IPv4 CIDR"},
		{"v4 in Ipv6Ranges", `{"SecurityGroups":[{"GroupId":"sg-1","IpPermissions":[{"IpProtocol":"tcp","FromPort":1,"ToPort":1,"Ipv6Ranges":[{"CidrIpv6":"0.0.0.0/0"}]}]}]}`, "not an IPv6 CIDR"},
		{"no source", `{"SecurityGroups":[{"GroupId":"sg-1","IpPermissions":[{"IpProtocol":"tcp","FromPort":1,"ToPort":1,"IpRanges":[]}]}]}`, "tcp rule with no source"},
		{"icmp without type", `{"SecurityGroups":[{"GroupId":"sg-1","IpPermissions":[{"IpProtocol":"icmp","IpRanges":[{"CidrIp":"0.0.0.0/0"}]}]}]}`, "icmp rule without FromPort"},
		{"bad egress", `{"SecurityGroups":[{"GroupId":"sg-1","IpPermissionsEgress":[{"IpProtocol":"tcp","IpRanges":[{"CidrIp":"0.0.0.0/0"}]}]}]}`, "IpPermissionsEgress[0]: tcp rule without"},
		{"bad group pair", `{"SecurityGroups":[{"GroupId":"sg-1","IpPermissions":[{"IpProtocol":"-1","UserIdGroupPairs":[{"UserId":"1"}]}]}]}`, "UserIdGroupPairs[0]: GroupId"},
		{"fractional port", `{"SecurityGroups":[{"GroupId":"sg-1","IpPermissions":[{"IpProtocol":"tcp","FromPort":2.5,"ToPort":3}]}]}`, "FromPort is a JSON number"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Parse([]byte(tt.in))
			if err == nil {
				t.Fatalf("no error; got %+v", s)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %q; want it to say %q", err, tt.want)
			}
		})
	}
}

func TestReadFileBounded(t *testing.T) {
	path := t.TempDir() + "/big.json"
	if err := os.WriteFile(path, make([]byte, MaxInputSize+1), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadFile(path); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("got %v; want a size error", err)
	}
}
