// Package udp sends a datagram on a connected UDP socket and classifies what
// comes back. It is the UDP half that the SIP, RTP and STUN probes share.
//
// Only a connected UDP socket is told of ICMP errors: Linux delivers an ICMP
// port unreachable as ECONNREFUSED on the next read or write, host or admin
// prohibited as EHOSTUNREACH, net prohibited as ENETUNREACH and IPv6 admin
// prohibited as EACCES. So a reply means open, port unreachable means closed
// (the packet passed every firewall), a prohibited code means filtered, and
// silence means whatever the caller says silence means: filtered for a
// protocol that owes a reply (SIP), open|filtered for one that does not (RTP).
package udp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"strconv"
	"time"

	"probe/probes"
)

// Exchange describes one request and its retransmissions.
type Exchange struct {
	// Payload returns the datagram for the given attempt (0-based).
	Payload func(attempt int) []byte
	// Accept reports whether a received datagram answers the request. Nil
	// accepts any datagram.
	Accept func(reply []byte) bool
	// Waits lists how long to wait for a reply after each send; its length
	// is the number of sends. The context's deadline cuts it short.
	Waits []time.Duration
	// Silence is the state that silence after the last wait stands for.
	Silence probes.State
	// Sent names what is sent, for the evidence ("SIP OPTIONS").
	Sent string
	// Local, when set, is told the connected socket's local address before
	// the first send, for protocols that name it in the request (SIP's Via).
	Local func(addr net.Addr)
}

// Do runs the exchange against t and returns the observation and the reply
// datagram, if any.
//
// Nothing is sent once ctx is done: an exchange that could not send at all
// comes back with Error probes.ErrCanceled, never as silence, because
// silence is only evidence when something was sent.
func Do(ctx context.Context, t probes.Target, ex Exchange) (probes.Observation, []byte) {
	obs := probes.Start(ex.Sent)
	obs.Attempts = 0
	if len(ex.Waits) == 0 || ex.Payload == nil {
		obs = obs.Settle(t, nil)
		obs.State, obs.Error, obs.Outcome = probes.NoState, probes.ErrInternal, "the exchange has nothing to send"
		return obs, nil
	}
	if ctx.Err() != nil {
		return notSent(obs, t), nil
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, t.Network("udp"), net.JoinHostPort(t.Host, strconv.Itoa(t.Port)))
	if err != nil {
		if ctx.Err() != nil {
			return notSent(obs, t), nil
		}
		return obs.Settle(t, err), nil
	}
	defer conn.Close()
	if ex.Local != nil {
		ex.Local(conn.LocalAddr())
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.SetReadDeadline(time.Now()) })
	defer stop()

	buf := make([]byte, MaxDatagram)
	for attempt, wait := range ex.Waits {
		if ctx.Err() != nil {
			break
		}
		obs.Attempts++
		if _, err := conn.Write(ex.Payload(attempt)); err != nil {
			// An ICMP error to an earlier send is reported here, on the
			// next write, when it came after that send's wait.
			return Settle(obs, t, err), nil
		}
		deadline, last := time.Now().Add(wait), false
		if d, ok := ctx.Deadline(); ok && !d.After(deadline) {
			// The context ends this wait. Its own timer may fire a
			// moment after the read deadline does, so stop here rather
			// than send once more after the deadline.
			deadline, last = d, true
		}
		_ = conn.SetReadDeadline(deadline)
		for {
			n, err := conn.Read(buf)
			if err == nil {
				if ex.Accept != nil && !ex.Accept(buf[:n]) {
					continue // a stray or late datagram: keep waiting
				}
				obs = obs.Settle(t, nil)
				obs.Outcome = "reply received"
				return obs, append([]byte(nil), buf[:n]...)
			}
			if errors.Is(err, os.ErrDeadlineExceeded) {
				break
			}
			return Settle(obs, t, err), nil
		}
		if last {
			break
		}
	}
	if obs.Attempts == 0 {
		return notSent(obs, t), nil
	}
	if errors.Is(ctx.Err(), context.Canceled) {
		return obs.Settle(t, ctx.Err()), nil
	}
	obs = obs.Settle(t, nil)
	obs.State = ex.Silence
	obs.Outcome = fmt.Sprintf("no reply to %d sends", obs.Attempts)
	if obs.Attempts == 1 {
		obs.Outcome = "no reply to 1 send"
	}
	return obs, nil
}

// MaxDatagram is the largest UDP payload read; nothing larger fits in an
// IPv4 or (non-jumbo) IPv6 datagram.
const MaxDatagram = 65535

// Settle completes obs from the error a read or write on a connected UDP
// socket ended with, naming the ICMP answer the error stands for: an
// ECONNREFUSED on UDP is an ICMP port unreachable, not a TCP refusal.
func Settle(obs probes.Observation, t probes.Target, err error) probes.Observation {
	obs = obs.Settle(t, err)
	if obs.State == probes.Closed {
		obs.Outcome = "ICMP port unreachable"
	}
	return obs
}

func notSent(obs probes.Observation, t probes.Target) probes.Observation {
	obs = obs.Settle(t, nil)
	obs.State, obs.Error, obs.Outcome = probes.NoState, probes.ErrCanceled, "not sent: the run ended first"
	return obs
}

// Backoff returns the RFC 3261 retransmission waits for a non-INVITE
// request over UDP: T1, doubling up to T2, that fit within total; the last
// wait is cut so the waits add up to total exactly. A total of zero or less
// gives no waits (nothing is sent); a t1 of zero or less gives one wait of
// total (one send, no retransmission); a t2 below t1 counts as t1.
func Backoff(t1, t2, total time.Duration) []time.Duration {
	if total <= 0 {
		return nil
	}
	if t1 <= 0 {
		return []time.Duration{total}
	}
	t2 = max(t2, t1)
	var waits []time.Duration
	var spent time.Duration
	for w := t1; spent < total; {
		if spent+w > total {
			w = total - spent
		}
		waits = append(waits, w)
		spent += w
		if w*2 <= t2 {
			w *= 2
		} else {
			w = t2
		}
	}
	return waits
}

// AtMost keeps the first sends waits of a schedule, the last one lengthened
// by the waits it drops, so the exchange sends at most sends times and
// still listens as long: a reply to the last send may come until the end.
// A sends of zero or less, or one the schedule already fits, keeps it whole.
func AtMost(waits []time.Duration, sends int) []time.Duration {
	if sends <= 0 || len(waits) <= sends {
		return waits
	}
	out := slices.Clone(waits[:sends])
	for _, w := range waits[sends:] {
		out[sends-1] += w
	}
	return out
}
