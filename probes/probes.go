// Package probes holds what every protocol probe shares: the target it is
// given, the observation it returns, and the closed vocabulary of states and
// error classes an observation is stated in.
//
// A probe knows nothing of expectations, vantages or verdicts. It is handed a
// Target and its own options, makes one protocol exchange within the context's
// deadline, and returns an Observation that says what happened and how it
// knows (Evidence). The engine owns time, concurrency and retries across
// probes; the judge decides what an observation means.
package probes

import (
	"encoding/json"
	"time"
)

// State is what a probe saw of one port, in nmap's vocabulary.
type State string

const (
	// Open: the service answered (TCP handshake completed, a UDP/SIP/STUN
	// reply, an SSH banner).
	Open State = "open"
	// Closed: the host said nothing listens (TCP RST, ICMP port
	// unreachable). The packet passed every firewall on the way.
	Closed State = "closed"
	// Filtered: silence until the timeout, or an ICMP "prohibited" answer.
	// Something dropped the packet.
	Filtered State = "filtered"
	// OpenFiltered: UDP silence where no reply was owed. Not shown
	// reachable, not shown dropped.
	OpenFiltered State = "open|filtered"
	// NoState: the probe could not be made; ErrorClass says why.
	NoState State = ""
)

// ErrorClass names why a probe could not be made. These are the prober's own
// failures, kept apart from what the target said.
type ErrorClass string

const (
	ErrResolve  ErrorClass = "resolve"  // the target's name did not resolve
	ErrNoRoute  ErrorClass = "no-route" // the prober has no route to the target
	ErrLocal    ErrorClass = "local"    // a local failure: permission, no sockets, bad address
	ErrProtocol ErrorClass = "protocol" // the port answered, but not in the expected protocol
	ErrCanceled ErrorClass = "canceled" // the run was stopped before the probe finished
	ErrInternal ErrorClass = "internal" // a bug or an unsupported case in the prober
)

// Target is one address and port to probe.
type Target struct {
	// Name is the target's name in the config ("api").
	Name string `json:"name"`
	// Host is what is dialled: an IP address or a DNS name.
	Host string `json:"host"`
	// Port is the port number.
	Port int `json:"port"`
	// Transport is "tcp" or "udp".
	Transport string `json:"transport"`
	// Family, when set ("ipv4" or "ipv6"), is the address family a name
	// in Host is dialled over: its A or its AAAA records. Empty: whichever
	// the resolver gives first (an IP address has its own).
	Family string `json:"family,omitempty"`
}

// Network returns the network to dial t over for base ("tcp", "udp",
// "ip"): base alone, or with the family's digit ("tcp6") when Family is
// set.
func (t Target) Network(base string) string {
	switch t.Family {
	case "ipv4":
		return base + "4"
	case "ipv6":
		return base + "6"
	}
	return base
}

// Observation is what one probe of one port saw.
type Observation struct {
	// State is the port's state as seen from here; NoState when the probe
	// could not be made.
	State State `json:"state"`
	// Error classifies a failure of the prober itself; empty otherwise.
	Error ErrorClass `json:"error,omitempty"`
	// Outcome is the raw low-level outcome in a few words: "connected",
	// "connection refused", "timeout after 3s", "ICMP port unreachable".
	Outcome string `json:"outcome"`
	// Detail is the underlying error text, when there was one.
	Detail string `json:"detail,omitempty"`
	// Sent says what was sent, in a few words ("TCP SYN", "SIP OPTIONS x3").
	Sent string `json:"sent,omitempty"`
	// Attempts is how many times the probe sent (1 unless retried).
	Attempts int `json:"attempts,omitempty"`
	// Started is when the probe began.
	Started time.Time `json:"started"`
	// Duration is how long the probe took.
	Duration time.Duration `json:"duration_ns"`
	// RTT is how long the target took to answer the connection attempt
	// (the TCP handshake or its RST), for TCP-based probes that were
	// answered; zero otherwise. The engine's adaptive timeouts learn from it.
	RTT time.Duration `json:"rtt_ns,omitempty"`
	// ICMPError says an ICMP error answered the probe (port unreachable to
	// UDP, host/net unreachable or prohibited): an error the target, or a
	// router on the way, paid for from its per-peer ICMP budget. It is for
	// the engine's accounting of that budget, not part of the report.
	ICMPError bool `json:"-"`
	// BesideICMP, when set, names other probes of the same target that drew
	// ICMP errors while this silence was heard. Their errors drew on the
	// per-peer ICMP budget a closed port's port unreachable needed, so a
	// silence that would pass an expectation does not: it is inconclusive.
	// A silence that fails one still fails: the errors may as well have
	// come from a router in front of a target that is down.
	BesideICMP string `json:"beside_icmp,omitempty"`
	// SilenceDoubt, when set, says why the silence this observation reports
	// may not be a firewall's doing (e.g. ICMP rate limiting at the target),
	// so no verdict may rest on it.
	SilenceDoubt string `json:"silence_doubt,omitempty"`
	// Facts holds protocol facts (banner, status, certificate…) as the
	// probe's own JSON-marshalable struct; nil when there are none.
	Facts any `json:"facts,omitempty"`
}

// Answered reports whether the target itself was heard from: an open port,
// or a refusal that came from the target's own stack.
func (o Observation) Answered() bool { return o.State == Open || o.State == Closed }

// MarshalFacts returns the facts as raw JSON, for reports that keep them
// without knowing their type.
func (o Observation) MarshalFacts() json.RawMessage {
	if o.Facts == nil {
		return nil
	}
	b, err := json.Marshal(o.Facts)
	if err != nil {
		return nil
	}
	return b
}

// Ports is what a sweep saw of every port it was given, kept compactly (a
// few bytes a port) and stated as an observation only when asked: 65535
// observations held at once would cost more memory than the sweep itself.
type Ports interface {
	// Observation is what port showed, in the words of the kind's probe.
	Observation(port int) Observation
	// Answered lists the ports the target itself was heard from (open or
	// closed: Observation.Answered), in order.
	Answered() []int
	// Open lists the ports found open, in order.
	Open() []int
	// ICMP lists the ports answered by an ICMP error, in order: errors
	// the target or a router paid for from its per-peer ICMP budget.
	ICMP() []int
}
