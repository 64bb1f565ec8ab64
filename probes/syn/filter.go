package syn

import (
	"fmt"
	"net"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// A raw socket is handed a copy of every TCP segment (or ICMP message) the
// host receives: on a busy runner, its web traffic too. The reader would
// drop them by port, but only after they had taken room in the socket's
// receive buffer, where an answer of the sweep that finds the buffer full
// is dropped by the kernel and read as a firewall's silence. So each socket
// gets a classic BPF filter that keeps only what answers the sweep's source
// port; the reader still checks every answer it is given.

// keepAll is a filter's "accept": the whole packet (an IPv4 datagram is
// at most 64 KiB).
const keepAll = 1 << 16

// tcpFilter keeps the TCP segments sent to port. A raw IPv4 socket's filter
// sees the packet from its IP header on.
func tcpFilter(port uint16) []bpf.Instruction {
	return []bpf.Instruction{
		bpf.LoadMemShift{Off: 0},          // X = the IP header's length
		bpf.LoadIndirect{Off: 2, Size: 2}, // the TCP destination port
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: uint32(port), SkipFalse: 1},
		bpf.RetConstant{Val: keepAll},
		bpf.RetConstant{Val: 0},
	}
}

// icmpFilter keeps the ICMP destination unreachables that quote a TCP
// segment sent from port: an ICMP message of 8 bytes, then the quoted IP
// header, then the quoted TCP segment's first bytes (its source port first).
func icmpFilter(port uint16) []bpf.Instruction {
	return []bpf.Instruction{
		bpf.LoadMemShift{Off: 0},                                             // X = the outer IP header's length
		bpf.LoadIndirect{Off: 0, Size: 1},                                    // the ICMP type
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: 3, SkipFalse: 10},               // destination unreachable
		bpf.LoadIndirect{Off: 8 + 9, Size: 1},                                // the quoted header's protocol
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: unix.IPPROTO_TCP, SkipFalse: 8}, // TCP
		bpf.LoadIndirect{Off: 8, Size: 1},                                    // the quoted version and length
		bpf.ALUOpConstant{Op: bpf.ALUOpAnd, Val: 0x0f},
		bpf.ALUOpConstant{Op: bpf.ALUOpShiftLeft, Val: 2}, // the quoted header's length
		bpf.ALUOpX{Op: bpf.ALUOpAdd},                      // plus the outer one's
		bpf.TAX{},
		bpf.LoadIndirect{Off: 8, Size: 2}, // the quoted source port
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: uint32(port), SkipFalse: 1},
		bpf.RetConstant{Val: keepAll},
		bpf.RetConstant{Val: 0},
	}
}

// attachFilter sets prog as c's socket filter. Whatever arrived before it
// was set is still read (and dropped by the reader); nothing after is
// handed over unless prog keeps it.
func attachFilter(c *net.IPConn, prog []bpf.Instruction) error {
	raw, err := bpf.Assemble(prog)
	if err != nil {
		return err
	}
	ins := make([]unix.SockFilter, len(raw))
	for i, r := range raw {
		ins[i] = unix.SockFilter{Code: r.Op, Jt: r.Jt, Jf: r.Jf, K: r.K}
	}
	rc, err := c.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		serr = unix.SetsockoptSockFprog(int(fd), unix.SOL_SOCKET, unix.SO_ATTACH_FILTER,
			&unix.SockFprog{Len: uint16(len(ins)), Filter: &ins[0]})
	}); err != nil {
		return err
	}
	if serr != nil {
		return fmt.Errorf("socket filter: %w", serr)
	}
	return nil
}
