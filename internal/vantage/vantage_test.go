package vantage

import (
	"net"
	"net/netip"
	"strconv"
	"strings"
	"testing"
)

func prefixes(ss ...string) []netip.Prefix {
	out := make([]netip.Prefix, len(ss))
	for i, s := range ss {
		out[i] = netip.MustParsePrefix(s)
	}
	return out
}

// The reference deployment's vantages plus an office network with a more
// specific subnet inside it.
var vs = []Vantage{
	{Name: "admin", CIDRs: prefixes("73.6.78.238/32")},
	{Name: "office", CIDRs: prefixes("10.0.0.0/8", "2001:db8::/32")},
	{Name: "lab", CIDRs: prefixes("10.1.0.0/16")},
	{Name: "internet", CatchAll: true},
}

func TestMatch(t *testing.T) {
	tests := []struct {
		addr string
		vs   []Vantage
		want string
	}{
		{"73.6.78.238", vs, "admin"},
		{"73.6.78.239", vs, "internet"},
		{"10.2.3.4", vs, "office"},
		{"10.1.3.4", vs, "lab"}, // the more specific prefix wins
		{"2001:db8::1", vs, "office"},
		{"::ffff:73.6.78.238", vs, "admin"}, // IPv4-mapped is IPv4
		{"198.51.100.7", vs[:3], ""},        // no catch-all
		{"", vs, ""},                        // no address
		{"10.0.0.1", []Vantage{{Name: "a", CIDRs: prefixes("10.0.0.0/8")}, {Name: "b", CIDRs: prefixes("10.0.0.0/8")}}, "a"},
		{"10.0.0.1", []Vantage{{Name: "x", CIDRs: prefixes("10.0.0.7/8")}}, "x"},                  // host bits ignored
		{"198.51.100.7", []Vantage{{Name: "m", CIDRs: prefixes("::ffff:198.51.100.0/120")}}, "m"}, // an IPv4-mapped CIDR is its IPv4 /24
		{"198.51.101.7", []Vantage{{Name: "m", CIDRs: prefixes("::ffff:198.51.100.0/120")}}, ""},
		{"198.51.100.7", []Vantage{{Name: "all", CIDRs: prefixes("0.0.0.0/0")}, {Name: "internet", CatchAll: true}}, "all"}, // a /0 is a prefix too
	}
	for _, tc := range tests {
		var addr netip.Addr
		if tc.addr != "" {
			addr = netip.MustParseAddr(tc.addr)
		}
		if got := Match(addr, tc.vs); got != tc.want {
			t.Errorf("Match(%s) = %q; want %q", tc.addr, got, tc.want)
		}
	}
}

func TestCheck(t *testing.T) {
	tests := []struct {
		declared, addr string
		vs             []Vantage
		wantErr        []string // substrings; nil means no error
	}{
		{"admin", "73.6.78.238", vs, nil},
		{"admin", "198.51.100.7", vs, []string{"198.51.100.7", `"admin"`, "73.6.78.238/32", `vantage "internet"`}},
		{"internet", "198.51.100.7", vs, nil},
		// Inside another vantage's CIDR: not the catch-all.
		{"internet", "73.6.78.238", vs, []string{"73.6.78.238", `vantage "admin"`, "73.6.78.238/32", `"internet"`}},
		{"office", "10.2.0.1", vs, nil},
		{"office", "10.1.0.1", vs, []string{"10.1.0.1", `"office"`, "10.0.0.0/8", `vantage "lab"`, "10.1.0.0/16"}},
		{"lab", "10.1.0.1", vs, nil},
		{"admin", "::ffff:73.6.78.238", vs, nil},
		{"admin", "198.51.100.7", vs[:3], []string{"in no vantage's CIDRs"}},
		{"nowhere", "73.6.78.238", vs, []string{`no vantage is named "nowhere"`, "admin, office, lab, internet"}},
		{"admin", "", vs, []string{"unknown"}},
		// Overlapping vantages: either one that holds the address as
		// specifically as any other is accepted.
		{"b", "10.0.0.1", []Vantage{{Name: "a", CIDRs: prefixes("10.0.0.0/8")}, {Name: "b", CIDRs: prefixes("10.0.0.0/8")}}, nil},
	}
	for _, tc := range tests {
		var addr netip.Addr
		if tc.addr != "" {
			addr = netip.MustParseAddr(tc.addr)
		}
		err := Check(tc.declared, addr, tc.vs)
		switch {
		case tc.wantErr == nil && err != nil:
			t.Errorf("Check(%s, %s) = %v; want nil", tc.declared, tc.addr, err)
		case tc.wantErr != nil && err == nil:
			t.Errorf("Check(%s, %s) = nil; want an error", tc.declared, tc.addr)
		case err != nil:
			for _, w := range tc.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Check(%s, %s) = %q; want it to mention %s", tc.declared, tc.addr, err, w)
				}
			}
		}
	}
}

func TestEstablishment(t *testing.T) {
	for e, want := range map[Establishment]bool{StunConfirmed: true, StunAuto: true, TrustedUnconfirmed: false, Unconfirmed: false} {
		if e.Confirmed() != want {
			t.Errorf("%s.Confirmed() = %v; want %v", e, e.Confirmed(), want)
		}
	}
}

// name253 is a host name of 253 bytes, the longest DNS allows.
var name253 = strings.Repeat(strings.Repeat("a", 62)+".", 4)[:252] + "b"

func TestParseServer(t *testing.T) {
	tests := []struct {
		in       string
		host     string
		port     int
		wantFail bool
	}{
		{in: "stun.example.net", host: "stun.example.net", port: 3478},
		{in: "stun.example.net:19302", host: "stun.example.net", port: 19302},
		{in: "stun:stun.example.net:3479", host: "stun.example.net", port: 3479},
		{in: "STUN:stun.example.net", host: "stun.example.net", port: 3478},
		{in: "127.0.0.1:3478", host: "127.0.0.1", port: 3478},
		{in: " 127.0.0.1 ", host: "127.0.0.1", port: 3478},
		{in: "[::1]:3478", host: "::1", port: 3478},
		{in: "[::1]", host: "::1", port: 3478},
		{in: "::1", host: "::1", port: 3478},
		{in: "2001:db8::1", host: "2001:db8::1", port: 3478},
		{in: "stun:[2001:db8::1]:5000", host: "2001:db8::1", port: 5000},
		{in: "stun.example.net.", host: "stun.example.net.", port: 3478},
		{in: "stun:3478", host: "stun", port: 3478},
		{in: "stun:stun:3478", host: "stun", port: 3478},
		{in: "turn:3478", host: "turn", port: 3478},
		// The edges of what is accepted: ports 1 and 65535, every
		// character class of a name, a 63-byte label, a 253-byte name.
		{in: "stun:3490", host: "stun", port: 3490},
		{in: "host:1", host: "host", port: 1},
		{in: "host:65535", host: "host", port: 65535},
		{in: "az-AZ_09.example", host: "az-AZ_09.example", port: 3478},
		{in: strings.Repeat("a", 63) + ".example", host: strings.Repeat("a", 63) + ".example", port: 3478},
		{in: name253, host: name253, port: 3478},
		{in: name253 + ".", host: name253 + ".", port: 3478},
		{in: strings.Repeat("a", 64) + ".example", wantFail: true},
		{in: "a" + name253, wantFail: true},
		{in: "host.1290", wantFail: true},
		{in: "a`b", wantFail: true},
		{in: "a{b", wantFail: true},
		{in: "a[b", wantFail: true},
		{in: "", wantFail: true},
		{in: "3478", wantFail: true},
		{in: "stun:3478:1", wantFail: true},
		{in: "stun:", wantFail: true},
		{in: "stuns:stun.example.net", wantFail: true},
		{in: "turn:turn.example.net", wantFail: true},
		{in: "host:0", wantFail: true},
		{in: "host:65536", wantFail: true},
		{in: "host:+5", wantFail: true},
		{in: "host:", wantFail: true},
		{in: "host:port", wantFail: true},
		{in: "stun:host?transport=udp", wantFail: true},
		{in: "http://host", wantFail: true},
		{in: "a..b", wantFail: true},
		{in: "bad name", wantFail: true},
		{in: "[fe80::1%eth0]:3478", wantFail: true},
		{in: "1.2.3.4:5:6", wantFail: true},
	}
	for _, tc := range tests {
		host, port, err := parseServer(tc.in)
		if tc.wantFail {
			if err == nil {
				t.Errorf("parseServer(%q) = %q, %d; want an error", tc.in, host, port)
			}
			continue
		}
		if err != nil || host != tc.host || port != tc.port {
			t.Errorf("parseServer(%q) = %q, %d, %v; want %q, %d", tc.in, host, port, err, tc.host, tc.port)
		}
	}
}

func FuzzParseServer(f *testing.F) {
	for _, s := range []string{"stun.example.net", "stun:[::1]:3478", "127.0.0.1:3478", "::1", "turn:x", "h:0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		host, port, err := parseServer(s)
		if err != nil {
			return
		}
		if host == "" || port < 1 || port > 65535 {
			t.Fatalf("parseServer(%q) = %q, %d; want a host and a port", s, host, port)
		}
		// What was read reads back the same when written out again.
		h2, p2, err := parseServer(net.JoinHostPort(host, strconv.Itoa(port)))
		if err != nil || h2 != host || p2 != port {
			t.Fatalf("parseServer(%q) = %q, %d; round trip gave %q, %d, %v", s, host, port, h2, p2, err)
		}
	})
}
