package draft

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"

	"probe/internal/secgroups"
)

const td = "../secgroups/testdata/"

func build(t *testing.T, groups, instances string, opt Options) *Draft {
	t.Helper()
	s, err := secgroups.ReadFile(groups)
	if err != nil {
		t.Fatal(err)
	}
	var in []secgroups.Instance
	if instances != "" {
		if in, err = secgroups.ReadInstancesFile(instances); err != nil {
			t.Fatal(err)
		}
	}
	return Make(s, in, opt)
}

// rows lists the expectations as "id probe at: vantage=word ...", vantages
// in the draft's order.
func rows(d *Draft) []string {
	var out []string
	for _, e := range d.Expectations {
		var ws []string
		for _, v := range d.Vantages {
			if w, ok := e.Expect[v.Name]; ok {
				ws = append(ws, v.Name+"="+w)
			}
		}
		at := e.At
		if at == "" {
			at = "-"
		}
		if e.Family != "" {
			at += " " + e.Family
		}
		out = append(out, fmt.Sprintf("%s %s %s: %s", e.ID, e.Probe, at, strings.Join(ws, " ")))
	}
	return out
}

func same(t *testing.T, got, want []string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

var admin = Options{Names: map[string]string{"73.6.78.238/32": "admin"}}

// The document's two groups after the fix become its port tables, row by
// row, seen from the office, the internet and a runner on each server; the
// ESL rule, a group reference, is open at the private address from the API
// server and filtered at the public one; SIP, open to the world, is asked of
// the API server's runner at the public address too, so that silence there
// has a live address to stand on.
func TestAfter(t *testing.T) {
	d := build(t, td+"groups-after.json", td+"instances-after.json", admin)
	var vs []string
	for _, v := range d.Vantages {
		vs = append(vs, fmt.Sprintf("%s %s %v host=%s", v.Name, v.Network, v.CIDRs, v.Host))
	}
	same(t, vs, []string{
		"internet internet [] host=",
		"admin internet [73.6.78.238/32] host=",
		"irisx-prod-api vpc [3.83.53.69/32] host=irisx-prod-api",
		"irisx-prod-freeswitch vpc [54.160.220.243/32] host=irisx-prod-freeswitch",
	})
	same(t, rows(d), []string{
		"irisx-prod-api-tcp-22 ssh -: internet=filtered admin=open irisx-prod-freeswitch=filtered",
		"irisx-prod-api-tcp-80 http -: internet=open admin=open irisx-prod-freeswitch=open",
		"irisx-prod-api-tcp-443 http -: internet=open admin=open irisx-prod-freeswitch=open",
		"irisx-prod-freeswitch-tcp-22 ssh -: internet=filtered admin=open irisx-prod-api=filtered",
		"irisx-prod-freeswitch-tcp-5060 sip -: internet=open admin=open irisx-prod-api=open",
		"irisx-prod-freeswitch-tcp-5060-public sip public: irisx-prod-api=open",
		"irisx-prod-freeswitch-udp-5060 sip -: internet=open admin=open irisx-prod-api=open",
		"irisx-prod-freeswitch-tcp-8021 tcp -: internet=filtered admin=filtered irisx-prod-api=open",
		"irisx-prod-freeswitch-tcp-8021-public tcp public: irisx-prod-api=filtered",
		"irisx-prod-freeswitch-udp-16384-32768 rtp -: internet=reachable admin=reachable irisx-prod-api=reachable",
	})
	if e := d.Expectations[7]; e.Purpose != "sg-0460ce5af3265896a from sg-03f77311c140b8f2e: ESL (API server only)" {
		t.Errorf("purpose %q", e.Purpose)
	}
	if d.Targets[1].Private != "172.31.10.20" || d.Targets[1].Public != "54.160.220.243" || !slices.Equal(d.Targets[1].Groups, []string{"sg-0460ce5af3265896a"}) {
		t.Errorf("target %+v", d.Targets[1])
	}
}

// The shared group before the fix, with no instances: one target for the
// group, its address left to the person, SSH open to the world; the ICMP
// rule is noted, not stated.
func TestBeforeWithoutInstances(t *testing.T) {
	d := build(t, td+"groups-before.json", "", Options{})
	same(t, rows(d), []string{
		"irisx-prod-tcp-22 ssh -: internet=open",
		"irisx-prod-tcp-80 http -: internet=open",
		"irisx-prod-tcp-443 http -: internet=open",
		"irisx-prod-tcp-5060 sip -: internet=open",
		"irisx-prod-udp-5060 sip -: internet=open",
		"irisx-prod-udp-16384-32768 rtp -: internet=reachable",
	})
	if !d.Targets[0].Placeholder || len(d.Notes) != 1 || !strings.Contains(d.Notes[0], "icmp") {
		t.Errorf("target %+v, notes %v", d.Targets[0], d.Notes)
	}
	var b bytes.Buffer
	if err := d.Write(&b, "groups-before.json"); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"public = \"irisx-prod.replace-me.invalid\"   # replace with", "# Not stated: sg-0b7c3e91d2a4f5068 icmp all"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("draft lacks %q:\n%s", want, b.String())
		}
	}
}

// An IPv6 rule opens what IPv4 keeps shut: ::/0 on 8021. The draft gives
// each instance its IPv6 address (the ipv6 key), states a port both
// families agree on in one row, probed over each family a vantage sends
// from, and splits the row where they differ: 8021 filtered from the
// internet over IPv4, open over IPv6. A group reference admits the group's
// runner at the IPv6 address too (from its own IPv6 address, no NAT), and
// at the public IPv4 address not at all. HTTPS, open to 0.0.0.0/0 alone,
// is filtered over IPv6: nothing answers the internet there, and the
// target says so for that family alone.
func TestIPv6Rule(t *testing.T) {
	s, err := secgroups.Parse([]byte(`{"SecurityGroups":[{"GroupId":"sg-fs","GroupName":"fs","IpPermissions":[
		{"IpProtocol":"tcp","FromPort":5060,"ToPort":5060,"IpRanges":[{"CidrIp":"0.0.0.0/0"}],"Ipv6Ranges":[{"CidrIpv6":"::/0"}]},
		{"IpProtocol":"tcp","FromPort":8021,"ToPort":8021,"UserIdGroupPairs":[{"GroupId":"sg-api"}],"Ipv6Ranges":[{"CidrIpv6":"::/0","Description":"oops"}]}]},
		{"GroupId":"sg-api","GroupName":"api","IpPermissions":[
		{"IpProtocol":"tcp","FromPort":443,"ToPort":443,"IpRanges":[{"CidrIp":"0.0.0.0/0"}]}]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	in, err := secgroups.ParseInstances([]byte(`{"Reservations":[{"Instances":[{"InstanceId":"i-1","PrivateIpAddress":"10.0.0.5",
		"PublicIpAddress":"198.51.100.5","Ipv6Address":"2001:db8::5","SecurityGroups":[{"GroupId":"sg-fs"}],
		"Tags":[{"Key":"Name","Value":"FreeSWITCH"}]},
		{"InstanceId":"i-2","PrivateIpAddress":"10.0.0.4","PublicIpAddress":"198.51.100.4","Ipv6Address":"2001:db8::4",
		"SecurityGroups":[{"GroupId":"sg-api"}],"Tags":[{"Key":"Name","Value":"api"}]}]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	d := Make(s, in, Options{})
	same(t, rows(d), []string{
		"freeswitch-tcp-5060 sip -: internet=open api=open",
		"freeswitch-tcp-5060-public sip public ipv4: api=open",
		"freeswitch-tcp-8021 tcp - ipv4: internet=filtered api=open",
		"freeswitch-tcp-8021-public tcp public ipv4: api=filtered",
		"freeswitch-tcp-8021-ipv6 tcp - ipv6: internet=open api=open",
		"api-tcp-443 http - ipv4: internet=open freeswitch=open",
		"api-tcp-443-ipv6 http - ipv6: internet=filtered freeswitch=filtered",
	})
	if p := d.Expectations[2].Purpose; p != "sg-fs from sg-api" {
		t.Errorf("purpose of ESL over IPv4 %q", p)
	}
	if p := d.Expectations[4].Purpose; p != "sg-fs from ::/0: oops; sg-fs from sg-api" {
		t.Errorf("purpose of ESL over IPv6 %q", p)
	}
	if p := d.Expectations[6].Purpose; p != "no rule of sg-api opens this over IPv6; over IPv4 one does" {
		t.Errorf("purpose of HTTPS over IPv6 %q", p)
	}
	if len(d.Targets) != 2 || d.Targets[0].IPv6 != "2001:db8::5" || d.Targets[0].Public != "198.51.100.5" {
		t.Errorf("targets %+v", d.Targets)
	}
	if got := d.Targets[1].NothingOpenFrom; !slices.Equal(got, []string{"internet/ipv6", "freeswitch/ipv6"}) {
		t.Errorf("api's nothing_open_from %q; want internet and freeswitch over IPv6 alone", got)
	}
	if got := d.Targets[0].NothingOpenFrom; len(got) != 0 {
		t.Errorf("freeswitch's nothing_open_from %q; want none", got)
	}
	var b bytes.Buffer
	if err := d.Write(&b, "inline"); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"ipv6 = \"2001:db8::5\"\n", "id = \"freeswitch-tcp-8021-ipv6\"\ntarget = \"freeswitch\"\nport = 8021\ntransport = \"tcp\"\nprobe = \"tcp\"\nfamily = \"ipv6\"\n"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("draft lacks %q:\n%s", want, b.String())
		}
	}
}

// Without an IPv6 address for the instance, an IPv6 rule is noted.
func TestIPv6RuleWithoutAddress(t *testing.T) {
	s, err := secgroups.Parse([]byte(`{"SecurityGroups":[{"GroupId":"sg-1","IpPermissions":[
		{"IpProtocol":"tcp","FromPort":22,"ToPort":22,"Ipv6Ranges":[{"CidrIpv6":"::/0"}]},
		{"IpProtocol":"tcp","FromPort":80,"ToPort":80,"IpRanges":[{"CidrIp":"0.0.0.0/0"}]}]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	d := Make(s, nil, Options{})
	same(t, rows(d), []string{"sg-1-tcp-80 http -: internet=open"})
	if len(d.Notes) != 1 || !strings.Contains(d.Notes[0], "no IPv6 address") {
		t.Errorf("notes %v", d.Notes)
	}
}

// Every protocol, and a CIDR no vantage stands in: the draft says so.
func TestAllProtocolsAndUnknownSource(t *testing.T) {
	s, err := secgroups.Parse([]byte(`{"SecurityGroups":[{"GroupId":"sg-1","GroupName":"db","IpPermissions":[
		{"IpProtocol":"-1","UserIdGroupPairs":[{"GroupId":"sg-1"}]},
		{"IpProtocol":"tcp","FromPort":5432,"ToPort":5432,"IpRanges":[{"CidrIp":"192.168.0.0/16"}]}]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	d := Make(s, nil, Options{Names: map[string]string{"192.168.0.0/16": "office-lan"}})
	same(t, rows(d), []string{
		"db-tcp-1-65535 tcp -: internet=filtered office-lan=filtered",
		"db-udp-1-65535 rtp -: internet=unreachable office-lan=unreachable",
		"db-tcp-5432 tcp -: internet=filtered office-lan=open",
	})
	if !strings.Contains(d.Expectations[0].Comment, "no vantage of this draft stands where these rules admit") {
		t.Errorf("comment %q", d.Expectations[0].Comment)
	}
}

func TestQuote(t *testing.T) {
	for in, want := range map[string]string{`a"b\c`: `"a\"b\\c"`, "tab\there": `"tab\there"`, "\x01": `"\u0001"`, "ü": `"ü"`} {
		if got := quote(in); got != want {
			t.Errorf("quote(%q) = %s; want %s", in, got, want)
		}
	}
}

// An instance with no public address is reached from inside only: the
// internet's vantages say nothing of it.
func TestPrivateOnlyInstance(t *testing.T) {
	s, err := secgroups.Parse([]byte(`{"SecurityGroups":[
		{"GroupId":"sg-a","IpPermissions":[{"IpProtocol":"tcp","FromPort":22,"ToPort":22,"IpRanges":[{"CidrIp":"0.0.0.0/0"}]}]},
		{"GroupId":"sg-db","IpPermissions":[{"IpProtocol":"tcp","FromPort":5432,"ToPort":5432,"UserIdGroupPairs":[{"GroupId":"sg-a"}]}]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	in, err := secgroups.ParseInstances([]byte(`{"Reservations":[{"Instances":[
		{"InstanceId":"i-1","PrivateIpAddress":"10.0.0.5","PublicIpAddress":"198.51.100.5","SecurityGroups":[{"GroupId":"sg-a"}],"Tags":[{"Key":"Name","Value":"app"}]},
		{"InstanceId":"i-2","PrivateIpAddress":"10.0.0.9","SecurityGroups":[{"GroupId":"sg-db"}],"Tags":[{"Key":"Name","Value":"db"}]}]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	d := Make(s, in, Options{})
	same(t, rows(d), []string{
		"app-tcp-22 ssh -: internet=open",
		"db-tcp-5432 tcp -: app=open",
	})
}
