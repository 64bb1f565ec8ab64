package udpsweep

import (
	"context"
	"encoding/binary"
	"net"
	"strings"
	"testing"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"

	"probe/internal/testutil"
	"probe/probes"
)

// A fake UDP server on loopback that answers each datagram with what
// answer returns (nothing when nil), until the test ends.
func fakeServer(t *testing.T, answer func(req []byte) []byte) probes.Target {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 65535)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if res := answer(append([]byte(nil), buf[:n]...)); res != nil {
				_, _ = pc.WriteTo(res, from)
			}
		}
	}()
	return target(t, pc.LocalAddr().String())
}

func target(t *testing.T, addr string) probes.Target {
	t.Helper()
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	p := 0
	for _, c := range port {
		p = p*10 + int(c-'0')
	}
	return probes.Target{Name: "fake", Host: host, Port: p, Transport: "udp"}
}

const fakeAgent = "FreeSWITCH-mod_sofia/1.10.12-release~64bit"

// sipAnswer answers a SIP request with 200 OK and FreeSWITCH's
// User-Agent, and ignores every other datagram, as a SIP stack does.
func sipAnswer(req []byte) []byte {
	msg, err := sipmsg.ParseMessage(req)
	if err != nil {
		return nil
	}
	r, ok := msg.(*sipmsg.Request)
	if !ok {
		return nil
	}
	res := sipmsg.NewResponseFromRequest(r, 200, "OK", nil)
	res.AppendHeader(sipmsg.NewHeader("User-Agent", fakeAgent))
	return []byte(res.String())
}

// dnsRefuse answers a DNS query with REFUSED, and ignores the rest.
func dnsRefuse(req []byte) []byte {
	if len(req) < dnsHeader || binary.BigEndian.Uint16(req[4:]) != 1 || req[2]&0x80 != 0 {
		return nil
	}
	res := append([]byte(nil), req...)
	res[2] |= 0x80
	res[3] = res[3]&0xf0 | 5
	return res
}

// ntpAnswer answers an NTP client request as a stratum 2 server.
func ntpAnswer(req []byte) []byte {
	if len(req) != ntpPacket || req[0]&7 != 3 {
		return nil
	}
	res := make([]byte, ntpPacket)
	res[0], res[1] = 4<<3|4, 2
	copy(res[24:32], req[40:48])
	return res
}

// closedPort is a loopback UDP port nothing listens on: it was bound, then
// let go.
func closedPort(t *testing.T) probes.Target {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := pc.LocalAddr().String()
	pc.Close()
	return target(t, addr)
}

// silentPort is a loopback UDP port bound by a socket that never reads:
// datagrams are taken in and never answered, as a firewall's drop looks.
func silentPort(t *testing.T) probes.Target {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	return target(t, pc.LocalAddr().String())
}

func TestProbe(t *testing.T) {
	cases := []struct {
		name     string
		target   func(t *testing.T) probes.Target
		payloads []*Payload // nil: For(port), the generic set here
		state    probes.State
		answered string
		said     string // a substring of what it said (the outcome)
	}{
		{"SIP server", func(t *testing.T) probes.Target { return fakeServer(t, sipAnswer) }, nil,
			probes.Open, "SIP OPTIONS", "SIP/2.0 200 OK; User-Agent: " + fakeAgent},
		{"STUN server", func(t *testing.T) probes.Target { return target(t, testutil.STUNResponder(t)) }, nil,
			probes.Open, "STUN binding request", "STUN binding success, mapped address 127.0.0.1:"},
		{"DNS server that refuses", func(t *testing.T) probes.Target { return fakeServer(t, dnsRefuse) }, nil,
			probes.Open, "DNS query", "DNS response REFUSED, 0 answers"},
		{"NTP server", func(t *testing.T) probes.Target { return fakeServer(t, ntpAnswer) }, []*Payload{NTPRequest},
			probes.Open, "NTP client request", "NTPv4 server, stratum 2"},
		{"a reply no parser knows", func(t *testing.T) probes.Target {
			return fakeServer(t, func([]byte) []byte { return []byte("HELLO\x00\x01") })
		}, nil, probes.Open, "", `a 7-byte reply no payload's parser recognises: "HELLO\\x00\\x01"`},
		{"silent", silentPort, nil, probes.OpenFiltered, "", "no reply to 3 datagrams"},
		{"refused", closedPort, nil, probes.Closed, "", "ICMP port unreachable"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tg := c.target(t)
			payloads := c.payloads
			if payloads == nil {
				payloads = For(tg.Port)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
			defer cancel()
			obs := probe(ctx, tg, payloads)
			if obs.State != c.state || !strings.Contains(obs.Outcome, c.said) {
				t.Fatalf("got %s (%s); want %s (%s)", obs.State, obs.Outcome, c.state, c.said)
			}
			f, _ := obs.Facts.(*Facts)
			if f == nil || len(f.Sent) != len(payloads) {
				t.Fatalf("facts %+v; want the %d payloads sent named", f, len(payloads))
			}
			if f.Answered != c.answered {
				t.Errorf("answered by %q; want %q", f.Answered, c.answered)
			}
			if c.state == probes.Open && f.Said != obs.Outcome {
				t.Errorf("facts say %q, the outcome %q", f.Said, obs.Outcome)
			}
			if c.state == probes.Closed && !obs.ICMPError {
				t.Error("a port unreachable is not marked as an ICMP error: the target's ICMP budget would not count it")
			}
		})
	}
}

func TestProbeCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	obs := Probe(ctx, silentPort(t))
	if obs.Error != probes.ErrCanceled || obs.State != probes.NoState {
		t.Errorf("got %s/%s (%s); want nothing sent, canceled", obs.State, obs.Error, obs.Outcome)
	}
}

func TestFor(t *testing.T) {
	cases := []struct {
		port int
		want []string
	}{
		{53, []string{"DNS query"}},
		{123, []string{"NTP client request"}},
		{3478, []string{"STUN binding request"}},
		{5060, []string{"SIP OPTIONS"}},
		{5080, []string{"SIP OPTIONS"}},
		{5100, []string{"SIP OPTIONS", "STUN binding request", "DNS query"}},
		{1, []string{"SIP OPTIONS", "STUN binding request", "DNS query"}},
		{65535, []string{"SIP OPTIONS", "STUN binding request", "DNS query"}},
	}
	for _, c := range cases {
		var got []string
		for _, p := range For(c.port) {
			got = append(got, p.Name)
		}
		if strings.Join(got, ",") != strings.Join(c.want, ",") {
			t.Errorf("For(%d) = %v; want %v", c.port, got, c.want)
		}
	}
}
