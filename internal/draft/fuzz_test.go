package draft

import (
	"bytes"
	"os"
	"testing"

	"probe/internal/config"
	"probe/internal/secgroups"
)

// FuzzDraftValidates: whatever groups the CLI's JSON holds, the draft made
// of them with the fixture's instances either states nothing or loads as an
// expectation table: `probe import` never writes a file that does not
// validate.
func FuzzDraftValidates(f *testing.F) {
	// Small seeds: the fuzzer mutates a few hundred bytes far faster than
	// the fixtures' kilobytes.
	f.Add([]byte(`{"SecurityGroups":[{"GroupId":"sg-03f77311c140b8f2e","GroupName":"irisx-prod-sg-api","IpPermissions":[
		{"FromPort":22,"IpProtocol":"tcp","IpRanges":[{"CidrIp":"73.6.78.238/32","Description":"SSH from home"}],"ToPort":22},
		{"FromPort":443,"IpProtocol":"tcp","IpRanges":[{"CidrIp":"0.0.0.0/0"}],"Ipv6Ranges":[{"CidrIpv6":"::/0"}],"ToPort":443}]},
		{"GroupId":"sg-0460ce5af3265896a","IpPermissions":[
		{"FromPort":8021,"IpProtocol":"tcp","ToPort":8021,"UserIdGroupPairs":[{"GroupId":"sg-03f77311c140b8f2e"}]},
		{"FromPort":16384,"IpProtocol":"udp","IpRanges":[{"CidrIp":"0.0.0.0/0"}],"ToPort":32768}]}]}`))
	inData, err := os.ReadFile(td + "instances-after.json")
	if err != nil {
		f.Fatal(err)
	}
	instances, err := secgroups.ParseInstances(inData)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := secgroups.Parse(data)
		if err != nil {
			return
		}
		d := Make(s, instances, Options{})
		if len(d.Expectations) == 0 {
			return
		}
		var b bytes.Buffer
		if err := d.Write(&b, "fuzz"); err != nil {
			t.Fatal(err)
		}
		if _, err := config.Parse("draft.toml", b.Bytes()); err != nil {
			t.Fatalf("the draft does not validate: %v\n%s", err, b.String())
		}
	})
}
