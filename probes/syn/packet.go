package syn

import (
	"encoding/binary"
	"errors"
	"hash/maphash"
	"net/netip"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
)

// Header values of the SYN, as a Linux client's first segment has them (MSS
// for an Ethernet path, a full window), so a middlebox sees an ordinary
// connection attempt.
const (
	synWindow = 64240
	synMSS    = 1460
)

// cookies make the sequence number of each SYN a keyed hash of the port it
// goes to, so an answer is matched to its SYN by its acknowledgement number
// alone, with nothing kept per port in flight, and an answer nobody asked
// for (a spoofed RST, a stray from another scan) is ignored.
type cookies struct{ seed maphash.Seed }

func newCookies() cookies { return cookies{seed: maphash.MakeSeed()} }

// of is the sequence number of the SYN from local port src to dst.
func (c cookies) of(dst netip.AddrPort, src uint16) uint32 {
	var b [20]byte
	a := dst.Addr().As16()
	copy(b[:], a[:])
	binary.BigEndian.PutUint16(b[16:], dst.Port())
	binary.BigEndian.PutUint16(b[18:], src)
	return uint32(maphash.Bytes(c.seed, b[:]))
}

// synBuilder serialises the SYNs from one source to one target address:
// the TCP header alone (the raw socket's kernel writes the IP header), its
// checksum over the IPv4 pseudo-header. It keeps its layers and buffer, so
// a SYN costs no allocation: a sweep sends 131,060 of them.
type synBuilder struct {
	ip   layers.IPv4
	tcp  layers.TCP
	buf  gopacket.SerializeBuffer
	opts gopacket.SerializeOptions
}

func newSYNBuilder(src netip.AddrPort, dst netip.Addr) (*synBuilder, error) {
	if !src.Addr().Is4() || !dst.Is4() {
		return nil, errors.New("syn: IPv4 addresses only")
	}
	s4, d4 := src.Addr().As4(), dst.As4()
	b := &synBuilder{
		ip: layers.IPv4{Version: 4, Protocol: layers.IPProtocolTCP, SrcIP: s4[:], DstIP: d4[:]},
		tcp: layers.TCP{
			SrcPort: layers.TCPPort(src.Port()),
			SYN:     true,
			Window:  synWindow,
			Options: []layers.TCPOption{{
				OptionType: layers.TCPOptionKindMSS, OptionLength: 4,
				OptionData: binary.BigEndian.AppendUint16(nil, synMSS),
			}},
		},
		buf:  gopacket.NewSerializeBuffer(),
		opts: gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true},
	}
	if err := b.tcp.SetNetworkLayerForChecksum(&b.ip); err != nil {
		return nil, err
	}
	return b, nil
}

// build returns the SYN to port with sequence number seq; the bytes are
// the builder's until the next call.
func (b *synBuilder) build(port uint16, seq uint32) ([]byte, error) {
	b.tcp.DstPort, b.tcp.Seq = layers.TCPPort(port), seq
	if err := b.buf.Clear(); err != nil {
		return nil, err
	}
	if err := b.tcp.SerializeTo(b.buf, b.opts); err != nil {
		return nil, err
	}
	return b.buf.Bytes(), nil
}

// buildSYN is one SYN from src to dst, for tests.
func buildSYN(src, dst netip.AddrPort, seq uint32) ([]byte, error) {
	b, err := newSYNBuilder(src, dst.Addr())
	if err != nil {
		return nil, err
	}
	return b.build(dst.Port(), seq)
}

// answer is what came back to one SYN.
type answer uint8

const (
	noAnswer answer = iota
	synAck          // SYN-ACK: something listens
	reset           // RST: nothing listens
	// icmpUnreachable + code: an ICMP destination unreachable of that code
	// (0-15), from the target or a router on the way.
	icmpUnreachable answer = 16
)

// reply is one answer matched to the SYN it answers.
type reply struct {
	// to is the target address and port the SYN went to.
	to netip.AddrPort
	// local is the SYN's source port.
	local uint16
	// seq is the SYN's sequence number, as the answer acknowledges it
	// (less one) or quotes it.
	seq  uint32
	what answer
}

// parseTCP reads a TCP segment (without its IP header) from addr as an
// answer to a SYN: a SYN-ACK or a RST that acknowledges it. ok is false for
// anything else (a segment of another connection, a SYN, garbage).
func parseTCP(from netip.Addr, b []byte) (r reply, ok bool) {
	var tcp layers.TCP
	if tcp.DecodeFromBytes(b, gopacket.NilDecodeFeedback) != nil {
		return r, false
	}
	// Both answers acknowledge the SYN (Linux's RST to a SYN carries ACK
	// with seq+1); a RST without ACK answers no SYN of ours.
	if !tcp.ACK {
		return r, false
	}
	switch {
	case tcp.SYN && !tcp.RST && !tcp.FIN:
		r.what = synAck
	case tcp.RST && !tcp.SYN:
		r.what = reset
	default:
		return r, false
	}
	r.to = netip.AddrPortFrom(from.Unmap(), uint16(tcp.SrcPort))
	r.local = uint16(tcp.DstPort)
	r.seq = tcp.Ack - 1
	return r, true
}

// parseICMP reads an ICMP message (without its IP header) as an answer to a
// SYN: a destination unreachable that quotes a TCP segment's first eight
// bytes (ports and sequence number: all RFC 792 promises to quote, so the
// quote is read as those bytes, not decoded as a whole header).
func parseICMP(b []byte) (r reply, ok bool) {
	var icmp layers.ICMPv4
	if icmp.DecodeFromBytes(b, gopacket.NilDecodeFeedback) != nil ||
		icmp.TypeCode.Type() != layers.ICMPv4TypeDestinationUnreachable || icmp.TypeCode.Code() > 15 {
		return r, false
	}
	var ip layers.IPv4
	if ip.DecodeFromBytes(icmp.Payload, gopacket.NilDecodeFeedback) != nil ||
		ip.Version != 4 || ip.Protocol != layers.IPProtocolTCP || ip.FragOffset != 0 || len(ip.Payload) < 8 {
		return r, false
	}
	dst, okDst := netip.AddrFromSlice(ip.DstIP)
	if !okDst {
		return r, false
	}
	q := ip.Payload
	r.local = binary.BigEndian.Uint16(q[0:2])
	r.to = netip.AddrPortFrom(dst.Unmap(), binary.BigEndian.Uint16(q[2:4]))
	r.seq = binary.BigEndian.Uint32(q[4:8])
	r.what = icmpUnreachable + answer(icmp.TypeCode.Code())
	return r, true
}
