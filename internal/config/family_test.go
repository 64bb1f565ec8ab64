package config

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// withIPv6 is networks.toml with FreeSWITCH given an IPv6 address, an
// internet-side vantage known by an IPv6 CIDR, and the rows that follow.
func withIPv6(t *testing.T, extra string, replace ...string) string {
	t.Helper()
	b, err := os.ReadFile("testdata/networks.toml")
	if err != nil {
		t.Fatal(err)
	}
	s := strings.Replace(string(b), "private = \"10.0.1.20\"\n", "private = \"10.0.1.20\"\nipv6 = \"2001:db8:20::20\"\n", 1)
	for i := 0; i+1 < len(replace); i += 2 {
		if !strings.Contains(s, replace[i]) {
			t.Fatalf("no %q in the base", replace[i])
		}
		s = strings.Replace(s, replace[i], replace[i+1], 1)
	}
	path := filepath.Join(t.TempDir(), "networks6.toml")
	if err := os.WriteFile(path, []byte(s+extra), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// A target with an IPv6 address is probed over each family an expectation
// names: by default every one the target has and the vantage sends from.
// The office, known by an IPv4 CIDR only, and a runner on a host without
// IPv6 probe IPv4 alone; the internet (any address) both; at = "private"
// is IPv4's (AWS's IPv6 addresses are global).
func TestFamilies(t *testing.T) {
	f, err := Load(withIPv6(t, `
[[expectation]]
id = "freeswitch-esl-v4"
target = "freeswitch"
port = 8021
transport = "tcp"
probe = "tcp"
family = "ipv4"
expect = { internet = "filtered" }
`))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		id, vantage string
		want        []string
		addrs       []string // per family
	}{
		{"freeswitch-esl-public", "internet", []string{"ipv4", "ipv6"}, []string{"54.160.220.243", "2001:db8:20::20"}},
		{"freeswitch-esl-public", "admin", []string{"ipv4"}, []string{"54.160.220.243"}},
		{"freeswitch-esl-public", "api", []string{"ipv4"}, []string{"54.160.220.243"}},
		{"freeswitch-esl-private", "api", []string{"ipv4"}, []string{"10.0.1.20"}},
		{"freeswitch-esl-loopback", "freeswitch", []string{"ipv4", "ipv6"}, []string{"127.0.0.1", "::1"}},
		{"freeswitch-esl-v4", "internet", []string{"ipv4"}, []string{"54.160.220.243"}},
		{"api-ssh", "internet", []string{"ipv4"}, []string{"3.83.53.69"}},
	}
	for _, tt := range tests {
		e := expectationByID(t, f, tt.id)
		got, err := f.Families(e, tt.vantage)
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("Families(%s, %s) = %v, %v; want %v", tt.id, tt.vantage, got, err, tt.want)
			continue
		}
		for i, fam := range got {
			if addr, _, err := f.Reach(e, tt.vantage, fam); err != nil || addr != tt.addrs[i] {
				t.Errorf("Reach(%s, %s, %s) = %q, %v; want %q", tt.id, tt.vantage, fam, addr, err, tt.addrs[i])
			}
		}
	}
}

// Bad IPv6 input: the address of the wrong family or kind, an IPv6 address
// given twice, a family that cannot be probed, each at file:line:key.
func TestIPv6Problems(t *testing.T) {
	row := func(family, expect string) string {
		return "\n[[expectation]]\nid = \"x\"\ntarget = \"freeswitch\"\nport = 3000\ntransport = \"tcp\"\nprobe = \"tcp\"\n" +
			family + "\nexpect = " + expect + "\n"
	}
	tests := []struct {
		name, extra string
		replace     []string
		want        string
	}{
		{"ipv4_in_ipv6", "", []string{`ipv6 = "2001:db8:20::20"`, `ipv6 = "203.0.113.20"`},
			`:34:1: target[1].ipv6: "203.0.113.20" is an IPv4 address; write it as public or private`},
		{"neither_in_ipv6", "", []string{`ipv6 = "2001:db8:20::20"`, `ipv6 = "2001:db8::zz"`},
			`:34:1: target[1].ipv6: "2001:db8::zz" is neither an IPv6 address nor a DNS name`},
		{"link_local", "", []string{`ipv6 = "2001:db8:20::20"`, `ipv6 = "fe80::1"`},
			`:34:1: target[1].ipv6: "fe80::1" is a link-local address`},
		{"ipv6_twice", "", []string{`public = "54.160.220.243"`, `public = "2001:db8:20::21"`},
			`:32:1: target[1].public: "2001:db8:20::21" is an IPv6 address and the target has ipv6 = "2001:db8:20::20" too`},
		{"unknown_family", row(`family = "ip6"`, `{ internet = "filtered" }`), nil,
			`@family = "ip6"@expectation[N].family: "ip6" is not an address family (want "ipv4", "ipv6" or "both"`},
		{"ipv6_from_an_ipv4_vantage", row(`family = "ipv6"`, `{ admin = "filtered" }`), nil,
			`@expect = { admin@expectation[N].expect.admin: vantage "admin" is known only by IPv4`},
		{"ipv6_of_a_target_without", strings.Replace(row(`family = "ipv6"`, `{ internet = "filtered" }`), `"freeswitch"`, `"api"`, 1), nil,
			`@expect = { internet@expectation[N].expect.internet: target "api" has no IPv6 address (ipv6)`},
		{"nothing_open_over_no_family", "", []string{`ipv6 = "2001:db8:20::20"`, "ipv6 = \"2001:db8:20::20\"\nnothing_open_from = [\"internet/ip6\"]"},
			`:35:22: target[1].nothing_open_from[0]: "internet/ip6": after the vantage's name and "/" comes the family`},
		{"nothing_open_over_ipv6_from_no_vantage", "", []string{`ipv6 = "2001:db8:20::20"`, "ipv6 = \"2001:db8:20::20\"\nnothing_open_from = [\"office/ipv6\"]"},
			`:35:22: target[1].nothing_open_from[0]: no vantage is named "office"`},
		{"ipv4_of_an_ipv6_only_target", sbc + strings.Replace(row(`family = "ipv4"`, `{ internet = "filtered" }`), `"freeswitch"`, `"sbc"`, 1), nil,
			`@expect = { internet@expectation[N].expect.internet: target "sbc" has no IPv4 address`},
		{"ipv4_from_a_runner_on_an_ipv6_host", `
[[target]]
name = "v6host"
public = "2001:db8:40::40"
private = "fd00::40"

[[vantage]]
name = "v6runner"
network = "vpc"
host = "v6host"
cidrs = ["2001:db8:40::40/128"]
` + strings.Replace(row(`family = "ipv4"`, `{ v6runner = "filtered" }`), `"freeswitch"`, `"api"`, 1), nil,
			`@expect = { v6runner@expectation[N].expect.v6runner: vantage "v6runner" is known only by IPv6`},
		{"nothing_open_over_ipv6_of_a_target_without", "", []string{"private = \"10.0.1.10\"\n", "private = \"10.0.1.10\"\nnothing_open_from = [\"internet/ipv6\"]\n"},
			`:29:22: target[0].nothing_open_from[0]: "internet/ipv6": no expectation of api is probed over ipv6 from internet, so it says nothing`},
		{"private_over_ipv6", row("family = \"ipv6\"\nat = \"private\"", `{ api = "filtered" }`), nil,
			`@expect = { api@expectation[N].expect.api: target "freeswitch"'s IPv6 address is global, the same inside the VPC and out`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := withIPv6(t, tt.extra, tt.replace...)
			_, err := Load(path)
			if err == nil {
				t.Fatal("Load accepted the file")
			}
			want := tt.want
			if strings.HasPrefix(want, "@") {
				// "@TEXT@KEY: message": at the line of the added row's TEXT.
				parts := strings.SplitN(want[1:], "@", 2)
				b, _ := os.ReadFile(path)
				text := string(b)
				at := strings.LastIndex(text, parts[0])
				line := strings.Count(text[:at], "\n") + 1
				n := strings.Count(text, "[[expectation]]") - 1
				key := strings.Replace(parts[1], "[N]", fmt.Sprintf("[%d]", n), 1)
				if !regexp.MustCompile(regexp.QuoteMeta(fmt.Sprintf("%s:%d:", path, line)) + `\d+: ` + regexp.QuoteMeta(key)).MatchString(err.Error()) {
					t.Errorf("error:\n%v\nwant line %d and %q", err, line, key)
				}
				return
			}
			if !strings.Contains(err.Error(), path+want) && (strings.HasPrefix(want, ":") || !strings.Contains(err.Error(), want)) {
				t.Errorf("error:\n%v\nwant a line with %q", err, want)
			}
		})
	}
}

// nothing_open_from holds for every family, or, as "VANTAGE/FAMILY", for
// one: an instance whose groups open nothing over IPv6 answers nothing
// there, while its IPv4 address shows it alive.
func TestNothingOpenPerFamily(t *testing.T) {
	f, err := Load(withIPv6(t, "", `ipv6 = "2001:db8:20::20"`, "ipv6 = \"2001:db8:20::20\"\nnothing_open_from = [\"internet/ipv6\", \"admin\"]"))
	if err != nil {
		t.Fatal(err)
	}
	fs := f.Target("freeswitch")
	for _, c := range []struct {
		vantage, family string
		want            bool
	}{
		{"internet", FamilyIPv6, true}, {"internet", FamilyIPv4, false}, {"internet", "", false},
		{"admin", FamilyIPv4, true}, {"admin", FamilyIPv6, true}, {"api", FamilyIPv6, false},
	} {
		if got := fs.NothingOpen(c.vantage, c.family); got != c.want {
			t.Errorf("NothingOpen(%s, %q) = %v; want %v", c.vantage, c.family, got, c.want)
		}
	}
}

// A name is dialled over IPv6 at its AAAA records: the ipv6 key may be
// one, probed over IPv6 by default as an address would be; a public name
// without an ipv6 key is asked over IPv6 only by a row that names the
// family (a default row stays IPv4's: whether the name has AAAA records is
// not known).
func TestNamesOverIPv6(t *testing.T) {
	rows := `
[[expectation]]
id = "named-both"
target = "api"
port = 443
transport = "tcp"
probe = "tcp"
family = "both"
expect = { internet = "open" }

[[expectation]]
id = "named-default"
target = "api"
port = 80
transport = "tcp"
probe = "tcp"
expect = { internet = "open" }
`
	f, err := Load(withIPv6(t, rows, `ipv6 = "2001:db8:20::20"`, `ipv6 = "fs6.example"`, `public = "3.83.53.69"`, `public = "api.example"`))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		id, want string
	}{
		{"named-both", "ipv4 api.example, ipv6 api.example"},
		{"named-default", "ipv4 api.example"},
	} {
		var e *Expectation
		for i := range f.Expectations {
			if f.Expectations[i].ID == c.id {
				e = &f.Expectations[i]
			}
		}
		fams, err := f.Families(e, "internet")
		if err != nil {
			t.Fatalf("%s: %v", c.id, err)
		}
		var got []string
		for _, fam := range fams {
			addr, _, err := f.Reach(e, "internet", fam)
			if err != nil {
				t.Fatalf("%s over %s: %v", c.id, fam, err)
			}
			got = append(got, fam+" "+addr)
		}
		if strings.Join(got, ", ") != c.want {
			t.Errorf("%s probed at %q; want %q", c.id, strings.Join(got, ", "), c.want)
		}
	}
	fs := f.Target("freeswitch")
	if a := fs.AddrOver(AtPublic, FamilyIPv6); a != "fs6.example" || !fs.HasIPv6() {
		t.Errorf("freeswitch over IPv6: %q (has IPv6: %v); want its ipv6 name", a, fs.HasIPv6())
	}
}

// sbc is a target with an IPv6 address alone.
const sbc = `
[[target]]
name = "sbc"
ipv6 = "2001:db8:30::30"
`

// A target with an IPv6 address alone is one address for every vantage:
// probed over IPv6, at no role. A runner on a host with a private IPv4
// address alone sends IPv4.
func TestIPv6OnlyAndPrivateOnly(t *testing.T) {
	f, err := Load(withIPv6(t, sbc+`
[[vantage]]
name = "dbrunner"
network = "vpc"
host = "database"
cidrs = ["10.0.2.10/32"]

[[expectation]]
id = "sbc-sips"
target = "sbc"
port = 5061
transport = "tcp"
probe = "tcp"
expect = { internet = "open" }

[[expectation]]
id = "api-app"
target = "api"
port = 3000
transport = "tcp"
probe = "tcp"
expect = { dbrunner = "filtered" }
`))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ id, vantage, family, addr, at string }{
		{"sbc-sips", "internet", FamilyIPv6, "2001:db8:30::30", ""},
		{"api-app", "dbrunner", FamilyIPv4, "10.0.1.10", AtPrivate},
	} {
		e := expectationByID(t, f, tt.id)
		if fams, err := f.Families(e, tt.vantage); err != nil || !slices.Equal(fams, []string{tt.family}) {
			t.Errorf("Families(%s, %s) = %v, %v; want [%s]", tt.id, tt.vantage, fams, err, tt.family)
		}
		if addr, at, err := f.Reach(e, tt.vantage, tt.family); err != nil || addr != tt.addr || at != tt.at {
			t.Errorf("Reach(%s, %s, %s) = %q, %q, %v; want %q at %q", tt.id, tt.vantage, tt.family, addr, at, err, tt.addr, tt.at)
		}
	}
}

func TestOverrideIPv6(t *testing.T) {
	f, err := Load(withIPv6(t, ""))
	if err != nil {
		t.Fatal(err)
	}
	for _, addr := range []string{"2001:db8::20", "fs6.example"} { // an address, or a name to dial at its AAAA records
		if err := (Overrides{Targets: map[string]string{"freeswitch.ipv6": addr}}).Apply(f); err != nil || f.Target("freeswitch").IPv6 != addr {
			t.Errorf("--target freeswitch.ipv6=%s: %v, %q", addr, err, f.Target("freeswitch").IPv6)
		}
	}
	for _, o := range [][2]string{{"freeswitch.ipv6", "203.0.113.20"}, {"freeswitch.ipv6", "fs6 example"}, {"api.ipv6", "2001:db8::10"}} {
		if err := (Overrides{Targets: map[string]string{o[0]: o[1]}}).Apply(f); err == nil {
			t.Errorf("--target %s=%s accepted", o[0], o[1])
		}
	}
}
