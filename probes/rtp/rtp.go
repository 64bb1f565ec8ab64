// Package rtp checks that a range of RTP ports passes the firewall, by
// sending one well-formed RTP packet (RFC 3550) to each sampled port of one
// host and classifying what comes back on a connected UDP socket.
//
// What it sends: to each port, exactly one datagram, never more: an RTP
// header (version 2, no padding, no extension, no CSRC, marker clear,
// payload type 0, PCMU, RFC 3551) with a random sequence number, timestamp
// and SSRC, and 160 bytes of PCMU silence (0xFF), which is 20 ms of audio.
// It never retransmits to a port, because a stray packet can disturb a live
// call's media: FreeSWITCH's NAT latching may move a call's media toward
// whoever sends to its RTP port. It sends no credential and no signalling.
//
// What it concludes, per port: any reply is open; ICMP port unreachable is
// closed (the packet passed every firewall and reached a host with nothing
// bound there, which is what an idle media server's RTP range looks like);
// ICMP prohibited is filtered; silence is open|filtered, since RTP owes no
// reply. A reachable range is shown by refusals, not by silence.
//
// The range: FreeSWITCH allocates RTP from 16384-32768 (even ports, RTCP on
// the odd port above); which ports are probed is the caller's choice
// (internal/sample).
//
// The rate limit: Linux sends ICMP errors to one destination from a token
// bucket of about six, refilled at about one a second (net.ipv4.icmp_ratelimit,
// 1000 ms). Probing faster than that turns closed ports silent. So
// ProbePorts paces its sends to one host (a short burst, then one per
// Options.Pace), keeps every port's socket open until the last wait ends to
// catch a late ICMP error, and replays the target's bucket over the actual
// send times: a silent port sent when the bucket may have been empty is
// marked rate_limit_suspect, and its observation says so (SilenceDoubt).
//
// Since a port may not be probed twice, a suspect port is not re-probed, and
// no other port is probed in its place: the sample was chosen and recorded
// before the run, and a substitute would make the report name ports that
// nobody planned, and a re-run with the same seed would not repeat it.
// Pacing is the defence; marking is the honest account when pacing was not
// enough (a faster pace was configured, a run started before the bucket
// of the last one had filled again, or other probes to the same host drew
// on the same bucket; the engine runs a target's other UDP probes before
// its range for that reason).
package rtp

import (
	"encoding/binary"
)

// Header and payload sizes, RFC 3550 §5.1 and RFC 3551 §4.5.14.
const (
	HeaderLen = 12
	// PayloadLen is 20 ms of 8 kHz PCMU: 160 one-byte samples.
	PayloadLen = 160
	// PayloadTypePCMU is RFC 3551's static payload type for G.711 mu-law.
	PayloadTypePCMU = 0
	// Silence is mu-law's encoding of a zero sample.
	Silence = 0xFF
)

// Packet returns one RTP packet: version 2, no padding, extension or CSRC,
// marker clear, payload type PCMU, the given sequence number, timestamp and
// SSRC, and 20 ms of PCMU silence.
func Packet(seq uint16, ts, ssrc uint32) []byte {
	b := make([]byte, HeaderLen+PayloadLen)
	b[0] = 2 << 6 // V=2, P=0, X=0, CC=0
	b[1] = PayloadTypePCMU
	binary.BigEndian.PutUint16(b[2:], seq)
	binary.BigEndian.PutUint32(b[4:], ts)
	binary.BigEndian.PutUint32(b[8:], ssrc)
	for i := HeaderLen; i < len(b); i++ {
		b[i] = Silence
	}
	return b
}

// ReplyKind names what a reply's first byte says it is, by RFC 7983's
// demultiplexing of a media port: STUN, ZRTP, DTLS, TURN channel data or
// RTP/RTCP; "other" for anything else.
func ReplyKind(b []byte) string {
	if len(b) == 0 {
		return "empty"
	}
	switch c := b[0]; {
	case c <= 3:
		return "stun"
	case c >= 16 && c <= 19:
		return "zrtp"
	case c >= 20 && c <= 63:
		return "dtls"
	case c >= 64 && c <= 79:
		return "turn-channel"
	case c >= 128 && c <= 191:
		return "rtp/rtcp"
	}
	return "other"
}
