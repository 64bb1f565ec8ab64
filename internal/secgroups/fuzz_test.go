package secgroups

import (
	"os"
	"testing"
)

// FuzzParse: any input either reads or gives an error; a read set has only
// rules whose ports and sources are what Admits relies on.
func FuzzParse(f *testing.F) {
	for _, p := range []string{"testdata/groups-after.json", "testdata/groups-before.json"} {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"SecurityGroups":[{"GroupId":"sg-1","IpPermissions":[{"IpProtocol":"-1","Ipv6Ranges":[{"CidrIpv6":"::/0"}]}]}]}`))
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
	b, err := os.ReadFile("testdata/instances-after.json")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
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
