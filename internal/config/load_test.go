package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"probe/internal/kinds"
)

func TestLoadFixtures(t *testing.T) {
	tests := []struct {
		file string
		want []string // every problem, in order, exactly
	}{
		{"testdata/invalid-unknown-keys.toml", []string{
			"testdata/invalid-unknown-keys.toml:3:1: vantage[0].cidr: unknown key (check its spelling and the table it is in)",
			"testdata/invalid-unknown-keys.toml:7:1: target[0].adress: unknown key (check its spelling and the table it is in)",
			"testdata/invalid-unknown-keys.toml:17:1: expectation[0].tcp.baner: unknown key (check its spelling and the table it is in)",
		}},
		{"testdata/invalid-references.toml", []string{
			`testdata/invalid-references.toml:3:10: vantage[0].cidrs[0]: "73.6.78.238/33" is not a CIDR (want e.g. "73.6.78.238/32")`,
			`testdata/invalid-references.toml:3:28: vantage[0].cidrs[1]: "10.0.0.1/8" has host bits set; did you mean "10.0.0.0/8"?`,
			`testdata/invalid-references.toml:8:22: target[0].nothing_open_from[0]: no vantage is named "office" (declared: admin)`,
			`testdata/invalid-references.toml:12:1: expectation[0].target: no target is named "apii" (declared: api)`,
			`testdata/invalid-references.toml:13:1: expectation[0].port: 99999 is not a port (1-65535)`,
			`testdata/invalid-references.toml:16:12: expectation[0].expect.admin: "opn" is not an expected state (want one of open, closed, filtered, reachable, unreachable, not_open)`,
			`testdata/invalid-references.toml:16:27: expectation[0].expect.internet: no vantage is named "internet" (declared: admin)`,
			`testdata/invalid-references.toml:19:1: expectation[1].id: id "api-ssh" is used twice`,
			`testdata/invalid-references.toml:21:1: expectation[1].range: range "32768-16384": the first port is above the last`,
			`testdata/invalid-references.toml:23:1: expectation[1].probe: "smtp" is not a probe kind (want one of http, postgres, redis, resolve, rtp, sip, ssh, tcp, udp)`,
			`testdata/invalid-references.toml:24:1: expectation[1].expect: the expectation says nothing for any vantage; add e.g. expect = { internet = "filtered" }`,
		}},
		{"testdata/invalid-wrong-section.toml", []string{
			`testdata/invalid-wrong-section.toml:13:1: expectation[0].transport: probe tcp does not run over "udp" (it runs over tcp)`,
			`testdata/invalid-wrong-section.toml:16:2: expectation[0].ssh: a [ssh] section does not apply to probe tcp`,
		}},
		{"testdata/invalid-syntax.toml", []string{
			`testdata/invalid-syntax.toml:1:11: unterminated basic string`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			_, err := Load(tt.file)
			ps, ok := err.(Problems)
			if !ok {
				t.Fatalf("Load error = %v (%T); want Problems", err, err)
			}
			var got []string
			for _, p := range ps {
				got = append(got, p.String())
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func TestLoadMalformedFiles(t *testing.T) {
	dir := t.TempDir()
	nested := strings.Repeat("a = [", 5<<20/5)
	tests := []struct {
		name string
		data string
		want string
	}{
		{"empty", "", "the file is empty"},
		{"only_comments", "# nothing\n\n", "the file declares no [[vantage]]"},
		{"bom", "\xef\xbb\xbf[[vantage]]\n", "byte order mark"},
		{"binary", "\x7fELF\x02\x01\x01\x00\x00\x00", "not UTF-8 text"},
		{"invalid_utf8", "name = \"\xff\xfe\"\n", "not UTF-8 text"},
		{"ten_megabytes_of_nesting", nested, "an expectation table is at most"},
		{"deep_nesting_small", strings.Repeat("a = [", 2000), ""},
		{"port_99999", replace("port = 22", "port = 99999"), "99999 is not a port (1-65535)"},
		{"cidr_33", replace(`"73.6.78.238/32"`, `"73.6.78.238/33"`), `"73.6.78.238/33" is not a CIDR`},
		{"port_as_string", replace("port = 22", `port = "22"`), "expectation.port"},
		{"negative_timeout", "[defaults]\ntimeout = \"-3s\"\n" + base(t), "a duration must not be negative"},
		{"tcp_sweep_misspelt", "[defaults]\ntimeout = \"3s\"\ntcp_sweep = \"sync\"\n" + base(t),
			`:3:1: defaults.tcp_sweep: "sync" is not a way to sweep (want one of auto, syn, connect)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := dir + "/" + tt.name + ".toml"
			if err := os.WriteFile(path, []byte(tt.data), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := Load(path)
			if err == nil {
				t.Fatalf("Load accepted a malformed file")
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), path) {
				t.Errorf("error = %q; want it to name the file and say %q", err, tt.want)
			}
		})
	}
}

// tcp_sweep is auto unless the file says, and takes each of its words.
func TestTCPSweepDefault(t *testing.T) {
	dir := t.TempDir()
	for _, word := range []string{"", "auto", "syn", "connect"} {
		doc := base(t)
		if word != "" {
			doc = "[defaults]\ntcp_sweep = \"" + word + "\"\n" + doc
		}
		path := filepath.Join(dir, "f.toml")
		if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
		f, err := Load(path)
		if err != nil {
			t.Fatalf("tcp_sweep %q: %v", word, err)
		}
		want := word
		if want == "" {
			want = TCPSweepAuto
		}
		if f.Defaults.TCPSweep != want {
			t.Errorf("tcp_sweep %q: loaded as %q; want %q", word, f.Defaults.TCPSweep, want)
		}
	}
}

func base(t *testing.T) string {
	b, err := os.ReadFile("testdata/base.toml")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func replace(old, new string) string {
	b, _ := os.ReadFile("testdata/base.toml")
	return strings.Replace(string(b), old, new, 1)
}

func TestBaseLoads(t *testing.T) {
	f, err := Load("testdata/base.toml")
	if err != nil {
		t.Fatal(err)
	}
	if f.Defaults.Timeout.Std() != DefaultTimeout || *f.Defaults.Retries != DefaultRetries || f.Defaults.Concurrency != DefaultConcurrency {
		t.Errorf("defaults not set: %+v", f.Defaults)
	}
	if got := f.Vantages[0].Prefixes[0].String(); got != "73.6.78.238/32" {
		t.Errorf("prefix = %s", got)
	}
}

func TestOverrides(t *testing.T) {
	f, err := Load("testdata/base.toml")
	if err != nil {
		t.Fatal(err)
	}
	o := Overrides{Targets: map[string]string{"api": "127.0.0.1"}, VantageCIDRs: map[string][]string{"admin": {"127.0.0.0/8"}}, STUNServers: []string{"127.0.0.1:3478"}}
	if err := o.Apply(f); err != nil {
		t.Fatal(err)
	}
	if f.Targets[0].Address != "127.0.0.1" || f.Vantages[0].Prefixes[0].String() != "127.0.0.0/8" || f.STUN.Servers[0] != "127.0.0.1:3478" {
		t.Errorf("overrides not applied: %+v %+v %+v", f.Targets[0], f.Vantages[0], f.STUN)
	}
	bad := Overrides{Targets: map[string]string{"nope": "127.0.0.1", ".public": "127.0.0.1"}, VantageCIDRs: map[string][]string{"admin": {"1.2.3.4/40"}}}
	err = bad.Apply(f)
	if err == nil || !strings.Contains(err.Error(), `no target "nope"`) || !strings.Contains(err.Error(), `no target ".public"`) || !strings.Contains(err.Error(), `"1.2.3.4/40" is not a CIDR`) {
		t.Errorf("bad overrides error = %v; want all three named", err)
	}
}

// A section's ca_file is taken from the config file's directory, not the
// working directory, so a nightly job started elsewhere reads the same file;
// one that cannot be read is a problem of the file, with its line and key.
func TestCAFileIsRelativeToTheConfig(t *testing.T) {
	dir := t.TempDir()
	base, err := os.ReadFile("testdata/base.toml")
	if err != nil {
		t.Fatal(err)
	}
	https := `
[[expectation]]
id = "api-https"
target = "api"
port = 443
transport = "tcp"
probe = "http"
expect = { internet = "open" }
[expectation.http]
tls = true
ca_file = "certs/ca.pem"
`
	path := filepath.Join(dir, "probe.toml")
	if err := os.WriteFile(path, append(base, https...), 0o644); err != nil {
		t.Fatal(err)
	}
	line := strings.Count(string(base), "\n") + 11 // the ca_file line

	_, err = Load(path)
	want := fmt.Sprintf("%s:%d:1: expectation[1].http.ca_file: cannot use %s", path, line, filepath.Join(dir, "certs", "ca.pem"))
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("Load without the CA file: %v; want a problem starting %q", err, want)
	}

	if err := os.MkdirAll(filepath.Join(dir, "certs"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "certs", "ca.pem"), []byte("PEM"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Chdir(t.TempDir()) // another working directory, as a nightly job has
	f, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := f.Expectations[1].Section().(*kinds.HTTPSection).CAFile, filepath.Join(dir, "certs", "ca.pem"); got != want {
		t.Errorf("ca_file = %q; want %q", got, want)
	}
}

// An unknown key does not hide the problems of the values around it: the
// README's example, three problems of three kinds, comes out whole.
func TestUnknownKeyDoesNotHideValueProblems(t *testing.T) {
	body := `[[vantage]]
name = "admin"
cidrs = ["73.6.78.238/32"]

[[target]]
name = "api"
address = "3.83.53.69"

[[expectation]]
id = "api-ssh"
target = "api"
port = 99999
transport = "tcp"
probe = "tcp"
expect = { admin = "opn" }
[expectation.tcp]
baner = "SSH-2.0"
`
	_, err := Parse("expectations.toml", []byte(body))
	var ps Problems
	if !errors.As(err, &ps) {
		t.Fatalf("Parse = %v; want Problems", err)
	}
	var got []string
	for _, p := range ps {
		got = append(got, p.String())
	}
	want := []string{
		`expectations.toml:12:1: expectation[0].port: 99999 is not a port (1-65535)`,
		`expectations.toml:15:12: expectation[0].expect.admin: "opn" is not an expected state (want one of open, closed, filtered, reachable, unreachable, not_open)`,
		`expectations.toml:17:1: expectation[0].tcp.baner: unknown key (check its spelling and the table it is in)`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// A misspelt key's echo (the problem of the key it was meant to be, left
// unset) is dropped, and nothing else is: not the problem of a key two
// edits away in another table, nor of one three edits away in the same.
func TestEchoesOfAMisspeltKey(t *testing.T) {
	vantages := func(first, second string) string {
		return "[[vantage]]\nname = \"a\"\n" + first + "\n\n[[vantage]]\nname = \"b\"\n" + second + `

[[vantage]]
name = "c"
catch_all = true

[[target]]
name = "api"
address = "203.0.113.10"

[[expectation]]
id = "api-ssh"
target = "api"
port = 22
transport = "tcp"
probe = "tcp"
expect = { c = "open" }
`
	}
	const unset = `vantage "%s" has no cidrs and is not catch_all; say where it stands`
	tests := []struct {
		name, body string
		want       []string
	}{
		{"two_edits", vantages(`cdr = ["10.0.0.0/8"]`, `cidrs = ["10.0.0.0/8"]`), []string{
			"f.toml:3:1: vantage[0].cdr: unknown key (check its spelling and the table it is in)",
		}},
		{"three_edits", vantages(`ci = ["10.0.0.0/8"]`, `cidrs = ["10.0.0.0/8"]`), []string{
			"f.toml:1:3: vantage[0].cidrs: " + fmt.Sprintf(unset, "a"),
			"f.toml:3:1: vantage[0].ci: unknown key (check its spelling and the table it is in)",
		}},
		{"three_more", vantages(`cidrs_v4 = ["10.0.0.0/8"]`, `cidrs = ["10.0.0.0/8"]`), []string{
			"f.toml:1:3: vantage[0].cidrs: " + fmt.Sprintf(unset, "a"),
			"f.toml:3:1: vantage[0].cidrs_v4: unknown key (check its spelling and the table it is in)",
		}},
		{"another_table", vantages(`cidr = ["10.0.0.0/8"]`, `network = "internet"`), []string{
			"f.toml:3:1: vantage[0].cidr: unknown key (check its spelling and the table it is in)",
			"f.toml:5:3: vantage[1].cidrs: " + fmt.Sprintf(unset, "b"),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("f.toml", []byte(tt.body))
			var ps Problems
			if !errors.As(err, &ps) {
				t.Fatalf("Parse = %v; want Problems", err)
			}
			var got []string
			for _, p := range ps {
				got = append(got, p.String())
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

// A file that is not text names the line of its first bad byte.
func TestNotUTF8NamesItsLine(t *testing.T) {
	for _, tt := range []struct {
		name, data string
		line       int
	}{
		{"invalid_byte", "a = 1\nb = 2\nc = \"\xff\"\nd = 4\n", 3},
		{"nul", "a = 1\nb = \"\x00\"\nc = 3\n", 2},
	} {
		_, err := Parse("f.toml", []byte(tt.data))
		if want := fmt.Sprintf("f.toml:%d: the file is not UTF-8 text (is it a binary file?)", tt.line); err == nil || err.Error() != want {
			t.Errorf("%s: %v; want %q", tt.name, err, want)
		}
	}
}

// The bounds of [defaults] and [stun], each side of each: what loads
// loads with the value written, what does not names file:line:key.
func TestDefaultsBounds(t *testing.T) {
	tests := []struct {
		name, table string
		want        string // the problem; "" when the file loads
		check       func(*File) bool
	}{
		{"no_resend", "[defaults]\nretries = 0", "", func(f *File) bool { return *f.Defaults.Retries == 0 }},
		{"ten_resends", "[defaults]\nretries = 10", "", func(f *File) bool { return *f.Defaults.Retries == 10 }},
		{"eleven_resends", "[defaults]\nretries = 11", "f.toml:2:1: defaults.retries: must be 0-10, not 11", nil},
		{"negative_resends", "[defaults]\nretries = -1", "f.toml:2:1: defaults.retries: must be 0-10, not -1", nil},
		{"deadline_of_one_timeout", "[defaults]\ntimeout = \"5s\"\ndeadline = \"5s\"", "", func(f *File) bool { return f.Defaults.Deadline.Std() == 5*time.Second }},
		{"deadline_under_one_timeout", "[defaults]\ntimeout = \"5s\"\ndeadline = \"4s\"",
			"f.toml:3:1: defaults.deadline: the run's deadline (4s) is shorter than one probe's timeout (5s)", nil},
		{"zero_timeout_is_the_default", "[defaults]\ntimeout = \"0s\"", "", func(f *File) bool { return f.Defaults.Timeout.Std() == DefaultTimeout }},
		{"stun_timeout", "[stun]\ntimeout = \"500ms\"", "", func(f *File) bool { return f.STUN.Timeout.Std() == 500*time.Millisecond }},
		{"stun_timeout_default", "", "", func(f *File) bool { return f.STUN.Timeout.Std() == DefaultSTUNTimeout }},
		{"stun_without_host", "[stun]\nservers = [\":3478\"]", `f.toml:2:12: stun.servers[0]: ":3478": the host is empty`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Parse("f.toml", []byte(tt.table+"\n"+base(t)))
			switch {
			case tt.want != "" && (err == nil || err.Error() != tt.want):
				t.Errorf("Parse: %v; want %q", err, tt.want)
			case tt.want == "" && err != nil:
				t.Errorf("Parse: %v; want it to load", err)
			case tt.want == "" && !tt.check(f):
				t.Errorf("loaded %+v %+v; not as written", f.Defaults, f.STUN)
			}
		})
	}
}

// Problems found at one place (a table missing two keys) keep the order
// they were found in; the file's own problems name no line.
func TestProblemsOrder(t *testing.T) {
	body := "[[vantage]]\nname = \"admin\"\n\n" + strings.SplitN(replace(`address = "203.0.113.10"`, `public = "203.0.113.10"`), "\n\n", 2)[1]
	_, err := Parse("f.toml", []byte(body))
	want := `f.toml:1:3: vantage[0].cidrs: vantage "admin" has no cidrs and is not catch_all; say where it stands
f.toml:1:3: vantage[0].network: vantage "admin" needs a network: "internet" for a runner outside the VPC (an office, a remote runner), "vpc" for a runner on a server inside it`
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("Parse: %v; want it to start\n%s", err, want)
	}
	if _, err := Parse("f.toml", nil); err == nil || err.Error() != "f.toml: the file is empty; an expectation table needs at least one [[vantage]], [[target]] and [[expectation]]" {
		t.Errorf("an empty file: %v", err)
	}
}

// A key is named as written: a stray number is not an array's index.
func TestUnknownKeyNamedAsWritten(t *testing.T) {
	_, err := Parse("f.toml", []byte("1 = 2\n"+base(t)))
	if want := "f.toml:1:1: 1: unknown key (check its spelling and the table it is in)"; err == nil || err.Error() != want {
		t.Errorf("Parse: %v; want %q", err, want)
	}
}

// An expectation says its ports one way: port, ports or range.
func TestOneWayToSayThePorts(t *testing.T) {
	for _, two := range []string{"ports = [22, 2222]", `range = "22-23"`} {
		_, err := Parse("f.toml", []byte(replace("port = 22", "port = 22\n"+two)))
		if want := "f.toml:13:3: expectation[0]: give only one of port, ports and range"; err == nil || err.Error() != want {
			t.Errorf("port and %s: %v; want %q", two, err, want)
		}
	}
}
