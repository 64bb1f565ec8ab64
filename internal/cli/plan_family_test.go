package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// probe plan shows the address each family's task is sent to: a target
// with an IPv6 address is planned at its IPv4 and its IPv6 address from
// the internet, and at its IPv4 address alone from the office, which is
// known by an IPv4 CIDR only. Nothing is sent.
func TestPlanShowsEachFamilysAddress(t *testing.T) {
	b, err := os.ReadFile("../config/testdata/networks.toml")
	if err != nil {
		t.Fatal(err)
	}
	s := strings.Replace(string(b), "private = \"10.0.1.20\"\n", "private = \"10.0.1.20\"\nipv6 = \"2001:db8:1::20\"\n", 1)
	path := filepath.Join(t.TempDir(), "networks6.toml")
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	esl := func(out string) []string {
		var rows []string
		for _, l := range strings.Split(out, "\n") {
			if f := strings.Fields(l); len(f) > 0 && f[0] == "freeswitch-esl-public" {
				rows = append(rows, strings.Join(f[1:4], " "))
			}
		}
		return rows
	}
	for _, tt := range []struct {
		from string
		want []string
	}{
		{"internet", []string{"tcp 54.160.220.243 (public)", "tcp 2001:db8:1::20 (public)"}},
		{"admin", []string{"tcp 54.160.220.243 (public)"}},
	} {
		code, out, errs := runMain("plan", "--from", tt.from, "--seed", "1", path)
		if code != 0 {
			t.Fatalf("plan --from %s: exit %d\n%s", tt.from, code, errs)
		}
		if got := esl(out); strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
			t.Errorf("plan --from %s, freeswitch-esl-public:\n%s\nwant:\n%s", tt.from, strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
		}
	}
}

// probe plan shows the tasks probe run sends: a name probed over both
// families is two probes, one dialled at its A records and one at its
// AAAA records, and a second row of the same name, port and family adds
// none.
func TestPlanShowsANameOverEachFamily(t *testing.T) {
	path := filepath.Join(t.TempDir(), "named.toml")
	src := `
[[vantage]]
name = "internet"
network = "internet"
catch_all = true

[[target]]
name = "cdn"
public = "cdn.example"

[[expectation]]
id = "cdn-https"
target = "cdn"
port = 443
transport = "tcp"
probe = "tcp"
family = "both"
expect = { internet = "open" }

[[expectation]]
id = "cdn-https-v6"
target = "cdn"
port = 443
transport = "tcp"
probe = "tcp"
family = "ipv6"
expect = { internet = "open" }
`
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errs := runMain("plan", "--from", "internet", "--seed", "1", path)
	if code != 0 {
		t.Fatalf("plan: exit %d\n%s", code, errs)
	}
	var rows []string
	for _, l := range strings.Split(out, "\n") {
		if f := strings.Fields(l); len(f) > 0 && strings.HasPrefix(f[0], "cdn-") {
			rows = append(rows, strings.Join(f, " "))
		}
	}
	want := []string{
		"cdn-https tcp cdn.example (public) 443/tcp over ipv4 open",
		"cdn-https tcp cdn.example (public) 443/tcp over ipv6 open",
		"cdn-https-v6 tcp cdn.example (public) 443/tcp over ipv6 open",
	}
	if strings.Join(rows, "\n") != strings.Join(want, "\n") {
		t.Errorf("plan rows:\n%s\nwant:\n%s", strings.Join(rows, "\n"), strings.Join(want, "\n"))
	}
	if !strings.Contains(out, ", 2 probes,") {
		t.Errorf("plan header %q; want 2 probes (the name over each family)", strings.SplitN(out, "\n", 2)[0])
	}
}
