package config

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"probe/internal/kinds"
)

func TestReferenceFileLoads(t *testing.T) {
	f, err := Load("../../expectations.toml")
	if err != nil {
		t.Fatalf("Load(expectations.toml): %v", err)
	}
	if got, want := len(f.Expectations), 24; got != want {
		t.Errorf("expectations = %d; want %d", got, want)
	}
	e := f.Expectations[0]
	if s, ok := e.Section().(*kinds.SSHSection); !ok || s == nil {
		t.Errorf("expectation %s: ssh section not decoded", e.ID)
	}
	if f.Defaults.Timeout.Std().String() != "3s" {
		t.Errorf("timeout = %v", f.Defaults.Timeout.Std())
	}
}

// Every registered kind's section decodes from its own table, into the
// kind's own type, with no list of sections kept in this package; and a
// section is refused on an expectation of another kind.
func TestEverySectionDecodes(t *testing.T) {
	ks := kinds.Sectioned()
	if len(ks) == 0 {
		t.Fatal("no kind takes a section")
	}
	for i, k := range ks {
		other := ks[(i+1)%len(ks)]
		t.Run(k.Name, func(t *testing.T) {
			doc := func(section string) string {
				return fmt.Sprintf(`[[vantage]]
name = "internet"
catch_all = true
[[target]]
name = "api"
address = "203.0.113.10"
[[expectation]]
id = "x"
target = "api"
port = 5000
transport = %q
probe = %q
expect = { internet = "filtered" }
[expectation.%s]
`, k.Transports[0], k.Name, section)
			}
			f, err := Parse("own.toml", []byte(doc(k.Name)))
			if err != nil {
				t.Fatal(err)
			}
			got, want := reflect.TypeOf(f.Expectations[0].Section()), reflect.TypeOf(k.Section())
			if got != want || reflect.ValueOf(f.Expectations[0].Section()).IsNil() {
				t.Errorf("section decoded as %v; want a %v", got, want)
			}
			_, err = Parse("other.toml", []byte(doc(other.Name)))
			if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("a [%s] section does not apply to probe %s", other.Name, k.Name)) {
				t.Errorf("[%s] on probe %s: %v; want it refused", other.Name, k.Name, err)
			}
		})
	}
}

// A wrong type is reported in the words of the types a reader knows, not
// those of the decoder's mirror of File.
func TestTypeErrorNamesTheRealType(t *testing.T) {
	_, err := Parse("types.toml", []byte(`[[vantage]]
name = "internet"
catch_all = true
[[target]]
name = "api"
address = "203.0.113.10"
[[expectation]]
id = "x"
target = "api"
port = "ssh"
transport = "tcp"
probe = "ssh"
expect = { internet = "filtered" }
`))
	if err == nil || !strings.Contains(err.Error(), "types.toml:10:8: expectation.port: cannot decode TOML string into struct field config.Expectation.Port of type int") {
		t.Errorf("err = %v; want the located type error naming config.Expectation.Port", err)
	}
}

// TestReferenceFileStatesGroupRulesByAddress: the security document's
// group-scoped claims are stated at the address AWS matches them by.
func TestReferenceFileStatesGroupRulesByAddress(t *testing.T) {
	f, err := Load("../../expectations.toml")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ id, vantage, at, word string }{
		{"freeswitch-esl-private", "api", AtPrivate, "open"},
		{"freeswitch-esl-public", "api", AtPublic, "filtered"},
		{"freeswitch-esl-loopback", "freeswitch", AtLoopback, "open"},
		{"api-app-3000-loopback", "api", AtLoopback, "open"},
		{"api-app-3000-private", "api", AtPrivate, "not_open"},
		{"api-app-3000-public", "api", AtPublic, "not_open"},
		{"freeswitch-ssh", "api", AtPrivate, "filtered"},
		{"api-ssh", "freeswitch", AtPrivate, "filtered"},
		{"database-postgres", "freeswitch", AtPrivate, "open"},
		{"redis", "freeswitch", AtPrivate, "open"},
	}
	for _, tt := range tests {
		e := expectationByID(t, f, tt.id)
		_, at, err := f.Reach(e, tt.vantage, FamilyIPv4)
		if err != nil || at != tt.at || e.Expect[tt.vantage] != tt.word {
			t.Errorf("%s from %s: at %q (%v), expects %q; want %q at %q", tt.id, tt.vantage, at, err, e.Expect[tt.vantage], tt.word, tt.at)
		}
	}
	if s, ok := expectationByID(t, f, "freeswitch-esl-private").Section().(*kinds.TCPSection); !ok || s == nil || s.Banner != "Content-Type: auth/request" {
		t.Error("freeswitch-esl-private does not read ESL's greeting")
	}
}
