package sip

import (
	"context"
	"fmt"
	"net"
	"time"

	"probe/probes"
	"probe/probes/udp"
)

// probeUDP sends the OPTIONS on a connected UDP socket, retransmitting it on
// RFC 3261's schedule within ctx's deadline.
func probeUDP(ctx context.Context, t probes.Target, opt Options) probes.Observation {
	t1 := opt.t1
	if t1 <= 0 {
		t1 = T1
	}
	deadline, _ := ctx.Deadline()
	waits := udp.AtMost(udp.Backoff(t1, T2, time.Until(deadline)), opt.MaxSends)

	facts := &Facts{Transport: "udp"}
	var req request
	var lastSend, answeredAt time.Time
	var got, provisional *answer
	obs, _ := udp.Do(ctx, t, udp.Exchange{
		Sent:  "SIP OPTIONS",
		Waits: waits,
		Local: func(local net.Addr) {
			req = newRequest(t, local, userAgent(opt))
			facts.RequestLine, facts.Via = req.line, req.via
		},
		Payload: func(int) []byte {
			lastSend = time.Now()
			return req.raw
		},
		Accept: func(b []byte) bool {
			a, ok := parseAnswer(b, req.branch)
			if !ok {
				facts.Ignored++
				return false
			}
			answeredAt = time.Now()
			if !a.final() {
				// Keep waiting for the final answer, but remember that
				// the server spoke.
				provisional = &a
				return false
			}
			got = &a
			return true
		},
		Silence: probes.Filtered,
	})
	if got == nil && provisional != nil && obs.State == probes.Filtered {
		// Only a provisional answer came: the server answered all the same.
		got = provisional
		obs.State, obs.Error, obs.Detail = probes.Open, "", ""
	}
	if got != nil {
		facts.record(*got)
		facts.RTT = answeredAt.Sub(lastSend)
		obs.Outcome = fmt.Sprintf("SIP %d %s", got.status, got.reason)
	} else if obs.State == probes.Filtered && facts.Ignored > 0 {
		obs.SilenceDoubt = fmt.Sprintf("%d datagrams came back that did not answer this request", facts.Ignored)
	}
	if facts.RequestLine != "" {
		obs.Facts = facts
	}
	if obs.Attempts > 1 {
		obs.Sent = fmt.Sprintf("SIP OPTIONS x%d", obs.Attempts)
	}
	return obs
}
