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
