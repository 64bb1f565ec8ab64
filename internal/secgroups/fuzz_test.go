package secgroups

import (
	"testing"
)

// seeds are small describe-security-groups outputs: the document's rules,
// a group reference, IPv6, every protocol, ICMP, a prefix list.
var seeds = []string{
	`{"SecurityGroups":[{"GroupId":"sg-03f77311c140b8f2e","GroupName":"api","IpPermissions":[
		{"FromPort":22,"IpProtocol":"tcp","IpRanges":[{"CidrIp":"73.6.78.238/32","Description":"SSH from home"}],"Ipv6Ranges":[],"PrefixListIds":[],"ToPort":22,"UserIdGroupPairs":[]},
		{"FromPort":16384,"IpProtocol":"udp","IpRanges":[{"CidrIp":"0.0.0.0/0"}],"ToPort":32768}],
		"IpPermissionsEgress":[{"IpProtocol":"-1","IpRanges":[{"CidrIp":"0.0.0.0/0"}]}]}]}`,
	`{"SecurityGroups":[{"GroupId":"sg-0460ce5af3265896a","IpPermissions":[
		{"FromPort":8021,"IpProtocol":"tcp","ToPort":8021,"UserIdGroupPairs":[{"GroupId":"sg-03f77311c140b8f2e","UserId":"123456789012"}]},
		{"IpProtocol":"icmp","FromPort":-1,"ToPort":-1,"IpRanges":[{"CidrIp":"0.0.0.0/0"}]}]}]}`,
	`{"SecurityGroups":[{"GroupId":"sg-1","IpPermissions":[{"IpProtocol":"-1","Ipv6Ranges":[{"CidrIpv6":"::/0"}]},
		{"IpProtocol":"47","IpRanges":[{"CidrIp":"10.0.0.0/8"}]},{"IpProtocol":"icmpv6","Ipv6Ranges":[{"CidrIpv6":"2001:db8::/32"}]},
		{"IpProtocol":"tcp","FromPort":0,"ToPort":65535,"PrefixListIds":[{"PrefixListId":"pl-63a5400a"}]}]}]}`,
}

// FuzzParse: any input either reads or gives an error; a read set has only
// rules whose ports and sources are what Admits relies on.
func FuzzParse(f *testing.F) {
	// Small seeds, one of each shape the fixtures have: the fuzzer mutates
	// a few hundred bytes far faster than the fixtures' kilobytes.
	for _, seed := range seeds {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Parse(data)
		if err != nil {
			return
		}
		for _, g := range s.Groups {
			for _, r := range g.Ingress {
				if lo, hi, ok := r.Ports("tcp"); ok && (lo < 0 || hi > 65535 || lo > hi) {
					t.Fatalf("rule %s has ports %d-%d", r.String(), lo, hi)
				}
				if r.Source == SourceCIDR && !r.Prefix.IsValid() {
					t.Fatalf("rule %s has no prefix", r.String())
				}
				_ = r.String()
			}
		}
	})
}

func FuzzParseInstances(f *testing.F) {
	f.Add([]byte(`{"Reservations":[{"Instances":[{"InstanceId":"i-1","PrivateIpAddress":"172.31.10.10","PublicIpAddress":"3.83.53.69",
		"Ipv6Address":"2001:db8::5","SecurityGroups":[{"GroupId":"sg-03f77311c140b8f2e"}],"Tags":[{"Key":"Name","Value":"api"}],
		"NetworkInterfaces":[{"Groups":[{"GroupId":"sg-1"}],"PrivateIpAddress":"10.0.0.5","Association":{"PublicIp":"198.51.100.5"},
		"PrivateIpAddresses":[{"PrivateIpAddress":"10.0.0.6","Association":{"PublicIp":"198.51.100.6"}}],"Ipv6Addresses":[{"Ipv6Address":"2001:db8::7"}]}]}]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		in, err := ParseInstances(data)
		if err != nil {
			return
		}
		for _, i := range in {
			for _, a := range i.Private {
				if !a.Is4() {
					t.Fatalf("private address %s is not IPv4", a)
				}
			}
		}
	})
}
