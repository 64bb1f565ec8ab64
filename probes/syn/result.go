package syn

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"syscall"
	"time"

	"probe/probes"
)

// Result is what a scan saw of one target: per port, a byte of answer, a
// byte of SYNs sent, four bytes for when the last SYN left and four for its
// round trip, whatever the number of ports (640 KiB per target, and 64 KiB
// more once a send fails).
type Result struct {
	addr  netip.Addr
	start time.Time

	mu    sync.Mutex
	want  [65536 / 8]byte // the ports asked for, a bit each
	what  []answer        // by port
	sent  []uint8         // by port: SYNs sent
	at    []uint32        // by port: µs after start the last SYN left
	rtt   []uint32        // by port: µs from that SYN to its answer
	waits []time.Duration // how long each pass's last SYN was waited for
	// sendErr is the first error a send failed with (no route, a local
	// firewall); the ports it failed for have sendFailed.
	sendErr error
	failed  []bool
	// finished says the scan of this target ran to its end: a port
	// without an answer then is a silence, not a scan cut short.
	finished bool
	// deafErr is why the answers stopped being read (a raw socket
	// failed mid-scan): a port without an answer then is no silence.
	deafErr error
}

// deaf records that answers stopped being read, for err.
func (r *Result) deaf(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.deafErr == nil {
		r.deafErr = err
	}
}

func newResult(addr netip.Addr, ports []int, start time.Time) *Result {
	r := &Result{
		addr: addr, start: start,
		what: make([]answer, 65536), sent: make([]uint8, 65536),
		at: make([]uint32, 65536), rtt: make([]uint32, 65536),
	}
	for _, p := range ports {
		if p > 0 && p < 65536 {
			r.want[p/8] |= 1 << (p % 8)
		}
	}
	return r
}

func (r *Result) wanted(port int) bool {
	return port > 0 && port < 65536 && r.want[port/8]&(1<<(port%8)) != 0
}

// Addr is the target's address.
func (r *Result) Addr() netip.Addr { return r.addr }

// noteSent records a SYN to port leaving now.
func (r *Result) noteSent(port uint16, now time.Time) {
	r.mu.Lock()
	r.sent[port]++
	r.at[port] = uint32(now.Sub(r.start) / time.Microsecond)
	r.mu.Unlock()
}

// noteFailed records that the SYN to port could not be sent.
func (r *Result) noteFailed(port uint16, err error) {
	r.mu.Lock()
	if r.failed == nil {
		r.failed = make([]bool, 65536)
	}
	r.failed[port] = true
	if r.sendErr == nil {
		r.sendErr = err
	}
	r.mu.Unlock()
}

// note records an answer to port that came at now; the first answer
// stands. It returns the round trip, and whether it is a sample of the
// path's round-trip time: the first answer to the first SYN (an answer
// after a resend may answer either SYN: Karn).
func (r *Result) note(port uint16, what answer, now time.Time) (time.Duration, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.what[port] != noAnswer || r.sent[port] == 0 {
		return 0, false
	}
	rtt := now.Sub(r.start) - time.Duration(r.at[port])*time.Microsecond
	r.what[port] = what
	r.rtt[port] = uint32(max(rtt, time.Microsecond) / time.Microsecond)
	return rtt, r.sent[port] == 1
}

// silent reports whether port is still unanswered and its SYN sent.
func (r *Result) silent(port uint16) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.what[port] == noAnswer && r.sent[port] > 0 && (r.failed == nil || !r.failed[port])
}

// Observation is what the scan saw of port, in the words of a TCP probe:
// a SYN-ACK is open, a RST or an ICMP port unreachable closed, an ICMP
// prohibited or unreachable filtered, two SYNs unanswered a silence.
func (r *Result) Observation(port int) probes.Observation {
	obs := probes.Observation{Sent: "TCP SYN (half-open)"}
	if !r.wanted(port) {
		obs.Error, obs.Outcome = probes.ErrInternal, "port not in the scan"
		return obs
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	what, sent := r.what[port], int(r.sent[port])
	obs.Attempts = sent
	obs.Started = r.start.Add(time.Duration(r.at[port]) * time.Microsecond)
	rtt := time.Duration(r.rtt[port]) * time.Microsecond
	switch {
	case r.failed != nil && r.failed[port]:
		c := sendFailure(r.sendErr)
		obs.State, obs.Error, obs.Outcome, obs.Detail = c.State, c.Error, c.Outcome, r.sendErr.Error()
	case sent == 0 || what == noAnswer && !r.finished:
		obs.Error, obs.Outcome = probes.ErrCanceled, "canceled"
	case what == noAnswer && r.deafErr != nil:
		obs.Error, obs.Outcome, obs.Detail = probes.ErrLocal, "no answer heard, but the scan had stopped reading its raw socket", r.deafErr.Error()
	case what == synAck:
		obs.State, obs.Outcome, obs.RTT, obs.Duration = probes.Open, "SYN-ACK (the handshake was not completed)", rtt, rtt
	case what == reset:
		obs.State, obs.Outcome, obs.RTT, obs.Duration = probes.Closed, "RST: nothing listens", rtt, rtt
	case what >= icmpUnreachable:
		obs.State, obs.Outcome = icmpState(uint8(what - icmpUnreachable))
		obs.ICMPError, obs.Duration = true, rtt
		if obs.State == probes.Closed {
			obs.RTT = rtt
		}
	default:
		obs.State = probes.Filtered
		obs.Duration = r.waits[min(sent, len(r.waits))-1]
		obs.Outcome = silenceWords(r.waits[:min(sent, len(r.waits))])
	}
	return obs
}

// silenceWords says how long each unanswered SYN was waited for.
func silenceWords(waits []time.Duration) string {
	if len(waits) == 1 {
		return fmt.Sprintf("no answer to a SYN within %s", waits[0].Round(time.Millisecond))
	}
	ws := make([]string, len(waits))
	for i, w := range waits {
		ws[i] = w.Round(time.Millisecond).String()
	}
	return fmt.Sprintf("no answer to %d SYNs, waited %s", len(waits), strings.Join(ws, " then "))
}

// icmpState is the state an ICMP destination unreachable of code gives a
// SYN's port, as Linux's TCP maps it onto a connect's error (port
// unreachable is ECONNREFUSED: closed; the rest are filtered).
func icmpState(code uint8) (probes.State, string) {
	switch code {
	case 3:
		return probes.Closed, "ICMP port unreachable"
	case 0, 6, 9, 11:
		return probes.Filtered, fmt.Sprintf("ICMP network unreachable or prohibited (code %d)", code)
	case 1, 7, 10, 12, 13, 14, 15:
		return probes.Filtered, fmt.Sprintf("ICMP host unreachable or prohibited (code %d)", code)
	}
	return probes.Filtered, fmt.Sprintf("ICMP destination unreachable (code %d)", code)
}

// sendFailure classifies an error sending a SYN: nothing went on the wire,
// so a routing error is the prober's (no route), never the target's.
func sendFailure(err error) probes.Classification {
	if errors.Is(err, syscall.ENETUNREACH) || errors.Is(err, syscall.EHOSTUNREACH) {
		return probes.Classification{Error: probes.ErrNoRoute, Outcome: "no route from the prober"}
	}
	c := probes.Classify(err)
	if c.State != probes.NoState {
		c = probes.Classification{Error: probes.ErrLocal, Outcome: "the SYN could not be sent"}
	}
	return c
}

// Answered lists the ports that answered open or closed (a SYN-ACK, a RST,
// an ICMP port unreachable), in order: the target's own stack spoke.
func (r *Result) Answered() []int {
	return r.ports(func(a answer) bool { return a == synAck || a == reset || a == icmpUnreachable+3 })
}

// Open lists the ports that answered with a SYN-ACK, in order.
func (r *Result) Open() []int { return r.ports(func(a answer) bool { return a == synAck }) }

// ICMP lists the ports answered by an ICMP error, in order: errors the
// target or a router paid for from its per-peer ICMP budget.
func (r *Result) ICMP() []int { return r.ports(func(a answer) bool { return a >= icmpUnreachable }) }

func (r *Result) ports(keep func(answer) bool) []int {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []int
	for port, what := range r.what {
		if keep(what) {
			out = append(out, port)
		}
	}
	return out
}
