package plan

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"probe/internal/config"
)

// TestPlanProbesEachAddressItsNetworkReaches: from a runner inside the
// VPC, both halves of a group-scoped rule are planned, at the private and
// at the public address, as two tasks whose liveness is kept apart.
func TestPlanProbesEachAddressItsNetworkReaches(t *testing.T) {
	f, err := config.Load("../config/testdata/networks.toml")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		vantage string
		want    map[string]string // check id -> task target name and host
	}{
		{"api", map[string]string{
			"freeswitch-esl-private": "freeswitch@private 10.0.1.20",
			"freeswitch-esl-public":  "freeswitch@public 54.160.220.243",
			"database-postgres":      "database@private database.irisx.internal",
		}},
		{"internet", map[string]string{
			"freeswitch-esl-public": "freeswitch@public 54.160.220.243",
			"api-ssh":               "api@public 3.83.53.69",
		}},
		{"freeswitch", map[string]string{
			"freeswitch-esl-loopback": "freeswitch@loopback 127.0.0.1",
			"api-ssh":                 "api@private 10.0.1.10",
			"database-postgres":       "database@private database.irisx.internal",
		}},
	}
	for _, tt := range tests {
		p, err := Make(f, tt.vantage, Options{Seed: 1})
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, c := range p.Rows {
			task := p.Tasks[c.Ports[0].Task].Target
			got[c.ID] = task.Name + " " + task.Host
			if c.Address != task.Host || c.Path() != task.Name {
				t.Errorf("%s from %s: check says %s at %s, task %s", c.ID, tt.vantage, c.At, c.Address, got[c.ID])
			}
		}
		if len(got) != len(tt.want) {
			t.Errorf("from %s: checks %v; want %v", tt.vantage, got, tt.want)
		}
		for id, w := range tt.want {
			if got[id] != w {
				t.Errorf("from %s: %s probes %q; want %q", tt.vantage, id, got[id], w)
			}
		}
	}
}

func TestPlanFromAVantageThatCannotReachFails(t *testing.T) {
	f, err := config.Load("../config/testdata/networks.toml")
	if err != nil {
		t.Fatal(err)
	}
	// Validation rejects such a file; a file changed after it (an
	// override, a caller's own edit) is refused by the plan too.
	f.Expectations[0].Expect["internet"] = "open"
	if _, err := Make(f, "internet", Options{Seed: 1}); err == nil {
		t.Error("planned a private address from the internet")
	}
}

// A target with an IPv6 address is probed over each family its
// expectations name, a row per family, each at its own address and path
// (liveness is per family); a vantage known only by IPv4 probes IPv4 alone.
func TestPlanPerFamily(t *testing.T) {
	b, err := os.ReadFile("../config/testdata/networks.toml")
	if err != nil {
		t.Fatal(err)
	}
	s := strings.Replace(string(b), "private = \"10.0.1.20\"\n", "private = \"10.0.1.20\"\nipv6 = \"2001:db8:20::20\"\n", 1)
	s += "\n[[expectation]]\nid = \"esl-v4\"\ntarget = \"freeswitch\"\nport = 8021\ntransport = \"tcp\"\nprobe = \"tcp\"\nfamily = \"ipv4\"\nexpect = { internet = \"filtered\" }\n"
	path := filepath.Join(t.TempDir(), "networks6.toml")
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		vantage string
		want    []string
	}{
		{"internet", []string{
			"freeswitch-esl-public ipv4 freeswitch@public 54.160.220.243",
			"freeswitch-esl-public ipv6 freeswitch@public/ipv6 2001:db8:20::20",
			"api-ssh  api@public 3.83.53.69",
			"esl-v4 ipv4 freeswitch@public 54.160.220.243",
		}},
		{"admin", []string{
			"freeswitch-esl-public ipv4 freeswitch@public 54.160.220.243",
			"api-ssh  api@public 3.83.53.69",
		}},
		{"freeswitch", []string{
			"freeswitch-esl-loopback ipv4 freeswitch@loopback 127.0.0.1",
			"freeswitch-esl-loopback ipv6 freeswitch@loopback/ipv6 ::1",
			"api-ssh  api@private 10.0.1.10",
			"database-postgres  database@private database.irisx.internal",
		}},
	}
	for _, tt := range tests {
		p, err := Make(f, tt.vantage, Options{Seed: 1})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, c := range p.Rows {
			task := p.Tasks[c.Ports[0].Task].Target
			got = append(got, strings.Join([]string{c.ID, c.Family, task.Name, task.Host}, " "))
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("from %s:\n%s\nwant:\n%s", tt.vantage, strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
		}
	}
}
