package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReachPicksTheAddressEachNetworkReaches(t *testing.T) {
	f, err := Load("testdata/networks.toml")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		id, vantage, addr, at string
	}{
		{"freeswitch-esl-private", "api", "10.0.1.20", AtPrivate},
		{"freeswitch-esl-public", "api", "54.160.220.243", AtPublic},
		{"freeswitch-esl-public", "internet", "54.160.220.243", AtPublic},
		{"freeswitch-esl-loopback", "freeswitch", "127.0.0.1", AtLoopback},
		// No at: the internet reaches the public address, a vpc vantage
		// the private one.
		{"api-ssh", "admin", "3.83.53.69", AtPublic},
		{"api-ssh", "freeswitch", "10.0.1.10", AtPrivate},
		{"database-postgres", "api", "database.irisx.internal", AtPrivate},
	}
	for _, tt := range tests {
		e := expectationByID(t, f, tt.id)
		addr, at, err := f.Reach(e, tt.vantage, FamilyIPv4)
		if err != nil || addr != tt.addr || at != tt.at {
			t.Errorf("Reach(%s, %s) = %q, %q, %v; want %q, %q", tt.id, tt.vantage, addr, at, err, tt.addr, tt.at)
		}
	}
}

func expectationByID(t *testing.T, f *File, id string) *Expectation {
	t.Helper()
	for i := range f.Expectations {
		if f.Expectations[i].ID == id {
			return &f.Expectations[i]
		}
	}
	t.Fatalf("no expectation %s", id)
	return nil
}

// TestNetworkProblems: every address of the wrong family or network for
// its role, every vantage that cannot reach what it is asked of, each
// reported at its file, line and key.
func TestNetworkProblems(t *testing.T) {
	base, err := os.ReadFile("testdata/networks.toml")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, old, new string
		want           string // file:line:col: key: message (a part of it)
	}{
		{"vantage_without_network", "name = \"admin\"\nnetwork = \"internet\"\n", "name = \"admin\"\n",
			`:3:3: vantage[0].network: vantage "admin" needs a network: "internet" for a runner outside the VPC`},
		{"unknown_network", `network = "vpc"` + "\nhost = \"api\"", `network = "lan"` + "\nhost = \"api\"",
			`:15:1: vantage[2].network: "lan" is not a network (want "internet" or "vpc")`},
		{"public_is_private", `public = "3.83.53.69"`, `public = "10.0.1.11"`,
			`:27:1: target[0].public: "10.0.1.11" is a private address, which the internet does not reach; write it as private = "10.0.1.11"`},
		{"private_is_public", `private = "10.0.1.10"`, `private = "3.83.53.70"`,
			`:28:1: target[0].private: "3.83.53.70" is not a private (VPC) address`},
		{"private_is_loopback", `private = "10.0.1.10"`, `private = "127.0.0.1"`,
			`:28:1: target[0].private: "127.0.0.1" is a loopback address (a runner on the host reaches it with at = "loopback"), not a private address`},
		{"families_differ", `private = "10.0.1.10"`, `private = "fd00::10"`,
			`:28:1: target[0].private: the public address 3.83.53.69 and the private address fd00::10 are of different families`},
		{"address_beside_public", `public = "3.83.53.69"`, `public = "3.83.53.69"` + "\naddress = \"3.83.53.69\"",
			`target[0].address: give either address (one address for every vantage) or public and private`},
		{"address_in_a_networked_file", `public = "3.83.53.69"` + "\nprivate = \"10.0.1.10\"", `address = "3.83.53.69"`,
			`:27:1: target[0].address: other targets have public or private addresses, so this one needs them too: write address = "3.83.53.69" as public = "3.83.53.69"`},
		{"private_from_the_internet", `at = "private"` + "\nexpect = { api = \"open\" }", `at = "private"` + "\nexpect = { api = \"open\", internet = \"filtered\" }",
			`:46:26: expectation[0].expect.internet: vantage "internet" stands in network "internet" and cannot reach target "freeswitch"'s private address; only a vpc vantage can`},
		{"only_private_from_the_internet", `expect = { api = "open", freeswitch = "open" }`, `expect = { api = "open", admin = "unreachable" }`,
			`expectation[4].expect.admin: target "database" has only a private address, which vantage "admin" (network "internet") cannot reach; ask this only of a vpc vantage`},
		{"loopback_of_another_host", `expect = { freeswitch = "open" }`, `expect = { api = "open" }`,
			`:64:12: expectation[2].expect.api: vantage "api" does not run on target "freeswitch" (host = "api"), so it cannot reach its loopback`},
		{"unknown_at", `at = "loopback"`, `at = "lo"`,
			`:63:1: expectation[2].at: "lo" is not an address to probe at (want public, private or loopback`},
		{"resolve_with_a_port", `probe = "resolve"`, `probe = "resolve"` + "\nport = 5432",
			`expectation[5].port: probe resolve looks the target's name up and sends nothing to it; leave port out`},
		{"resolve_with_a_port_word", `expect = { internet = "private", api = "private" }`, `expect = { internet = "filtered", api = "private" }`,
			`:87:12: expectation[5].expect.internet: "filtered" is not what probe resolve expects (want one of private, public`},
		{"resolve_at_loopback", `probe = "resolve"`, `probe = "resolve"` + "\nat = \"loopback\"",
			`expectation[5].at: "loopback" is not an address to look up (want public or private)`},
		{"resolve_at_a_missing_address", `probe = "resolve"`, `probe = "resolve"` + "\nat = \"public\"",
			`expectation[5].at: target "database" has no public address to look up`},
		{"port_row_says_private", `expect = { api = "open", freeswitch = "open" }`, `expect = { api = "private", freeswitch = "open" }`,
			`expectation[4].expect.api: "private" is not an expected state`},
		{"host_is_no_target", `host = "api"`, `host = "apii"`,
			`:16:1: vantage[2].host: no target is named "apii"`},
		{"host_outside_the_vpc", "network = \"internet\"\ncidrs = [\"73.6.78.238/32\"]", "network = \"internet\"\nhost = \"api\"\ncidrs = [\"73.6.78.238/32\"]",
			`vantage[0].host: only a runner inside the VPC (network = "vpc") runs on a target`},
		{"host_public_not_in_cidrs", `cidrs = ["3.83.53.69/32"]`, `cidrs = ["3.83.53.0/31"]`,
			`:17:1: vantage[2].cidrs: vantage "api" runs on "api", whose public address 3.83.53.69 (what STUN sees of it) is in none of its cidrs`},
	}
	dir := t.TempDir()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !strings.Contains(string(base), tt.old) {
				t.Fatalf("the base file has no %q", tt.old)
			}
			path := filepath.Join(dir, tt.name+".toml")
			if err := os.WriteFile(path, []byte(strings.Replace(string(base), tt.old, tt.new, 1)), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := Load(path)
			if err == nil {
				t.Fatal("Load accepted the file")
			}
			if want := tt.want; !strings.Contains(err.Error(), path+want) && (strings.HasPrefix(want, ":") || !strings.Contains(err.Error(), want)) {
				t.Errorf("error:\n%v\nwant a line with %q", err, tt.want)
			}
			if !strings.HasPrefix(err.Error(), path+":") {
				t.Errorf("error %q does not start with file:line", err)
			}
		})
	}
}

// TestFlatFilesNeedNoNetwork: a file whose targets have one address each
// loads as before, without networks.
func TestFlatFilesNeedNoNetwork(t *testing.T) {
	f, err := Load("testdata/base.toml")
	if err != nil {
		t.Fatal(err)
	}
	if f.Networked() {
		t.Error("base.toml reads as networked")
	}
	addr, at, err := f.Reach(&f.Expectations[0], "admin", FamilyIPv4)
	if err != nil || addr != "203.0.113.10" || at != "" {
		t.Errorf("Reach = %q, %q, %v; want the one address", addr, at, err)
	}
}

func TestOverridesPerAddress(t *testing.T) {
	load := func() *File {
		f, err := Load("testdata/networks.toml")
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	f := load()
	o := Overrides{Targets: map[string]string{"freeswitch.private": "10.9.0.20", "freeswitch.public": "203.0.113.20", "database.private": "10.9.1.10"}}
	if err := o.Apply(f); err != nil {
		t.Fatal(err)
	}
	fs := f.Target("freeswitch")
	if fs.Private != "10.9.0.20" || fs.Public != "203.0.113.20" || f.Target("database").Private != "10.9.1.10" {
		t.Errorf("after overrides: %+v", fs)
	}
	if w := fs.Where(AtPrivate); w != "--target freeswitch.private" {
		t.Errorf("Where(private) = %q; want the flag", w)
	}
	if w := f.Target("api").Where(AtPublic); !strings.HasSuffix(w, "networks.toml:27:1: target[0].public") {
		t.Errorf("Where(public) = %q; want file:line:col: key", w)
	}
	bad := []struct {
		key, addr, want string
	}{
		{"freeswitch", "203.0.113.20", "say which, --target freeswitch.public=ADDR or --target freeswitch.private=ADDR"},
		{"freeswitch.public", "10.0.0.5", "is a private address"},
		{"freeswitch.private", "203.0.113.21", "is not a private (VPC) address"},
		{"freeswitch.private", "fd00::1", "different families"},
		{"database.public", "203.0.113.30", `target "database" has no public address in the file to replace`},
		{"nosuch.public", "203.0.113.30", `the file has no target "nosuch"`},
	}
	for _, b := range bad {
		err := Overrides{Targets: map[string]string{b.key: b.addr}}.Apply(load())
		if err == nil || !strings.Contains(err.Error(), "--target "+b.key+": ") || !strings.Contains(err.Error(), b.want) {
			t.Errorf("--target %s=%s: error %v; want %q", b.key, b.addr, err, b.want)
		}
	}
}

// A DNS name is at most 253 characters (RFC 1035's 255 octets on the wire).
func TestNameLength(t *testing.T) {
	label := strings.Repeat("a", 63)
	longest := strings.Join([]string{label, label, label, label[:61]}, ".")
	if err := CheckAddress(longest); len(longest) != 253 || err != nil {
		t.Errorf("a name of %d characters: %v; want it accepted", len(longest), err)
	}
	if err := CheckAddress(longest + "a"); err == nil {
		t.Errorf("a name of 254 characters accepted")
	}
}
