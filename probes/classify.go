package probes

import (
	"context"
	"errors"
	"net"
	"os"
	"syscall"
	"time"
)

// Classification is what a network error says about the port, or about the
// prober when the error was the prober's own.
type Classification struct {
	State   State      // the port's state, or NoState
	Error   ErrorClass // set when State is NoState
	Outcome string     // a few words for the report
}

// Classify maps an error from dialling, writing or reading to a state, using
// errors.Is on the system's error numbers and never the error's text.
//
// The mapping follows what Linux reports for each answer on the wire:
//   - ECONNREFUSED: a TCP RST or an ICMP port unreachable → closed.
//   - EHOSTUNREACH: ICMP host unreachable or host/admin prohibited → filtered.
//   - ENETUNREACH: ICMP net unreachable/prohibited → filtered; but the same
//     number comes from a local routing table with no route, which the caller
//     tells apart with LocalRouteExists.
//   - EACCES: IPv6 administratively prohibited → filtered.
//   - EPERM: a local firewall refused to send → the prober's own error.
//   - a timeout → filtered (silence).
func Classify(err error) Classification {
	var dnsErr *net.DNSError
	var addrErr *net.AddrError
	switch {
	case err == nil:
		return Classification{State: Open, Outcome: "answered"}
	case errors.Is(err, context.Canceled):
		return Classification{Error: ErrCanceled, Outcome: "canceled"}
	case errors.As(err, &dnsErr):
		if dnsErr.IsTimeout {
			return Classification{Error: ErrResolve, Outcome: "name lookup timed out"}
		}
		return Classification{Error: ErrResolve, Outcome: "name did not resolve"}
	case errors.As(err, &addrErr):
		// The name resolved, but to no address of the family the row
		// asked for (a tcp6 dial of a name with A records only): nothing
		// was sent.
		return Classification{Error: ErrResolve, Outcome: "no address of the asked family: " + addrErr.Err}
	case errors.Is(err, syscall.ECONNREFUSED):
		return Classification{State: Closed, Outcome: "connection refused"}
	case errors.Is(err, syscall.EHOSTUNREACH):
		return Classification{State: Filtered, Outcome: "ICMP host unreachable or prohibited"}
	case errors.Is(err, syscall.ENETUNREACH):
		return Classification{State: Filtered, Outcome: "ICMP network unreachable or prohibited"}
	case errors.Is(err, syscall.EACCES):
		return Classification{State: Filtered, Outcome: "ICMP administratively prohibited"}
	case errors.Is(err, syscall.EPERM):
		return Classification{Error: ErrLocal, Outcome: "a local firewall refused to send"}
	case errors.Is(err, syscall.EADDRNOTAVAIL), errors.Is(err, syscall.EMFILE),
		errors.Is(err, syscall.ENFILE), errors.Is(err, syscall.ENOBUFS):
		return Classification{Error: ErrLocal, Outcome: "no local resources for the probe"}
	case isTimeout(err):
		return Classification{State: Filtered, Outcome: "no answer before the timeout"}
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return Classification{Error: ErrProtocol, Outcome: "connection reset by peer"}
	}
	return Classification{Error: ErrInternal, Outcome: "unclassified error"}
}

func isTimeout(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// LocalRouteExists reports whether this host has a route to t's host, over
// t's family. A UDP connect consults the routing table without sending a
// packet, so it tells a local "no route" from an ICMP "network unreachable"
// that came back.
func LocalRouteExists(t Target) bool {
	c, err := net.Dial(t.Network("udp"), net.JoinHostPort(t.Host, "9"))
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// Start begins an observation of a probe that sends what sent says.
func Start(sent string) Observation {
	return Observation{Started: time.Now(), Sent: sent, Attempts: 1}
}

// Settle completes an observation from the error the exchange ended with
// (nil meaning the service answered) and stamps its duration.
func (o Observation) Settle(t Target, err error) Observation {
	c := Classify(err)
	if c.State == Filtered && errors.Is(err, syscall.ENETUNREACH) && !LocalRouteExists(t) {
		// ENETUNREACH is also what the local routing table says when it
		// has no route at all; nothing went on the wire then.
		c = Classification{Error: ErrNoRoute, Outcome: "no route from the prober"}
	}
	o.State, o.Error, o.Outcome = c.State, c.Error, c.Outcome
	o.ICMPError = c.State == Filtered && !isTimeout(err) ||
		c.State == Closed && t.Transport == "udp" // ECONNREFUSED on UDP: port unreachable
	if err != nil {
		o.Detail = err.Error()
	}
	o.Duration = time.Since(o.Started)
	if t.Transport == "tcp" && o.RTT == 0 && o.Answered() {
		// Every TCP probe settles first on its dial's outcome: a
		// handshake or a RST, one round trip after the SYN left.
		o.RTT = o.Duration
	}
	return o
}
