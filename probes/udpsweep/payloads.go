package udpsweep

import (
	"net"
	"strconv"
	"strings"

	"probe/probes"
	"probe/probes/sip"
)

// Payload is one protocol's datagram that makes its service answer, with
// the parser that recognises the answer.
type Payload struct {
	// Name names it in the evidence ("SIP OPTIONS").
	Name string
	// New builds the datagram for t, sent from local, and the parser of
	// its answer: said says what a reply said, ok is false when the reply
	// is not this protocol's answer to this datagram.
	New func(t probes.Target, local net.Addr) (datagram []byte, said func(reply []byte) (string, bool))
}

// The payloads. Each is answered by a service that speaks the protocol,
// whatever its configuration, without a credential.
var (
	// SIPOptions is an OPTIONS request (RFC 3261 §11), built by the SIP
	// probe: every SIP server owes it an answer, and FreeSWITCH and
	// Kamailio give one whatever their ACLs say.
	SIPOptions = &Payload{Name: "SIP OPTIONS", New: func(t probes.Target, local net.Addr) ([]byte, func([]byte) (string, bool)) {
		r := sip.NewRequest(t, local)
		return r.Bytes(), r.Said
	}}
	// STUNBinding is a Binding request (RFC 8489): STUN and TURN servers
	// (coturn), and the STUN listeners of media relays, answer it.
	STUNBinding = &Payload{Name: "STUN binding request", New: newSTUN}
	// DNSQuery asks, without recursion, for the root's name servers
	// (RFC 1035): any DNS server answers, if only to refuse.
	DNSQuery = &Payload{Name: "DNS query", New: newDNS}
	// NTPRequest is an NTP client request (RFC 5905, mode 3).
	NTPRequest = &Payload{Name: "NTP client request", New: newNTP}
)

// Generic is what a port that is no payload's well-known one is sent: the
// services a VoIP host runs, on whatever port someone put them. Three
// datagrams a port, so a 65535-port sweep sends about 196,000.
var Generic = []*Payload{SIPOptions, STUNBinding, DNSQuery}

// wellKnown are the ports that get their protocol's payload alone.
var wellKnown = []struct {
	lo, hi  int
	payload *Payload
}{
	{53, 53, DNSQuery},
	{123, 123, NTPRequest},
	{3478, 3479, STUNBinding}, // STUN and TURN (coturn), and its alternate port
	// SIP: 5060, FreeSWITCH's external profile on 5080, and the ports
	// beside them that further profiles take.
	{5060, 5099, SIPOptions},
	{5353, 5353, DNSQuery},      // multicast DNS answers a unicast query
	{19302, 19302, STUNBinding}, // STUN as Google's servers and WebRTC use it
}

// alone holds each well-known payload as a set of one, made once: a
// sweep tells the sets apart by their first element's address.
var alone = func() [][]*Payload {
	out := make([][]*Payload, len(wellKnown))
	for i, w := range wellKnown {
		out[i] = []*Payload{w.payload}
	}
	return out
}()

// For returns the payloads port is sent: its well-known protocol's, else
// Generic.
func For(port int) []*Payload {
	for i, w := range wellKnown {
		if port >= w.lo && port <= w.hi {
			return alone[i]
		}
	}
	return Generic
}

// Table describes, in words, which payloads go to which ports (for the
// report and the README).
func Table() string {
	var parts []string
	for _, w := range wellKnown {
		ports := strconv.Itoa(w.lo)
		if w.hi != w.lo {
			ports += "-" + strconv.Itoa(w.hi)
		}
		parts = append(parts, w.payload.Name+" to "+ports)
	}
	names := make([]string, len(Generic))
	for i, p := range Generic {
		names[i] = p.Name
	}
	return strings.Join(parts, ", ") + "; every other port: " + strings.Join(names, ", ")
}
