package kinds

import (
	"context"
	"fmt"

	"probe/probes"
	"probe/probes/udpsweep"
)

func init() {
	Register(&Kind{
		Name:       "udp",
		Transports: []string{"udp"},
		// The payloads that make a service answer, once to each port:
		// cheap enough to probe every port of a range.
		Sweeps: true,
		// An answer is open, a port unreachable closed, silence
		// open|filtered; and since Linux sends a peer 6 ICMP errors at
		// once, then one a second, most closed ports of a sweep are
		// silent too. So the kind decides only whether something answered.
		Words:        []string{"open", "not_open"},
		SweepSends:   udpsweep.Table(),
		SweepSilence: "open|filtered: no answer to any payload, and no ICMP error. A firewall's drop, a closed port whose ICMP port unreachable the target's rate limit withheld (Linux sends a peer 6 at once, then one a second), or a service that ignores every payload sent: the sweep cannot tell them apart",
		// Listed ports: one connected socket each.
		Run: func(ctx context.Context, t probes.Target, _ Params) probes.Observation {
			return udpsweep.Probe(ctx, t)
		},
		// A range: every port from one socket, at the target's rate,
		// each listened for at least the timeout after its send.
		SweepPorts: func(ctx context.Context, t probes.Target, ports []int, p Params) probes.Ports {
			return udpsweep.Sweep(ctx, t, ports, udpsweep.SweepOptions{Pace: p.Pace, Wait: p.Timeout, Refused: func() {
				if p.ICMP != nil {
					p.ICMP.Spend()
				}
			}})
		},
		// One send of each payload and one answer: the engine waits the
		// target's measured round-trip timeout, not the whole timeout.
		OneRoundTrip: func(Params) bool { return true },
		Facts:        func() any { return new(udpsweep.Facts) },
		Changes:      udpChanges,
	})
}

// udpChanges reports a port that still answers, but says something else
// (another SIP User-Agent, a STUN server's new SOFTWARE).
func udpChanges(old, new any) []FactChange {
	of, _ := old.(*udpsweep.Facts)
	nf, _ := new.(*udpsweep.Facts)
	if of == nil || nf == nil || of.Said == "" || nf.Said == "" || of.Said == nf.Said {
		return nil
	}
	return []FactChange{{Kind: "udp-answer-changed", Old: of.Said, New: nf.Said, Matters: true,
		Detail: fmt.Sprintf("answers otherwise: %q → %q", of.Said, nf.Said)}}
}
