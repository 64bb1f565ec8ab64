package probes

import (
	"context"
	"fmt"
	"net"
	"os"
	"syscall"
	"testing"
	"time"
)

func opErr(err error) error {
	return &net.OpError{Op: "dial", Net: "tcp", Err: &os.SyscallError{Syscall: "connect", Err: err}}
}

func TestClassify(t *testing.T) {
	// Dialled over IPv6, an address with none (a name with A records
	// only comes to the same): refused before anything is sent.
	_, noFamily := net.Dial("tcp6", "127.0.0.1:9")
	tests := []struct {
		name  string
		err   error
		state State
		class ErrorClass
	}{
		{"answered", nil, Open, ""},
		{"tcp_rst_or_icmp_port_unreachable", opErr(syscall.ECONNREFUSED), Closed, ""},
		{"icmp_host_prohibited", opErr(syscall.EHOSTUNREACH), Filtered, ""},
		{"icmp_net_prohibited", opErr(syscall.ENETUNREACH), Filtered, ""},
		{"icmp6_admin_prohibited", opErr(syscall.EACCES), Filtered, ""},
		{"dial_timeout", &net.OpError{Op: "dial", Err: os.ErrDeadlineExceeded}, Filtered, ""},
		{"context_deadline", fmt.Errorf("dial: %w", context.DeadlineExceeded), Filtered, ""},
		{"run_canceled", fmt.Errorf("dial: %w", context.Canceled), NoState, ErrCanceled},
		{"name_not_found", &net.DNSError{Err: "no such host", Name: "db.internal", IsNotFound: true}, NoState, ErrResolve},
		{"name_lookup_timeout", &net.DNSError{Err: "i/o timeout", Name: "db.internal", IsTimeout: true}, NoState, ErrResolve},
		{"no_address_of_the_family", noFamily, NoState, ErrResolve},
		{"local_firewall", opErr(syscall.EPERM), NoState, ErrLocal},
		{"out_of_files", opErr(syscall.EMFILE), NoState, ErrLocal},
		{"reset_after_connect", opErr(syscall.ECONNRESET), NoState, ErrProtocol},
		{"something_else", fmt.Errorf("strange"), NoState, ErrInternal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Classify(tt.err)
			if c.State != tt.state || c.Error != tt.class || c.Outcome == "" {
				t.Errorf("Classify(%v) = %+v; want state %q, error %q, and an outcome", tt.err, c, tt.state, tt.class)
			}
		})
	}
}

func TestSettleTellsLocalNoRouteFromICMP(t *testing.T) {
	// Loopback is always routable: ENETUNREACH then came from the wire.
	o := Start("TCP SYN").Settle(Target{Host: "127.0.0.1", Port: 9}, opErr(syscall.ENETUNREACH))
	if o.State != Filtered {
		t.Errorf("ENETUNREACH with a route: %+v; want filtered", o)
	}
	// A link-local IPv6 address without a zone has no route here.
	o = Start("TCP SYN").Settle(Target{Host: "fe80::1", Port: 9}, opErr(syscall.ENETUNREACH))
	if o.State != NoState || o.Error != ErrNoRoute {
		t.Errorf("ENETUNREACH without a route: %+v; want the prober's own no-route error", o)
	}
}

// Settle marks the answers an ICMP error made, and only those: a TCP RST
// and a timeout are not, an ECONNREFUSED on UDP is (port unreachable).
func TestSettleMarksICMPErrors(t *testing.T) {
	tests := []struct {
		name      string
		transport string
		err       error
		want      bool
	}{
		{"tcp_rst", "tcp", opErr(syscall.ECONNREFUSED), false},
		{"udp_port_unreachable", "udp", opErr(syscall.ECONNREFUSED), true},
		{"host_prohibited", "tcp", opErr(syscall.EHOSTUNREACH), true},
		{"net_prohibited", "udp", opErr(syscall.ENETUNREACH), true},
		{"icmp6_admin_prohibited", "tcp", opErr(syscall.EACCES), true},
		{"timeout", "tcp", &net.OpError{Op: "dial", Err: os.ErrDeadlineExceeded}, false},
		{"answered", "udp", nil, false},
		{"local_firewall", "udp", opErr(syscall.EPERM), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := Start("x").Settle(Target{Host: "127.0.0.1", Port: 9, Transport: tt.transport}, tt.err)
			if o.ICMPError != tt.want {
				t.Errorf("ICMPError = %v; want %v (%+v)", o.ICMPError, tt.want, o)
			}
		})
	}
}

// What the report shows of a settled probe: the error's own text as its
// detail (none when it answered), and for TCP the round trip of the
// handshake or RST, which the adaptive timeouts learn from; a UDP answer
// or a TCP silence has none, and a round trip already measured is kept.
func TestSettleDetailAndRTT(t *testing.T) {
	tests := []struct {
		name      string
		transport string
		rtt       time.Duration // already measured before Settle
		err       error
		detail    bool
		rtt0      bool // the report has no round trip
		keeps     bool // the measured round trip is kept
	}{
		{"tcp_handshake", "tcp", 0, nil, false, false, false},
		{"tcp_rst", "tcp", 0, opErr(syscall.ECONNREFUSED), true, false, false},
		{"tcp_handshake_measured_before", "tcp", time.Hour, nil, false, false, true},
		{"tcp_silence", "tcp", 0, &net.OpError{Op: "dial", Err: os.ErrDeadlineExceeded}, true, true, false},
		{"tcp_icmp_prohibited", "tcp", 0, opErr(syscall.EHOSTUNREACH), true, true, false},
		{"udp_reply", "udp", 0, nil, false, true, false},
		{"udp_port_unreachable", "udp", 0, opErr(syscall.ECONNREFUSED), true, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := Start("x")
			o.RTT = tt.rtt
			o = o.Settle(Target{Host: "127.0.0.1", Port: 9, Transport: tt.transport}, tt.err)
			switch {
			case tt.detail && (tt.err == nil || o.Detail != tt.err.Error()):
				t.Errorf("detail %q; want the error's text", o.Detail)
			case !tt.detail && o.Detail != "":
				t.Errorf("detail %q; want none", o.Detail)
			}
			switch {
			case tt.keeps && o.RTT != tt.rtt:
				t.Errorf("RTT %v; want the %v measured before kept", o.RTT, tt.rtt)
			case tt.rtt0 && o.RTT != 0:
				t.Errorf("RTT %v; want none", o.RTT)
			case !tt.rtt0 && !tt.keeps && (o.RTT <= 0 || o.RTT != o.Duration):
				t.Errorf("RTT %v, duration %v; want the probe's own duration", o.RTT, o.Duration)
			}
		})
	}
}
