package udp

import "time"

// ICMPLimit is a target's per-destination limiter of ICMP errors, as a
// prober assumes it to be: a bucket of Burst tokens, refilled by one token
// each Interval, one token spent per ICMP error sent. Linux keeps one such
// bucket per peer address (inet_peer_xrlim_allow), and every UDP probe of
// one target from one prober draws on it: a refusal the bucket could not pay
// for is silence. This is the one home of that model: the engine's pacing of
// single UDP probes and ranges, and the RTP probe's replay, all use it.
type ICMPLimit struct {
	// Burst is how many errors the bucket holds when full.
	Burst int
	// Interval is how long the bucket takes to earn one token back;
	// zero or less means no limit. With a Burst of zero or less and a
	// positive Interval, the bucket is always empty.
	Interval time.Duration
}

// Linux's default: net.ipv4.icmp_ratelimit = 1000 ms and a burst factor of
// 6 (XRLIM_BURST_FACTOR). Measured here across two namespaces: 100 probes at
// once drew 6 refusals; one every 100 ms drew 8 in 2.2 s.
//
// ICMPv6's errors have a bucket of their own, net.ipv6.icmp.ratelimit,
// with the same burst: 100 ms in a new namespace of this machine's kernel
// (6.18), where 40 probes at once drew 6 refusals and one every 20 ms drew
// 26 in 2 s. This limit, IPv4's, is assumed over IPv6 too: the slower
// bucket, so over IPv6 the pacing is slower than the host allows, and a
// silence it might explain is doubted where the faster bucket would have
// answered (inconclusive, never a pass).
const (
	ICMPBurst    = 6
	ICMPInterval = time.Second
)

// LinuxICMPLimit is Linux's default limit.
var LinuxICMPLimit = ICMPLimit{Burst: ICMPBurst, Interval: ICMPInterval}

// Limited reports whether the limit limits anything.
func (r ICMPLimit) Limited() bool { return r.Interval > 0 }

// EarnBack is how long the bucket takes to earn back n spent tokens, at
// most a full bucket's worth.
func (r ICMPLimit) EarnBack(n int) time.Duration {
	if !r.Limited() {
		return 0
	}
	return time.Duration(min(n, max(r.Burst, 0))) * r.Interval
}

// Replay replays the bucket over sends made at the offsets at (in order)
// and returns the tokens it held just before each send. spent[i] says
// whether send i may have cost a token: an ICMP error seen certainly did, a
// reply certainly did not, and for the rest (silence, an unfinished wait)
// the caller decides. A send past the end of spent is counted as spent.
func (r ICMPLimit) Replay(at []time.Duration, spent []bool) []float64 {
	out := make([]float64, len(at))
	if !r.Limited() {
		for i := range out {
			out[i] = float64(max(r.Burst, 1)) // no limit: never short
		}
		return out
	}
	burst := float64(max(r.Burst, 0))
	tokens := burst // a peer not heard from for a while has a full bucket
	var last time.Duration
	for i, t := range at {
		if i > 0 {
			tokens = min(burst, tokens+float64(t-last)/float64(r.Interval))
		}
		last = t
		out[i] = tokens
		if (i >= len(spent) || spent[i]) && tokens >= 1 {
			tokens--
		}
	}
	return out
}
