package syn

import (
	"encoding/binary"
	"net/netip"
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
)

var (
	prober = netip.MustParseAddr("198.51.100.7")
	target = netip.MustParseAddr("203.0.113.10")
)

// The SYN decodes as a SYN with the ports, sequence number and MSS asked
// for, and a checksum that verifies over the IPv4 pseudo-header.
func TestBuildSYN(t *testing.T) {
	cases := []struct {
		name     string
		src, dst netip.AddrPort
		seq      uint32
	}{
		{"low port", netip.AddrPortFrom(prober, 40000), netip.AddrPortFrom(target, 1), 0},
		{"high port", netip.AddrPortFrom(prober, 61000), netip.AddrPortFrom(target, 65535), 0xffffffff},
		{"loopback", netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), 1024), netip.AddrPortFrom(netip.MustParseAddr("127.0.0.2"), 8080), 12345},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b, err := buildSYN(c.src, c.dst, c.seq)
			if err != nil {
				t.Fatal(err)
			}
			var tcp layers.TCP
			if err := tcp.DecodeFromBytes(b, gopacket.NilDecodeFeedback); err != nil {
				t.Fatal(err)
			}
			if !tcp.SYN || tcp.ACK || tcp.RST || tcp.FIN || tcp.PSH {
				t.Errorf("flags: got SYN=%v ACK=%v RST=%v FIN=%v PSH=%v; want SYN alone", tcp.SYN, tcp.ACK, tcp.RST, tcp.FIN, tcp.PSH)
			}
			if got, want := uint16(tcp.SrcPort), c.src.Port(); got != want {
				t.Errorf("source port %d; want %d", got, want)
			}
			if got, want := uint16(tcp.DstPort), c.dst.Port(); got != want {
				t.Errorf("destination port %d; want %d", got, want)
			}
			if tcp.Seq != c.seq || tcp.Ack != 0 {
				t.Errorf("seq %d ack %d; want seq %d ack 0", tcp.Seq, tcp.Ack, c.seq)
			}
			if len(tcp.Options) == 0 || tcp.Options[0].OptionType != layers.TCPOptionKindMSS ||
				binary.BigEndian.Uint16(tcp.Options[0].OptionData) != synMSS {
				t.Errorf("options %v; want MSS %d first", tcp.Options, synMSS)
			}
			if sum := checksum(c.src.Addr(), c.dst.Addr(), b); sum != 0 {
				t.Errorf("checksum does not verify: folded sum %#04x", sum)
			}
		})
	}
	if _, err := buildSYN(netip.MustParseAddrPort("[::1]:1"), netip.MustParseAddrPort("[::1]:2"), 0); err == nil {
		t.Error("an IPv6 SYN was built; want an error (IPv4 only)")
	}
}

// checksum folds the one's-complement sum of the pseudo-header and the
// segment: zero when the segment's checksum is right (RFC 793).
func checksum(src, dst netip.Addr, seg []byte) uint16 {
	s4, d4 := src.As4(), dst.As4()
	pseudo := append(append(append([]byte{}, s4[:]...), d4[:]...), 0, 6, byte(len(seg)>>8), byte(len(seg)))
	var sum uint32
	for _, b := range [][]byte{pseudo, seg} {
		if len(b)%2 == 1 {
			b = append(b, 0)
		}
		for i := 0; i < len(b); i += 2 {
			sum += uint32(binary.BigEndian.Uint16(b[i:]))
		}
	}
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}

// segment serialises a TCP header from target:port to the prober's port.
func segment(t testing.TB, tcp layers.TCP) []byte {
	t.Helper()
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true}, &tcp); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestParseTCP(t *testing.T) {
	const local, port, seq = 40000, 8080, 777
	seg := func(syn, ack, rst, fin bool, ackNo uint32) layers.TCP {
		return layers.TCP{SrcPort: port, DstPort: local, Seq: 99, Ack: ackNo, SYN: syn, ACK: ack, RST: rst, FIN: fin, Window: 1}
	}
	cases := []struct {
		name string
		seg  []byte
		ok   bool
		want answer
	}{
		{"SYN-ACK", segment(t, seg(true, true, false, false, seq+1)), true, synAck},
		{"RST-ACK", segment(t, seg(false, true, true, false, seq+1)), true, reset},
		{"RST without ACK answers no SYN", segment(t, seg(false, false, true, false, 0)), false, 0},
		{"a bare SYN (our own, looped back)", segment(t, seg(true, false, false, false, 0)), false, 0},
		{"an ACK of data", segment(t, seg(false, true, false, false, seq+1)), false, 0},
		{"SYN and RST together", segment(t, seg(true, true, true, false, seq+1)), false, 0},
		{"SYN-FIN", segment(t, seg(true, true, false, true, seq+1)), false, 0},
		{"truncated", segment(t, seg(true, true, false, false, seq+1))[:19], false, 0},
		{"empty", nil, false, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, ok := parseTCP(target, c.seg)
			if ok != c.ok {
				t.Fatalf("ok %v; want %v", ok, c.ok)
			}
			if !ok {
				return
			}
			want := reply{to: netip.AddrPortFrom(target, port), local: local, seq: seq, what: c.want}
			if r != want {
				t.Errorf("got %+v; want %+v", r, want)
			}
		})
	}
}

// unreachable builds an ICMP destination unreachable of code that quotes
// the IPv4 header of a SYN to target:port and quote bytes of its segment.
func unreachable(t testing.TB, typ, code uint8, proto layers.IPProtocol, quote int) []byte {
	t.Helper()
	syn, err := buildSYN(netip.AddrPortFrom(prober, 40000), netip.AddrPortFrom(target, 8080), 777)
	if err != nil {
		t.Fatal(err)
	}
	s4, d4 := prober.As4(), target.As4()
	ip := &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: proto, SrcIP: s4[:], DstIP: d4[:]}
	buf := gopacket.NewSerializeBuffer()
	icmp := &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(typ, code)}
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true},
		icmp, ip, gopacket.Payload(syn)); err != nil {
		t.Fatal(err)
	}
	// The quote is cut where the router cut it; the quoted IP header
	// keeps the original total length.
	return buf.Bytes()[:8+20+quote]
}

func TestParseICMP(t *testing.T) {
	want := func(code uint8) reply {
		return reply{to: netip.AddrPortFrom(target, 8080), local: 40000, seq: 777, what: icmpUnreachable + answer(code)}
	}
	const dstUnreach = layers.ICMPv4TypeDestinationUnreachable
	cases := []struct {
		name string
		msg  []byte
		ok   bool
		want reply
	}{
		{"admin prohibited, the 8 bytes RFC 792 quotes", unreachable(t, dstUnreach, 13, layers.IPProtocolTCP, 8), true, want(13)},
		{"port unreachable, Linux's whole quote", unreachable(t, dstUnreach, 3, layers.IPProtocolTCP, 24), true, want(3)},
		{"host unreachable", unreachable(t, dstUnreach, 1, layers.IPProtocolTCP, 8), true, want(1)},
		{"quote shorter than 8 bytes", unreachable(t, dstUnreach, 13, layers.IPProtocolTCP, 7), false, reply{}},
		{"quotes a UDP datagram", unreachable(t, dstUnreach, 3, layers.IPProtocolUDP, 8), false, reply{}},
		{"time exceeded", unreachable(t, layers.ICMPv4TypeTimeExceeded, 0, layers.IPProtocolTCP, 8), false, reply{}},
		{"unknown code", unreachable(t, dstUnreach, 16, layers.IPProtocolTCP, 8), false, reply{}},
		{"echo reply", []byte{0, 0, 0xff, 0xff, 0, 1, 0, 1}, false, reply{}},
		{"header only", unreachable(t, dstUnreach, 13, layers.IPProtocolTCP, 8)[:8], false, reply{}},
		{"empty", nil, false, reply{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, ok := parseICMP(c.msg)
			if ok != c.ok {
				t.Fatalf("ok %v; want %v (reply %+v)", ok, c.ok, r)
			}
			if ok && r != c.want {
				t.Errorf("got %+v; want %+v", r, c.want)
			}
		})
	}
}

// A cookie depends on every part of the SYN's addresses, so an answer for
// one port, target or source port matches no other.
func TestCookies(t *testing.T) {
	c := newCookies()
	base := c.of(netip.AddrPortFrom(target, 80), 40000)
	for name, other := range map[string]uint32{
		"another port":        c.of(netip.AddrPortFrom(target, 81), 40000),
		"another target":      c.of(netip.AddrPortFrom(prober, 80), 40000),
		"another source port": c.of(netip.AddrPortFrom(target, 80), 40001),
		"another key":         newCookies().of(netip.AddrPortFrom(target, 80), 40000),
	} {
		if other == base {
			t.Errorf("%s: the same cookie %d", name, base)
		}
	}
	if again := c.of(netip.AddrPortFrom(target, 80), 40000); again != base {
		t.Errorf("the same SYN got cookies %d and %d", base, again)
	}
}

// Every reply the parsers accept names a port and an answer they can
// stand behind; nothing they are fed makes them panic.
func FuzzParse(f *testing.F) {
	f.Add(segment(f, layers.TCP{SrcPort: 80, DstPort: 40000, Ack: 1, SYN: true, ACK: true}), false)
	f.Add(segment(f, layers.TCP{SrcPort: 80, DstPort: 40000, Ack: 1, RST: true, ACK: true}), false)
	f.Add(unreachable(f, layers.ICMPv4TypeDestinationUnreachable, 13, layers.IPProtocolTCP, 8), true)
	f.Add(unreachable(f, layers.ICMPv4TypeDestinationUnreachable, 3, layers.IPProtocolTCP, 24), true)
	f.Fuzz(func(t *testing.T, b []byte, icmp bool) {
		var r reply
		var ok bool
		if icmp {
			r, ok = parseICMP(b)
		} else {
			r, ok = parseTCP(target, b)
		}
		if !ok {
			return
		}
		switch {
		case r.what == synAck || r.what == reset:
			if icmp {
				t.Errorf("an ICMP message parsed as a TCP answer: %+v", r)
			}
		case r.what >= icmpUnreachable && r.what <= icmpUnreachable+15:
			if !icmp {
				t.Errorf("a TCP segment parsed as an ICMP answer: %+v", r)
			}
		default:
			t.Errorf("accepted with no answer: %+v", r)
		}
		if !r.to.Addr().Is4() {
			t.Errorf("answer from a non-IPv4 address: %+v", r)
		}
	})
}

// A SYN costs no allocation: a sweep of two servers sends 262,120.
func TestBuildSYNAllocatesNothing(t *testing.T) {
	b, err := newSYNBuilder(netip.AddrPortFrom(prober, 40000), target)
	if err != nil {
		t.Fatal(err)
	}
	port := uint16(0)
	if n := testing.AllocsPerRun(1000, func() {
		port++
		if _, err := b.build(port, uint32(port)); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("%v allocations per SYN; want 0", n)
	}
}
