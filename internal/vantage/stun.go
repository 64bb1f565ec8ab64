package vantage

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pion/stun/v3"

	"probe/probes"
	"probe/probes/udp"
)

// Timing of the STUN exchange, each with why.
const (
	// DefaultTimeout bounds discovery when neither the caller nor the
	// context does: a STUN server answers within a round trip.
	DefaultTimeout = 2 * time.Second
	// RTO is the first retransmission timeout, RFC 8489 §6.2.1's
	// recommended 500 ms; each later wait doubles, up to MaxRTO.
	RTO = 500 * time.Millisecond
	// MaxRTO caps a wait, so a long timeout still retransmits.
	MaxRTO = 4 * time.Second
	// DefaultPort is STUN's port over UDP (RFC 8489 §18.6).
	DefaultPort = 3478
)

// ErrNoSTUNAnswer says that no STUN server answered with an address.
var ErrNoSTUNAnswer = errors.New("no STUN server told this prober its public address")

// ErrSTUNDisagree says that STUN servers answered with different addresses,
// so where the prober stands is ambiguous (policy routing, several NATs).
var ErrSTUNDisagree = errors.New("the STUN servers disagree about this prober's public address")

// Answer is what one STUN server said.
type Answer struct {
	// Server is the server as configured.
	Server string `json:"server"`
	// Address is the public address it reported; invalid when none.
	Address netip.Addr `json:"address,omitzero"`
	// Port is the public port it reported.
	Port int `json:"port,omitempty"`
	// Software is the server's SOFTWARE attribute, when it sent one.
	Software string `json:"software,omitempty"`
	// Answered says a STUN response to our transaction came back, even one
	// without an address (an error response): the network works.
	Answered bool `json:"answered"`
	// Attempts is how many requests were sent.
	Attempts int `json:"attempts"`
	// RTT is the time from the last request sent to the answer.
	RTT time.Duration `json:"rtt_ns,omitempty"`
	// Err says why there is no address; nil when there is one.
	Err error `json:"-"`
	// Error is Err's text, for the report.
	Error string `json:"error,omitempty"`
}

// Discovery is what the STUN servers said about this prober's address.
type Discovery struct {
	// Address is the public address: the one most servers gave (the
	// earliest answer among equals); invalid when none answered.
	Address netip.Addr `json:"address,omitzero"`
	// Server is the server whose answer gave Address first.
	Server string `json:"server,omitempty"`
	// Answers has one entry per configured server, in config order.
	Answers []Answer `json:"answers"`
	// Consistent says every server that gave an address gave the same
	// one. False when none gave one.
	Consistent bool `json:"consistent"`
}

// NetworkOK reports whether any STUN server answered: evidence that the
// prober's own network carries traffic out and back.
func (d Discovery) NetworkOK() bool {
	for _, a := range d.Answers {
		if a.Answered {
			return true
		}
	}
	return false
}

// Addresses returns the distinct addresses the servers gave, in the order
// they were first given by Answers.
func (d Discovery) Addresses() []netip.Addr {
	var out []netip.Addr
	for _, a := range d.Answers {
		if a.Address.IsValid() && !containsAddr(out, a.Address) {
			out = append(out, a.Address)
		}
	}
	return out
}

func containsAddr(as []netip.Addr, a netip.Addr) bool {
	for _, b := range as {
		if a == b {
			return true
		}
	}
	return false
}

// Discover asks every server in parallel for this prober's public address,
// each with a Binding request on its own connected UDP socket, within
// timeout (DefaultTimeout when zero or less) and ctx. It waits for every
// server, since a disagreement is only seen by hearing everyone, but never
// past the deadline.
//
// It returns ErrNoSTUNAnswer (wrapped, with each server's failure) when no
// server gave an address, and ErrSTUNDisagree (wrapped, with who said what)
// when servers gave different ones. The Discovery lists every server's
// answer in both cases; Address is then the most common answer, which must
// not be taken as confirmed.
func Discover(ctx context.Context, servers []string, timeout time.Duration) (Discovery, error) {
	d := Discovery{Answers: make([]Answer, len(servers))}
	if len(servers) == 0 {
		return d, fmt.Errorf("%w: no STUN server is configured", ErrNoSTUNAnswer)
	}
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	var mu sync.Mutex
	var order []int // indexes of answers with an address, in arrival order
	var wg sync.WaitGroup
	for i, s := range servers {
		wg.Go(func() {
			a := ask(ctx, s)
			mu.Lock()
			defer mu.Unlock()
			d.Answers[i] = a
			if a.Address.IsValid() {
				order = append(order, i)
			}
		})
	}
	wg.Wait()

	if len(order) == 0 {
		var why []string
		for _, a := range d.Answers {
			why = append(why, a.Server+": "+a.Error)
		}
		return d, fmt.Errorf("%w (%s)", ErrNoSTUNAnswer, strings.Join(why, "; "))
	}
	count := map[netip.Addr]int{}
	for _, i := range order {
		count[d.Answers[i].Address]++
	}
	for _, i := range order {
		if a := d.Answers[i]; count[a.Address] > count[d.Address] {
			d.Address, d.Server = a.Address, a.Server
		}
	}
	d.Consistent = len(count) == 1
	if !d.Consistent {
		var said []string
		for _, a := range d.Answers {
			if a.Address.IsValid() {
				said = append(said, a.Server+" says "+a.Address.String())
			}
		}
		return d, fmt.Errorf("%w: %s", ErrSTUNDisagree, strings.Join(said, ", "))
	}
	return d, nil
}

// ask sends one server a Binding request, retransmitted on silence until
// ctx ends, and reads its answer.
func ask(ctx context.Context, server string) Answer {
	a := Answer{Server: server}
	fail := func(err error) Answer {
		a.Err, a.Error = err, err.Error()
		return a
	}
	host, port, err := parseServer(server)
	if err != nil {
		return fail(err)
	}
	req, err := stun.Build(stun.TransactionID, stun.BindingRequest, stun.Fingerprint)
	if err != nil {
		return fail(fmt.Errorf("building the request: %w", err))
	}
	total := DefaultTimeout
	if dl, ok := ctx.Deadline(); ok {
		total = time.Until(dl)
	}
	var sentAt, answeredAt time.Time
	obs, reply := udp.Do(ctx, probes.Target{Name: server, Host: host, Port: port, Transport: "udp"}, udp.Exchange{
		Sent:    "STUN Binding request",
		Waits:   udp.Backoff(RTO, MaxRTO, total),
		Silence: probes.Filtered,
		Payload: func(int) []byte {
			sentAt = time.Now()
			return req.Raw
		},
		Accept: func(b []byte) bool {
			if _, err := response(b, req.TransactionID); err != nil {
				return false // not ours, or not STUN: keep waiting
			}
			answeredAt = time.Now()
			return true
		},
	})
	a.Attempts = obs.Attempts
	if reply == nil {
		msg := obs.Outcome
		if obs.Detail != "" && obs.State != probes.Filtered {
			msg += ": " + obs.Detail
		}
		return fail(errors.New(msg))
	}
	a.Answered, a.RTT = true, answeredAt.Sub(sentAt)
	m, _ := response(reply, req.TransactionID)
	var sw stun.Software
	if sw.GetFrom(m) == nil {
		a.Software = sw.String()
	}
	if m.Type == stun.BindingError {
		var code stun.ErrorCodeAttribute
		if code.GetFrom(m) == nil {
			return fail(fmt.Errorf("the server answered with error %d %s", code.Code, code.Reason))
		}
		return fail(errors.New("the server answered with an error response"))
	}
	ip, mport, err := mapped(m)
	if err != nil {
		return fail(err)
	}
	a.Address, a.Port = ip, mport
	return a
}

// response decodes b as the Binding response to transaction id: a success
// or error response, whose FINGERPRINT, when present, is right.
func response(b []byte, id [stun.TransactionIDSize]byte) (*stun.Message, error) {
	if !stun.IsMessage(b) {
		return nil, errors.New("not a STUN message")
	}
	m := &stun.Message{Raw: append([]byte{}, b...)}
	if err := m.Decode(); err != nil {
		return nil, err
	}
	if m.TransactionID != id {
		return nil, errors.New("another transaction's message")
	}
	if m.Type != stun.BindingSuccess && m.Type != stun.BindingError {
		return nil, fmt.Errorf("a %s, not a Binding response", m.Type)
	}
	if m.Contains(stun.AttrFingerprint) {
		if err := stun.Fingerprint.Check(m); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// mapped reads the reflexive address: XOR-MAPPED-ADDRESS (RFC 8489), or
// MAPPED-ADDRESS from an RFC 3489 server.
func mapped(m *stun.Message) (netip.Addr, int, error) {
	var ip net.IP
	var port int
	var x stun.XORMappedAddress
	if err := x.GetFrom(m); err == nil {
		ip, port = x.IP, x.Port
	} else {
		var ma stun.MappedAddress
		if err := ma.GetFrom(m); err != nil {
			return netip.Addr{}, 0, errors.New("the answer carries no mapped address")
		}
		ip, port = ma.IP, ma.Port
	}
	addr, ok := netip.AddrFromSlice(ip)
	if !ok {
		return netip.Addr{}, 0, errors.New("the answer's mapped address is malformed")
	}
	return addr.Unmap(), port, nil
}

// parseServer reads a configured server: "host", "host:port", "[v6]:port",
// a bare IPv6 address, each optionally with a "stun:" scheme (RFC 7064).
// The port defaults to 3478. Only plain STUN over UDP is spoken.
func parseServer(s string) (string, int, error) {
	orig := s
	s = strings.TrimSpace(s)
	// "stun:3478" is the host stun, port 3478: a port is all digits, and
	// a host name never is.
	if scheme, rest, ok := strings.Cut(s, ":"); ok && !allDigits(rest) {
		switch strings.ToLower(scheme) {
		case "stun":
			s = rest
		case "stuns", "turn", "turns":
			return "", 0, fmt.Errorf("STUN server %q: only stun: servers over UDP are supported", orig)
		}
	}
	if strings.ContainsAny(s, "?/@ \t") {
		return "", 0, fmt.Errorf("STUN server %q: want host or host:port", orig)
	}
	host, port := s, DefaultPort
	if a, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")); err == nil && a.Zone() == "" {
		host = a.String()
	} else if strings.Contains(s, ":") {
		h, p, err := net.SplitHostPort(s)
		if err != nil {
			return "", 0, fmt.Errorf("STUN server %q: want host or host:port", orig)
		}
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 || p != strconv.Itoa(n) {
			return "", 0, fmt.Errorf("STUN server %q: port %q is not a number from 1 to 65535", orig, p)
		}
		host, port = h, n
	}
	if a, err := netip.ParseAddr(host); err == nil {
		if a.Zone() != "" {
			return "", 0, fmt.Errorf("STUN server %q: an address with a zone is not supported", orig)
		}
		return a.String(), port, nil
	}
	if !validName(host) {
		return "", 0, fmt.Errorf("STUN server %q: %q is neither an IP address nor a host name", orig, host)
	}
	return host, port, nil
}

// validName accepts DNS names made of letters, digits, '-', '_' and dots,
// with no empty label (a trailing dot is allowed) and a last label that is
// not all digits (RFC 3696 §2), so a name is never taken for a port.
func validName(h string) bool {
	h = strings.TrimSuffix(h, ".")
	if h == "" || len(h) > 253 {
		return false
	}
	if i := strings.LastIndex(h, "."); allDigits(h[i+1:]) {
		return false
	}
	for label := range strings.SplitSeq(h, ".") {
		if label == "" || len(label) > 63 {
			return false
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
				return false
			}
		}
	}
	return true
}

func allDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}
