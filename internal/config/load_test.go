package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

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
	bad := Overrides{Targets: map[string]string{"nope": "127.0.0.1"}, VantageCIDRs: map[string][]string{"admin": {"1.2.3.4/40"}}}
	err = bad.Apply(f)
	if err == nil || !strings.Contains(err.Error(), `no target "nope"`) || !strings.Contains(err.Error(), `"1.2.3.4/40" is not a CIDR`) {
		t.Errorf("bad overrides error = %v; want both named", err)
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
