// Package udpsweep is the probe of UDP's "nothing else is open": to one
// port, the datagrams that make a service there answer, and what the
// answer said.
//
// UDP has no handshake: a port whose service ignores what it is sent looks
// exactly like a port a firewall drops. So each port is sent protocol
// payloads (payloads.go): its well-known protocol's alone on a well-known
// port (DNS on 53, NTP on 123, STUN on 3478, SIP on 5060-5099, ...), and
// the generic set elsewhere (SIP OPTIONS, a STUN binding request, a DNS
// query: the services a VoIP host runs, on whatever port someone put them).
// Each payload's parser recognises a valid answer and says what it said.
//
// One call opens one connected UDP socket (only a connected socket is told
// of ICMP errors) and sends each payload once, never again: an answer is
// open, whatever it says; ICMP port unreachable is closed; a prohibited
// code is filtered; silence is open|filtered. Linux rate-limits the ICMP
// errors a host sends one peer (6 at once, then one a second), so most
// closed ports of a sweep look silent: the sweep can tell an answering port
// from the rest, not a closed port from a filtered one. A service that
// ignores every payload stays invisible.
//
// It never sends a credential: no SNMP community, no SIP REGISTER, no
// authentication of any kind.
package udpsweep

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"probe/probes"
	"probe/probes/tcp"
	"probe/probes/udp"
)

// DefaultWait bounds a probe whose context has no deadline. The engine
// always sets one (the target's measured round-trip timeout, for a sweep).
const DefaultWait = time.Second

// Facts are what was sent to one port and what its answer said.
type Facts struct {
	// Sent names the payloads sent, in order.
	Sent []string `json:"sent"`
	// Answered names the payload whose parser recognised the answer;
	// empty when none did (the port answered something else).
	Answered string `json:"answered,omitempty"`
	// Said is what the answer said, in a few words ("SIP/2.0 200 OK;
	// User-Agent: FreeSWITCH"); empty when nothing answered.
	Said string `json:"said,omitempty"`
	// Bytes is the answer's length.
	Bytes int `json:"bytes,omitempty"`
}

// unrecognisedPrefix is how much of an answer no parser knows is shown.
const unrecognisedPrefix = 48

// Probe sends t's payloads (For(t.Port)) to t and waits for an answer until
// ctx's deadline.
func Probe(ctx context.Context, t probes.Target) probes.Observation {
	return probe(ctx, t, For(t.Port))
}

func probe(ctx context.Context, t probes.Target, payloads []*Payload) probes.Observation {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultWait)
		defer cancel()
	}
	facts := &Facts{}
	for _, p := range payloads {
		facts.Sent = append(facts.Sent, p.Name)
	}
	obs := probes.Start(strings.Join(facts.Sent, ", "))
	if ctx.Err() != nil {
		return notSent(obs, t)
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, t.Network("udp"), net.JoinHostPort(t.Host, strconv.Itoa(t.Port)))
	if err != nil {
		if ctx.Err() != nil {
			return notSent(obs, t)
		}
		return obs.Settle(t, err)
	}
	defer conn.Close()
	obs.Facts = facts
	stop := context.AfterFunc(ctx, func() { _ = conn.SetReadDeadline(time.Now()) })
	defer stop()

	saids := make([]func([]byte) (string, bool), len(payloads))
	for i, p := range payloads {
		datagram, said := p.New(t, conn.LocalAddr())
		saids[i] = said
		if _, err := conn.Write(datagram); err != nil {
			// A port unreachable drawn by an earlier payload comes back
			// here: the rest need not go.
			return udp.Settle(obs, t, err)
		}
	}
	deadline, _ := ctx.Deadline()
	_ = conn.SetReadDeadline(deadline)
	buf := make([]byte, udp.MaxDatagram)
	n, err := conn.Read(buf)
	switch {
	case err == nil:
		obs = obs.Settle(t, nil)
		obs.Outcome = facts.record(payloads, saids, buf[:n])
		return obs
	case errors.Is(err, os.ErrDeadlineExceeded) && errors.Is(ctx.Err(), context.Canceled):
		return obs.Settle(t, context.Canceled)
	case errors.Is(err, os.ErrDeadlineExceeded):
		obs = obs.Settle(t, nil)
		obs.State = probes.OpenFiltered
		obs.Outcome = fmt.Sprintf("no reply to %d datagrams", len(payloads))
		if len(payloads) == 1 {
			obs.Outcome = "no reply to 1 datagram"
		}
		return obs
	}
	return udp.Settle(obs, t, err)
}

// record notes what the answer reply said, by the first parser that knows
// it, and returns it in words.
func (f *Facts) record(payloads []*Payload, saids []func([]byte) (string, bool), reply []byte) string {
	f.Bytes = len(reply)
	for i, said := range saids {
		if s, ok := said(reply); ok {
			f.Answered, f.Said = payloads[i].Name, s
			return s
		}
	}
	shown := reply[:min(len(reply), unrecognisedPrefix)]
	f.Said = fmt.Sprintf("a %d-byte reply no payload's parser recognises: %q", len(reply), tcp.Printable(shown))
	return f.Said
}

func notSent(obs probes.Observation, t probes.Target) probes.Observation {
	obs = obs.Settle(t, nil)
	obs.State, obs.Error, obs.Outcome = probes.NoState, probes.ErrCanceled, "not sent: the run ended first"
	return obs
}
