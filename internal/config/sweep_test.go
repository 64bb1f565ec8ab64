package config

import (
	"slices"
	"strings"
	"testing"
)

const sweepBase = `
[[vantage]]
name = "internet"
catch_all = true

[[target]]
name = "api"
address = "203.0.113.10"

[[target]]
name = "other"
address = "203.0.113.20"

[[expectation]]
id = "ssh"
target = "api"
port = 22
transport = "tcp"
probe = "ssh"
expect = { internet = "filtered" }

[[expectation]]
id = "web"
target = "api"
ports = [80, 443]
transport = "tcp"
probe = "http"
expect = { internet = "open" }

[[expectation]]
id = "sip-tls"
target = "api"
port = 5061
transport = "tls"
probe = "sip"
expect = { internet = "open" }

[[expectation]]
id = "sip-udp"
target = "api"
port = 5060
transport = "udp"
probe = "sip"
expect = { internet = "open" }

[[expectation]]
id = "other-host"
target = "other"
port = 25
transport = "tcp"
probe = "tcp"
expect = { internet = "open" }
`

func TestExceptDeclaredLeavesOutWhatTheFileDeclares(t *testing.T) {
	f, err := Parse("sweep.toml", []byte(sweepBase+`
[[expectation]]
id = "nothing-else"
target = "api"
range = "1-65535"
except_declared = true
transport = "tcp"
probe = "tcp"
expect = { internet = "not_open" }

[[expectation]]
id = "low-only"
target = "api"
range = "1-100"
except_declared = true
transport = "tcp"
probe = "tcp"
expect = { internet = "not_open" }

[[expectation]]
id = "edges"
target = "api"
range = "22-443"
except_declared = true
transport = "tcp"
probe = "tcp"
expect = { internet = "not_open" }
`))
	if err != nil {
		t.Fatal(err)
	}
	// 5061/tls is a TCP port; 5060/udp and the other host's 25 are not
	// this sweep's; the other sweep declares nothing.
	if got, want := f.Expectations[5].Excluded, []int{22, 80, 443, 5061}; !slices.Equal(got, want) {
		t.Errorf("excluded %v; want %v", got, want)
	}
	if got, want := f.Expectations[6].Excluded, []int{22, 80}; !slices.Equal(got, want) {
		t.Errorf("a range's excluded ports are the declared ones inside it: got %v; want %v", got, want)
	}
	if got, want := f.Expectations[7].Excluded, []int{22, 80, 443}; !slices.Equal(got, want) {
		t.Errorf("declared ports at a range's bounds are inside it: got %v; want %v", got, want)
	}
}

func TestExceptDeclaredNeedsAFullRange(t *testing.T) {
	_, err := Parse("sweep.toml", []byte(sweepBase+`
[[expectation]]
id = "on-a-port"
target = "api"
port = 8080
except_declared = true
transport = "tcp"
probe = "tcp"
expect = { internet = "not_open" }

[[expectation]]
id = "on-a-sample"
target = "api"
range = "16384-32768"
except_declared = true
transport = "udp"
probe = "rtp"
expect = { internet = "not_open" }
`))
	if err == nil {
		t.Fatal("got no error; want except_declared refused on a port and on a sampled range")
	}
	for _, want := range []string{
		"expectation[5].except_declared: applies to a range only",
		"expectation[6].except_declared: probe rtp samples a range",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("errors lack %q:\n%v", want, err)
		}
	}
}

// The sweep file must leave out exactly what the reference file declares,
// or a declared port would be reported as "something else is open".
func TestSweepFileDeclaresWhatTheReferenceDoes(t *testing.T) {
	ref, err := Load("../../expectations.toml")
	if err != nil {
		t.Fatal(err)
	}
	sweep, err := Load("../../sweep.toml")
	if err != nil {
		t.Fatal(err)
	}
	declared := func(f *File, target, transport string) []int {
		var ports []int
		for _, e := range f.Expectations {
			if e.Target != target || L4(e.Transport) != transport || e.ExceptDeclared {
				continue
			}
			ports = append(ports, e.PortList...)
			for p := e.RangeLo; e.RangeLo != 0 && p <= e.RangeHi; p++ {
				ports = append(ports, p)
			}
		}
		slices.Sort(ports)
		return slices.Compact(ports)
	}
	swept := 0
	for _, e := range sweep.Expectations {
		if !e.ExceptDeclared {
			continue
		}
		swept++
		if got, want := e.Excluded, declared(ref, e.Target, L4(e.Transport)); !slices.Equal(got, want) {
			t.Errorf("%s leaves out %d ports; expectations.toml declares %d for %s over %s", e.ID, len(got), len(want), e.Target, e.Transport)
		}
	}
	if swept != 4 {
		t.Errorf("sweep.toml has %d sweeps; want 4, both servers over TCP and over UDP", swept)
	}
}

// A UDP sweep states only whether something answered: a closed port whose
// ICMP error the target's rate limit withheld is silent, as a filtered one
// is, so the words that tell them apart are refused at their line.
func TestUDPSweepStatesOpenOrNotOpen(t *testing.T) {
	cases := []struct {
		word string
		ok   bool
	}{
		{"not_open", true}, {"open", true},
		{"filtered", false}, {"unreachable", false}, {"closed", false}, {"reachable", false},
	}
	for _, c := range cases {
		_, err := Parse("udp.toml", []byte(sweepBase+`
[[expectation]]
id = "udp-nothing-else"
target = "other"
range = "1-65535"
except_declared = true
transport = "udp"
probe = "udp"
expect = { internet = "`+c.word+`" }
`))
		want := `udp.toml:61:12: expectation[5].expect.internet: probe udp cannot decide "` + c.word + `" (it states open or not_open)`
		switch {
		case c.ok && err != nil:
			t.Errorf("%s: %v; want it accepted", c.word, err)
		case !c.ok && (err == nil || !strings.Contains(err.Error(), want)):
			t.Errorf("%s: %v; want %s", c.word, err, want)
		}
	}
}
