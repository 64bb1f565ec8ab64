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
}

// Do runs the exchange against t and returns the observation and the reply
// datagram, if any.
func Do(ctx context.Context, t probes.Target, ex Exchange) (probes.Observation, []byte) {
	obs := probes.Start(ex.Sent)
	obs.Attempts = 0
	var d net.Dialer
	conn, err := d.DialContext(ctx, "udp", net.JoinHostPort(t.Host, strconv.Itoa(t.Port)))
	if err != nil {
		return obs.Settle(t, err), nil
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { _ = conn.SetReadDeadline(time.Now()) })
	defer stop()

	buf := make([]byte, 65535)
	for attempt, wait := range ex.Waits {
		if ctx.Err() != nil {
			break
		}
		obs.Attempts++
		if _, err := conn.Write(ex.Payload(attempt)); err != nil {
			return obs.Settle(t, err), nil
		}
		deadline := time.Now().Add(wait)
		if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
			deadline = d
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
			obs = obs.Settle(t, err)
			if obs.State == probes.Closed {
				obs.Outcome = "ICMP port unreachable"
			}
			return obs, nil
		}
	}
	if errors.Is(ctx.Err(), context.Canceled) {
		return obs.Settle(t, ctx.Err()), nil
	}
	obs = obs.Settle(t, nil)
	obs.State = ex.Silence
	obs.Outcome = fmt.Sprintf("no reply to %d sends", obs.Attempts)
	return obs, nil
}

// Backoff returns the RFC 3261 retransmission waits for a non-INVITE
// request over UDP: T1, doubling up to T2, that fit within total.
func Backoff(t1, t2, total time.Duration) []time.Duration {
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
