package plan

import (
	"fmt"
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

// A name is dialled over each family its rows are probed over (its A,
// its AAAA records), and the plan says so: a task per family, with the
// family in its target, under that family's path; the rows of one name,
// port and family share a task. A row whose results carry no family is
// dialled over the family it is planned for (IPv4, for a name without
// ipv6), never as the resolver orders the records, so it shares the
// IPv4 row's task. An IP address has its own family: nothing to say.
func TestNameIsDialledOverEachFamily(t *testing.T) {
	p := planOf(t, `
[[vantage]]
name = "internet"
network = "internet"
catch_all = true
[[target]]
name = "cdn"
public = "cdn.example"
[[target]]
name = "app"
public = "203.0.113.10"
ipv6 = "2001:db8::10"
[[expectation]]
id = "both"
target = "cdn"
port = 443
transport = "tcp"
probe = "tcp"
family = "both"
expect = { internet = "filtered" }
[[expectation]]
id = "v6"
target = "cdn"
port = 443
transport = "tcp"
probe = "tcp"
family = "ipv6"
expect = { internet = "filtered" }
[[expectation]]
id = "any"
target = "cdn"
port = 443
transport = "tcp"
probe = "tcp"
expect = { internet = "filtered" }
[[expectation]]
id = "sweep"
target = "cdn"
range = "8000-8001"
transport = "tcp"
probe = "tcp"
family = "both"
expect = { internet = "not_open" }
[[expectation]]
id = "udp"
target = "cdn"
range = "9000-9001"
transport = "udp"
probe = "udp"
family = "ipv6"
expect = { internet = "not_open" }
[[expectation]]
id = "media"
target = "cdn"
range = "16384-16389"
transport = "udp"
probe = "rtp"
family = "ipv6"
expect = { internet = "unreachable" }
[expectation.rtp]
sample = 1
[[expectation]]
id = "app"
target = "app"
port = 22
transport = "tcp"
probe = "tcp"
expect = { internet = "filtered" }
`, "internet")
	var got []string
	for _, c := range p.Rows {
		for _, pt := range c.Ports {
			tg := p.Tasks[pt.Task].Target
			got = append(got, fmt.Sprintf("%s %s: task %d %s %s %d/%s %q", c.ID, c.Family, pt.Task, tg.Name, tg.Host, tg.Port, tg.Transport, tg.Family))
		}
	}
	want := []string{
		`both ipv4: task 0 cdn@public cdn.example 443/tcp "ipv4"`,
		`both ipv6: task 1 cdn@public/ipv6 cdn.example 443/tcp "ipv6"`,
		`v6 ipv6: task 1 cdn@public/ipv6 cdn.example 443/tcp "ipv6"`,
		`any : task 0 cdn@public cdn.example 443/tcp "ipv4"`,
		`sweep ipv4: task 2 cdn@public cdn.example 8000/tcp "ipv4"`,
		`sweep ipv4: task 3 cdn@public cdn.example 8001/tcp "ipv4"`,
		`sweep ipv6: task 4 cdn@public/ipv6 cdn.example 8000/tcp "ipv6"`,
		`sweep ipv6: task 5 cdn@public/ipv6 cdn.example 8001/tcp "ipv6"`,
		`udp ipv6: task 6 cdn@public/ipv6 cdn.example 0/udp "ipv6"`,
		`udp ipv6: task 6 cdn@public/ipv6 cdn.example 0/udp "ipv6"`,
	}
	if len(got) < len(want) || !slices.Equal(got[:len(want)], want) {
		t.Fatalf("rows and tasks:\n%s\nwant first:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	media := 0
	for _, line := range got[len(want):] {
		if strings.HasPrefix(line, "media ipv6: task ") && strings.HasSuffix(line, `/udp "ipv6"`) && strings.Contains(line, " cdn@public/ipv6 cdn.example ") {
			media++
		}
	}
	appTasks := got[len(want)+media:]
	if media == 0 || !slices.Equal(appTasks, []string{
		fmt.Sprintf(`app ipv4: task %d app@public 203.0.113.10 22/tcp ""`, len(p.Tasks)-2),
		fmt.Sprintf(`app ipv6: task %d app@public/ipv6 2001:db8::10 22/tcp ""`, len(p.Tasks)-1),
	}) {
		t.Errorf("the sampled range over IPv6 (%d tasks of it) and the IP addresses' tasks:\n%s", media, strings.Join(got[len(want):], "\n"))
	}
	if n := p.Probes(); n != len(p.Tasks)+1 {
		t.Errorf("%d probes for %d tasks, one a two-port UDP sweep", n, len(p.Tasks))
	}
}
