package syn

import (
	"errors"
	"net"
	"os"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"golang.org/x/net/bpf"

	"probe/internal/testutil"
)

// packet serialises an IPv4 datagram of ls (the IP header first), with
// ihl words of header (5, or more with options).
func packet(t *testing.T, ihl uint8, proto layers.IPProtocol, ls ...gopacket.SerializableLayer) []byte {
	t.Helper()
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: proto, SrcIP: net.IPv4(192, 0, 2, 10), DstIP: net.IPv4(198, 51, 100, 50)}
	if ihl > 5 {
		ip.Options = []layers.IPv4Option{{OptionType: 1}, {OptionType: 1}, {OptionType: 1}, {OptionType: 1}} // NOPs
	}
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true}, append([]gopacket.SerializableLayer{ip}, ls...)...); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// quote is an ICMP destination unreachable (code code) quoting an IPv4
// header and the first 8 bytes of a segment from src to dst over proto.
func quote(t *testing.T, outerIHL uint8, typ, code uint8, proto layers.IPProtocol, src, dst uint16) []byte {
	t.Helper()
	inner := packet(t, 5, proto, gopacket.Payload([]byte{byte(src >> 8), byte(src), byte(dst >> 8), byte(dst), 0, 0, 0, 1}))
	return packet(t, outerIHL, layers.IPProtocolICMPv4,
		&layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(typ, code)}, gopacket.Payload(inner))
}

// The filters keep what answers the sweep's source port and nothing else:
// run in the BPF virtual machine on the packets a raw socket is handed.
func TestFilters(t *testing.T) {
	const ours, other = 40123, 40124
	segment := func(ihl uint8, dst uint16, syn, rst bool) []byte {
		return packet(t, ihl, layers.IPProtocolTCP, &layers.TCP{SrcPort: 5060, DstPort: layers.TCPPort(dst), SYN: syn, RST: rst, ACK: true, Window: 1})
	}
	tests := []struct {
		name   string
		filter []bpf.Instruction
		pkt    []byte
		keep   bool
	}{
		{"SYN-ACK to our port", tcpFilter(ours), segment(5, ours, true, false), true},
		{"RST to our port", tcpFilter(ours), segment(5, ours, false, true), true},
		{"SYN-ACK to our port, IP options", tcpFilter(ours), segment(6, ours, true, false), true},
		{"segment to another port", tcpFilter(ours), segment(5, other, true, false), false},
		{"segment to another port, IP options", tcpFilter(ours), segment(6, other, false, true), false},
		{"port unreachable quoting our SYN", icmpFilter(ours), quote(t, 5, 3, 3, layers.IPProtocolTCP, ours, 22), true},
		{"admin prohibited quoting our SYN", icmpFilter(ours), quote(t, 5, 3, 13, layers.IPProtocolTCP, ours, 22), true},
		{"quoting our SYN, outer IP options", icmpFilter(ours), quote(t, 6, 3, 13, layers.IPProtocolTCP, ours, 22), true},
		{"quoting another source port", icmpFilter(ours), quote(t, 5, 3, 3, layers.IPProtocolTCP, other, 22), false},
		{"quoting a UDP datagram from our port", icmpFilter(ours), quote(t, 5, 3, 3, layers.IPProtocolUDP, ours, 22), false},
		{"time exceeded quoting our SYN", icmpFilter(ours), quote(t, 5, 11, 0, layers.IPProtocolTCP, ours, 22), false},
		{"echo reply", icmpFilter(ours), packet(t, 5, layers.IPProtocolICMPv4, &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(0, 0)}, gopacket.Payload(make([]byte, 32))), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vm, err := bpf.NewVM(tt.filter)
			if err != nil {
				t.Fatal(err)
			}
			n, err := vm.Run(tt.pkt)
			if err != nil {
				t.Fatal(err)
			}
			if got := n > 0; got != tt.keep {
				t.Errorf("kept %d bytes of %d; want kept=%v", n, len(tt.pkt), tt.keep)
			}
			if tt.keep && n < len(tt.pkt) {
				t.Errorf("kept %d bytes of %d; want the whole packet", n, len(tt.pkt))
			}
		})
	}
}

// With its filter set, the scanner's raw TCP socket is handed none of the
// host's other TCP traffic: here, a whole connection on loopback.
func TestRawSocketIsHandedOnlyItsAnswers(t *testing.T) {
	s := openScanner(t)
	// What arrived before the filter was set (other tests' traffic on
	// this host) is read first.
	for {
		_ = s.tcp.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
		if _, _, err := s.tcp.ReadFromIP(make([]byte, 1500)); err != nil {
			break
		}
	}
	ln := testutil.Greeter(t, "127.0.0.1:0", "hello\r\n")
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 16)
	_, _ = c.Read(buf)
	c.Close()
	_ = s.tcp.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	n, from, err := s.tcp.ReadFromIP(make([]byte, 1500))
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("the raw socket was handed %d bytes from %v (err %v); want nothing but answers to port %d", n, from, err, s.Port())
	}
}
