// Package kinds is the protocol adapter layer: it binds each protocol
// package under probes/ to the rest of the program. One file per probe kind
// (tcp.go, ssh.go, ...) registers a Kind that answers for its protocol:
//
//   - its config section, [expectation.NAME]: the section's type is decoded
//     strictly from the file and validates itself;
//   - how it probes: the probe call, and what the engine must know of it
//     (one round trip or several exchanges, a range sample, a sweep);
//   - its assertions: the section's claims judged against the facts;
//   - its facts' Prometheus metrics and the changes diff reports in them.
//
// config, plan, engine, judge and report look kinds up by name (the
// expectation's probe field, a result's Probe) and never name a protocol
// or one of its fact keys.
//
// # Adding a probe kind
//
// Write the protocol package (probes/NAME: a Probe call that returns an
// observation whose Facts are a JSON-marshalable struct), then one adapter
// file here, kinds/NAME.go, whose init calls Register with a Kind: Name and
// Transports; Section, returning a new *NAMESection (its toml and json tags
// are the config keys, its Validate the problems); Run (or RunPorts);
// Assert, judging the section's assertions on an open port's facts; and,
// when the facts hold something to watch, Facts, Metrics and Changes.
// Then add the kind's row to the README's table of probe kinds. Nothing
// else changes: the config decodes the section, the plan, engine and
// judge follow the Kind's fields, and the report asks the kind for its
// metrics and changes. TestKinds checks every registered kind's section,
// facts, metrics and changes against each other.
package kinds

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"regexp"
	"sort"
	"time"

	"probe/probes"
	"probe/probes/udp"
)

// Params is what a probe kind is given besides the target.
type Params struct {
	// Timeout bounds one exchange (one attempt for TCP-based probes, the
	// whole retransmission schedule for UDP ones).
	Timeout time.Duration
	// Retries is how many more times a silent UDP request may be sent
	// within the timeout (defaults.retries).
	Retries int
	// Section is the expectation's section of this kind ([expectation.ssh]
	// for ssh), as the kind's Section made it; nil when absent.
	Section Section
	// CAFile, when set, is a PEM bundle of extra roots for TLS checks.
	CAFile string
	// Controls lists the ports of a range probe that lie just outside the
	// range: they must behave like the rest of the host, not like the range.
	Controls []int
	// ICMP is the target's live ICMP-error account, shared by the run's
	// UDP probes of that target; a range paces its sends by it. Nil
	// outside an engine run.
	ICMP *udp.Budget
	// Pace, for a kind that sends a range's packets itself (RunPorts),
	// waits for the target's rate limit (rate_per_target) before each
	// port; nil outside an engine run.
	Pace func(ctx context.Context) error
}

// SectionOf returns p's section as the kind's own type: nil when the
// expectation has none.
func SectionOf[S Section](p Params) S {
	s, _ := p.Section.(S)
	return s
}

// Assertion is one assertion of a kind's section, echoed back with what
// was seen and whether it held.
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

// Section is a kind's config section, [expectation.NAME]: its options and
// assertions. A Section is a pointer to a struct whose toml tags are the
// section's keys; the config decodes it strictly, so a misspelt key is an
// error with its line.
type Section interface {
	// Validate returns the section's problems, keyed relative to it.
	Validate() []FieldError
}

// FileSection is a Section that names files (a CA bundle).
type FileSection interface {
	Section
	// ResolveFiles rewrites, in place, each relative path the section
	// names into one under dir (the config file's directory), so a run
	// started from another working directory (a nightly job) reads the
	// same files, and checks that each is there; whether it can be read
	// is the run's to find.
	ResolveFiles(dir string) []FieldError
}

// Kind is one probe kind.
type Kind struct {
	// Name is the word used in the config's probe field, and the name of
	// its section.
	Name string
	// Transports lists the transports the kind runs over.
	Transports []string
	// Section, when set, returns a new empty section of the kind, for the
	// config to decode [expectation.NAME] into. Nil when the kind takes no
	// section; a section given for another kind is an error.
	Section func() Section
	// Sweeps says a range may be probed in full, one probe per port (a
	// bare connect, or the UDP payloads: cheap enough for 65535 ports). A
	// kind with neither Sweeps nor RunPorts takes listed ports only. Over
	// UDP, a sweeping kind's sends do not wait for the target's ICMP
	// budget (65535 ports cannot go at one refusal a second); the errors
	// they draw are counted in it all the same.
	Sweeps bool
	// HalfOpen says the kind's probe, when OneRoundTrip holds, learns no
	// more than a TCP handshake's first answer (SYN-ACK, RST, ICMP or
	// silence), so its sweep may be sent as half-open SYNs from a raw
	// socket (probes/syn) instead of connects.
	HalfOpen bool
	// Words, when set, are the only expected states the kind can decide
	// (config refuses the others): a UDP sweep cannot tell a closed port
	// whose ICMP error the target's rate limit withheld from a filtered
	// one, so it states open or not_open only. Nil: every word.
	Words []string
	// SweepSends and SweepSilence, when set, say in a sweep's report what
	// each port was sent (the UDP payloads by port) and what a silent
	// port means (not simply a firewall's drop).
	SweepSends, SweepSilence string
	// Run probes one port. Nil means the kind is declared but not yet
	// implemented.
	Run func(ctx context.Context, t probes.Target, p Params) probes.Observation
	// RunPorts, when set, probes all ports of one expectation at one host
	// together (the RTP range sample paces its packets against ICMP rate
	// limits; the UDP sweep sends every port from one socket). It returns
	// one observation per target, in order. A range of such a kind is
	// sampled (see Sample), unless the kind Sweeps: then every port of it
	// is probed, together.
	RunPorts func(ctx context.Context, ts []probes.Target, p Params) []probes.Observation
	// SweepPorts, when set, probes every port of a sweep (a range of a
	// kind that Sweeps) at t's host together, as one task: the UDP sweep
	// sends them all from one socket, paced by p.Pace, and tells p.ICMP
	// of each ICMP error it draws. What each port showed is kept compactly
	// and stated when asked (probes.Ports): 65535 tasks and observations
	// would cost more memory than the sweep.
	SweepPorts func(ctx context.Context, t probes.Target, ports []int, p Params) probes.Ports
	// Sample, for a kind with RunPorts, says how many random ports of a
	// range to probe besides its edges, and the seed that draws them (0:
	// the run's seed), from p's section. DefaultSample ports and the run's
	// seed when nil.
	Sample func(p Params) (size int, seed int64)
	// Assert judges an open port's facts against the section's assertions.
	// Nil when the kind has no assertions.
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
	// Facts, when set, returns a new value (a pointer) of the type the
	// kind's facts decode into: the facts of a saved report are read back
	// into it for Metrics and Changes. Its JSON keys must be those the
	// probe writes (TestKinds holds them to it).
	Facts func() any
	// Metrics are the Prometheus families the kind's facts feed.
	Metrics []Metric
	// Changes, when set, lists what changed in one port's facts between
	// two reports (old and new, each a value Facts made); diff reports it.
	Changes func(old, new any) []FactChange
	// Resolves marks a kind that judges what the target's name resolves
	// to from the vantage, not a port: its expectation names no port or
	// transport, its words are ResolveWords, nothing is sent to the
	// target, and the runner judges it when it looks the run's names up
	// (JudgeResolved).
	Resolves bool
}

// Metric is a Prometheus gauge family fed by a kind's facts. Two kinds may
// feed the same family (a certificate's days left, from HTTPS and SIP over
// TLS): they then declare it alike.
type Metric struct {
	// Name is the family's name ("probe_ssh_host_key_info").
	Name string
	// Help is its HELP text.
	Help string
	// Samples are the family's samples from one port's facts (a value
	// Facts made); none when the facts do not bear on it.
	Samples func(facts any) []Sample
}

// Sample is one sample of a Metric: its labels as name, value pairs (the
// report adds the expectation's and the port's before them) and its value.
type Sample struct {
	Labels []string
	Value  float64
}

// FactChange is one difference between two reports' facts of a port.
type FactChange struct {
	// Kind names the change ("ssh-host-key-changed").
	Kind string
	// Old and New are the values before and after.
	Old, New string
	// Matters is false for a change expected in the normal course (a
	// certificate renewed to a later expiry).
	Matters bool
	// Detail says it in words, after the port ("presents a new SSH host
	// key: ...").
	Detail string
}

// Implemented reports whether the kind can probe.
func (k *Kind) Implemented() bool { return k.Run != nil || k.RunPorts != nil || k.SweepPorts != nil }

// SampleOf is how many ports of a range the kind samples under p, and the
// seed it pins (0: none).
func (k *Kind) SampleOf(p Params) (size int, seed int64) {
	if k.Sample != nil {
		size, seed = k.Sample(p)
	}
	if size <= 0 {
		size = DefaultSample
	}
	return size, seed
}

// DefaultSample is how many random ports of a range a sampling kind probes
// when its section does not say: with the two edges and two controls,
// twelve packets.
const DefaultSample = 8

// FactsOf reads o's facts into the kind's facts type: o's facts are the
// probe's own struct in the run that made them, a JSON object in a saved
// report. Nil when the kind declares no facts type, o has none, or they do
// not decode.
func (k *Kind) FactsOf(o probes.Observation) any {
	if k == nil || k.Facts == nil {
		return nil
	}
	raw := o.MarshalFacts()
	if raw == nil {
		return nil
	}
	v := k.Facts()
	if json.Unmarshal(raw, v) != nil {
		return nil
	}
	return v
}

var registry = map[string]*Kind{}

// kindName is what a kind may be called: it is a config word and a TOML
// key.
var kindName = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// Register adds a kind to the registry. The built-in kinds register
// themselves when the program starts; tests register fakes. It panics on a
// kind that is not well formed: that is a programming error, found at
// start-up.
func Register(k *Kind) {
	if _, dup := registry[k.Name]; dup {
		panic(fmt.Sprintf("kinds: %q registered twice", k.Name))
	}
	if !kindName.MatchString(k.Name) {
		panic(fmt.Sprintf("kinds: %q is not a kind name (lower-case letters, digits and _)", k.Name))
	}
	if k.Section != nil {
		if t := reflect.TypeOf(k.Section()); t == nil || t.Kind() != reflect.Pointer || t.Elem().Kind() != reflect.Struct {
			panic(fmt.Sprintf("kinds: %s's Section must return a pointer to a struct, not %v", k.Name, t))
		}
	}
	if (len(k.Metrics) > 0 || k.Changes != nil) && k.Facts == nil {
		panic(fmt.Sprintf("kinds: %s has metrics or changes but no Facts type", k.Name))
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

// Sectioned returns, sorted by name, every kind that takes a section.
func Sectioned() []*Kind {
	var out []*Kind
	for _, n := range Names() {
		if k := registry[n]; k.Section != nil {
			out = append(out, k)
		}
	}
	return out
}

// Sections are the protocol sections an expectation carries, by name
// ([expectation.ssh] under "ssh"). Only the expectation's own kind's may be
// given; config reports any other.
type Sections map[string]Section

// Present returns the names of the sections that are set, sorted.
func (s Sections) Present() []string {
	names := make([]string, 0, len(s))
	for n, sec := range s {
		if sec != nil {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return names
}

// Validate checks every present section and returns problems keyed by
// "section.key".
func (s Sections) Validate() []FieldError {
	var out []FieldError
	for _, n := range s.Present() {
		for _, e := range s[n].Validate() {
			e.Key = n + "." + e.Key
			out = append(out, e)
		}
	}
	return out
}

// ResolveFiles resolves the files every present section names (see
// FileSection). Problems are keyed by "section.key", as Validate's are.
func (s Sections) ResolveFiles(dir string) []FieldError {
	var out []FieldError
	for _, n := range s.Present() {
		fs, ok := s[n].(FileSection)
		if !ok {
			continue
		}
		for _, e := range fs.ResolveFiles(dir) {
			e.Key = n + "." + e.Key
			out = append(out, e)
		}
	}
	return out
}
