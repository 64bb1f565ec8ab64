package secgroups

import (
	"fmt"
	"strings"
	"testing"
)

func TestReadInstances(t *testing.T) {
	in, err := ReadInstancesFile("testdata/instances-after.json")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, i := range in {
		got = append(got, fmt.Sprintf("%s %s groups=%v private=%v public=%v ipv6=%v", i.Label(), i.State, i.Groups, i.Private, i.Public, i.IPv6))
	}
	want := []string{
		"i-0a1b2c3d4e5f60001 (irisx-prod-api) running groups=[sg-03f77311c140b8f2e] private=[172.31.10.10] public=[3.83.53.69] ipv6=[]",
		"i-0a1b2c3d4e5f60002 (irisx-prod-freeswitch) running groups=[sg-0460ce5af3265896a] private=[172.31.10.20] public=[54.160.220.243] ipv6=[]",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if m := Members(in, fsSG); len(m) != 1 || m[0].Name != "irisx-prod-freeswitch" {
		t.Errorf("members of %s: %v", fsSG, m)
	}
}

// Addresses come from the interfaces too: a second interface, a secondary
// private address with its own Elastic IP, and IPv6 addresses.
func TestInstanceInterfaces(t *testing.T) {
	in, err := ParseInstances([]byte(`{"Reservations":[{"Instances":[{"InstanceId":"i-1",
		"PrivateIpAddress":"10.0.0.5","Ipv6Address":"2001:db8::5",
		"SecurityGroups":[{"GroupId":"sg-a"}],
		"NetworkInterfaces":[
			{"Groups":[{"GroupId":"sg-a"}],"PrivateIpAddress":"10.0.0.5",
			 "PrivateIpAddresses":[{"PrivateIpAddress":"10.0.0.5","Primary":true},{"PrivateIpAddress":"10.0.0.6","Association":{"PublicIp":"198.51.100.6"}}],
			 "Ipv6Addresses":[{"Ipv6Address":"2001:db8::5"},{"Ipv6Address":"2001:db8::7"}]},
			{"Groups":[{"GroupId":"sg-b"}],"PrivateIpAddress":"10.0.1.5"}]}]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprintf("%v %v %v %v", in[0].Groups, in[0].Private, in[0].Public, in[0].IPv6)
	want := "[sg-a sg-b] [10.0.0.5 10.0.0.6 10.0.1.5] [198.51.100.6] [2001:db8::5 2001:db8::7]"
	if got != want {
		t.Errorf("got %s; want %s", got, want)
	}
}

func TestParseInstancesErrors(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"groups instead", `{"SecurityGroups":[]}`, "no Reservations key"},
		{"no id", `{"Reservations":[{"Instances":[{}]}]}`, "Reservations[0].Instances[0]: no InstanceId"},
		{"bad private", `{"Reservations":[{"Instances":[{"InstanceId":"i-1","PrivateIpAddress":"10.0.0"}]}]}`, `(i-1): PrivateIpAddress "10.0.0"`},
		{"v6 as public", `{"Reservations":[{"Instances":[{"InstanceId":"i-1","PublicIpAddress":"2001:db8::1"}]}]}`, "PublicIpAddress"},
		{"bad group", `{"Reservations":[{"Instances":[{"InstanceId":"i-1","SecurityGroups":[{"GroupName":"x"}]}]}]}`, "SecurityGroups: GroupId"},
		{"twice", `{"Reservations":[{"Instances":[{"InstanceId":"i-1"}]},{"Instances":[{"InstanceId":"i-1"}]}]}`, "listed twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseInstances([]byte(tt.in))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v; want it to say %q", err, tt.want)
			}
		})
	}
}
