package config

import (
	"strings"
	"testing"
)

func TestSecurityGroups(t *testing.T) {
	base := `[[vantage]]
name = "internet"
catch_all = true

[[target]]
name = "fs"
address = "203.0.113.20"
security_groups = %s

[[expectation]]
id = "x"
target = "fs"
port = 22
transport = "tcp"
probe = "tcp"
expect = { internet = "filtered" }
`
	f, err := Parse("ok.toml", []byte(strings.Replace(base, "%s", `["sg-0460ce5af3265896a", "sg-12345678"]`, 1)))
	if err != nil {
		t.Fatal(err)
	}
	if got := f.Targets[0].SecurityGroups; len(got) != 2 || got[1] != "sg-12345678" {
		t.Errorf("security_groups = %v", got)
	}
	_, err = Parse("bad.toml", []byte(strings.Replace(base, "%s", `["sg-0460ce5af3265896a", "irisx-prod-sg", "sg-0460ce5af3265896a"]`, 1)))
	want := `bad.toml:8:44: target[0].security_groups[1]: "irisx-prod-sg" is not a security group id (want "sg-" and 8 or 17 hex digits, as ` + "`aws ec2 describe-security-groups`" + ` prints GroupId)
bad.toml:8:61: target[0].security_groups[2]: sg-0460ce5af3265896a is listed twice`
	if err == nil || err.Error() != want {
		t.Errorf("got\n%v\nwant\n%s", err, want)
	}
}
