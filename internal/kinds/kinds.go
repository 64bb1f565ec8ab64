// Package kinds binds each probe kind to the three things the rest of the
// program needs from it: the config section that carries its options and
// assertions, the probe call, and the checks of its facts. It is the one
// place that knows every protocol; config, engine and judge only look kinds
// up by name.
package kinds

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"

	"probe/probes"
)

// Params is what a probe kind is given besides the target.
type Params struct {
	// Timeout bounds one exchange (one attempt for TCP-based probes, the
	// whole retransmission schedule for UDP ones).
	Timeout time.Duration
	// Retries is how many more times a silent UDP probe may be sent.
	Retries int
	// Sections are the expectation's protocol sections; nil fields are
	// absent sections.
	Sections Sections
	// CAFile, when set, is a PEM bundle of extra roots for TLS checks.
	CAFile string
	// Controls lists the ports of a range probe that lie just outside the
	// range: they must behave like the rest of the host, not like the range.
	Controls []int
}

// Assertion is one assertion of a kind's section, echoed back with what was seen and whether it held.
type Assertion struct {
	// Name is the assertion's key in the config ("auth_methods").
	Name string `json:"name"`
	// Expected is what the config asked for, as text.
	Expected string `json:"expected"`
	// Observed is what the probe saw, as text.
	Observed string `json:"observed"`
	// Pass is whether the assertion held.
	Pass bool `json:"pass"`
	// Undecided marks an assertion that did not pass because the probe
	// could not find out (a handshake that never connected), not because
	// it was shown false: the port's verdict is then inconclusive, unless
	// another assertion failed.
	Undecided bool `json:"undecided,omitempty"`
	// Critical marks a failure the report must call out (a default
	// password accepted, a credential offered where none should be).
	Critical bool `json:"critical,omitempty"`
}

// FieldError is a problem with one key of a section. Key is relative to the
// section ("auth_methods", "banner"); config adds the file, line and path.
type FieldError struct {
	Key string
	Msg string
}

// Kind is one probe kind.
type Kind struct {
	// Name is the word used in the config's probe field.
	Name string
	// Transports lists the transports the kind runs over.
	Transports []string
	// Sections lists the config sections the kind accepts; a section
	// given for any other kind is an error.
	Sections []string
	// Run probes one port. Nil means the kind is declared but not yet
	// implemented.
	Run func(ctx context.Context, t probes.Target, p Params) probes.Observation
	// RunPorts, when set, probes all ports of one expectation at one host
	// together (the RTP range sample paces its packets against ICMP rate
	// limits). It returns one observation per target, in order.
	RunPorts func(ctx context.Context, ts []probes.Target, p Params) []probes.Observation
	// Assert judges an open port's facts against the expectation's
	// assertions. Nil when the kind has no assertions.
	Assert func(o probes.Observation, p Params) []Assertion
	// OneRoundTrip, when set, reports whether the probe's whole exchange
	// under p is one round trip (a bare TCP handshake), so the engine may
	// shorten its timeout to the target's measured round-trip timeout. A
	// probe that reads or talks after connecting must not be shortened.
	OneRoundTrip func(p Params) bool
	// Exchanges, when set, says how many exchanges the probe makes under
	// p, one after the other, each owed the whole timeout (the HTTP probe's
	// request, then one handshake per TLS version it must see refused);
	// the engine gives the probe that many timeouts. One when nil.
	Exchanges func(p Params) int
	// Identify, when set, takes a second look at a port a one-round-trip
	// probe found open, to say what answered (a banner). Its observation
	// replaces the first.
	Identify func(ctx context.Context, t probes.Target, p Params) probes.Observation
}

// Implemented reports whether the kind can probe.
func (k *Kind) Implemented() bool { return k.Run != nil || k.RunPorts != nil }

var registry = map[string]*Kind{}

// Register adds a kind to the registry. The built-in kinds register
// themselves when the program starts; tests register fakes.
func Register(k *Kind) { register(k) }

func register(k *Kind) {
	if _, dup := registry[k.Name]; dup {
		panic(fmt.Sprintf("kinds: %q registered twice", k.Name))
	}
	registry[k.Name] = k
}

// Lookup returns the kind with that name, or nil.
func Lookup(name string) *Kind { return registry[name] }

// Names returns every kind's name, sorted.
func Names() []string {
	names := make([]string, 0, len(registry))
	for n := range registry {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Sections are the per-protocol tables an expectation may carry
// ([expectation.ssh], [expectation.http], ...). Each is a pointer so that an
// absent section is told from an empty one.
type Sections struct {
	TCP  *TCPSection  `toml:"tcp,omitempty" json:"tcp,omitempty"`
	SSH  *SSHSection  `toml:"ssh,omitempty" json:"ssh,omitempty"`
	SIP  *SIPSection  `toml:"sip,omitempty" json:"sip,omitempty"`
	HTTP *HTTPSection `toml:"http,omitempty" json:"http,omitempty"`
	RTP  *RTPSection  `toml:"rtp,omitempty" json:"rtp,omitempty"`
}

// Present returns the names of the sections that are set.
func (s Sections) Present() []string {
	var names []string
	if s.TCP != nil {
		names = append(names, "tcp")
	}
	if s.SSH != nil {
		names = append(names, "ssh")
	}
	if s.SIP != nil {
		names = append(names, "sip")
	}
	if s.HTTP != nil {
		names = append(names, "http")
	}
	if s.RTP != nil {
		names = append(names, "rtp")
	}
	return names
}

// ResolveFiles rewrites, in place, each relative file path the sections
// name into one under dir (the config file's directory), so a run started
// from another working directory (a nightly job) reads the same files, and
// checks that each is there; whether it can be read is the run's to find.
// Problems are keyed by "section.key", as Validate's are.
func (s Sections) ResolveFiles(dir string) []FieldError {
	var out []FieldError
	if s.HTTP != nil && s.HTTP.CAFile != "" {
		if !filepath.IsAbs(s.HTTP.CAFile) {
			s.HTTP.CAFile = filepath.Join(dir, s.HTTP.CAFile)
		}
		// Stat, not open: opening a FIFO would block validation.
		if st, err := os.Stat(s.HTTP.CAFile); err != nil {
			out = append(out, FieldError{Key: "http.ca_file", Msg: fmt.Sprintf("cannot use %s (a relative path is taken from the config file's directory): %v", s.HTTP.CAFile, errors.Unwrap(err))})
		} else if !st.Mode().IsRegular() {
			out = append(out, FieldError{Key: "http.ca_file", Msg: fmt.Sprintf("%s is not a file of PEM certificates", s.HTTP.CAFile)})
		}
	}
	return out
}

// Validate checks every present section and returns problems keyed by
// "section.key".
func (s Sections) Validate() []FieldError {
	var out []FieldError
	add := func(section string, errs []FieldError) {
		for _, e := range errs {
			e.Key = section + "." + e.Key
			out = append(out, e)
		}
	}
	if s.TCP != nil {
		add("tcp", s.TCP.validate())
	}
	if s.SSH != nil {
		add("ssh", s.SSH.validate())
	}
	if s.SIP != nil {
		add("sip", s.SIP.validate())
	}
	if s.HTTP != nil {
		add("http", s.HTTP.validate())
	}
	if s.RTP != nil {
		add("rtp", s.RTP.validate())
	}
	return out
}
