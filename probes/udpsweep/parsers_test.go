package udpsweep

import (
	"net"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/pion/stun/v3"

	"probe/probes"
)

var (
	fuzzTarget = probes.Target{Name: "t", Host: "192.0.2.1", Port: 5080, Transport: "udp"}
	fuzzLocal  = &net.UDPAddr{IP: net.IPv4(192, 0, 2, 2), Port: 40000}
)

// What each parser must refuse: a reply that is not its protocol's answer
// to this very datagram.
func TestParsersRefuseWhatIsNotTheirAnswer(t *testing.T) {
	cases := []struct {
		name    string
		payload *Payload
		reply   func(req []byte) []byte
	}{
		{"DNS: another query id", DNSQuery, func(req []byte) []byte {
			res := dnsRefuse(req)
			res[0] ^= 0xff
			return res
		}},
		{"DNS: the query itself, echoed", DNSQuery, func(req []byte) []byte { return req }},
		{"DNS: shorter than a header", DNSQuery, func(req []byte) []byte { return dnsRefuse(req)[:11] }},
		{"NTP: another nonce", NTPRequest, func(req []byte) []byte {
			res := ntpAnswer(req)
			res[31] ^= 0xff
			return res
		}},
		{"NTP: the request echoed (mode 3)", NTPRequest, func(req []byte) []byte { return req }},
		{"STUN: another transaction", STUNBinding, func([]byte) []byte {
			m, _ := stun.Build(stun.TransactionID, stun.BindingSuccess)
			return m.Raw
		}},
		{"STUN: the request echoed", STUNBinding, func(req []byte) []byte { return req }},
		{"SIP: a response to another branch", SIPOptions, func(req []byte) []byte {
			return []byte(strings.Replace(string(sipAnswer(req)), "branch=z9hG4bK", "branch=z9hG4bKother", 1))
		}},
		{"SIP: the request echoed", SIPOptions, func(req []byte) []byte { return req }},
		{"SIP: a DNS answer", SIPOptions, func([]byte) []byte {
			req, _ := newDNS(fuzzTarget, fuzzLocal)
			return dnsRefuse(req)
		}},
	}
	for _, c := range cases {
		req, said := c.payload.New(fuzzTarget, fuzzLocal)
		if s, ok := said(c.reply(req)); ok {
			t.Errorf("%s: accepted, saying %q", c.name, s)
		}
	}
}

func TestParsersSay(t *testing.T) {
	cases := []struct {
		name    string
		payload *Payload
		reply   func(req []byte) []byte
		want    string
	}{
		{"SIP", SIPOptions, sipAnswer, "SIP/2.0 200 OK; User-Agent: " + fakeAgent},
		{"DNS", DNSQuery, dnsRefuse, "DNS response REFUSED, 0 answers, 0 authority records"},
		{"NTP", NTPRequest, ntpAnswer, "NTPv4 server, stratum 2"},
		{"NTP kiss-o'-death", NTPRequest, func(req []byte) []byte {
			res := ntpAnswer(req)
			res[1] = 0
			copy(res[12:16], "RATE")
			return res
		}, `NTPv4 kiss code "RATE"`},
		{"STUN error", STUNBinding, func(req []byte) []byte {
			m := &stun.Message{Raw: req}
			_ = m.Decode()
			res, _ := stun.Build(stun.NewTransactionIDSetter(m.TransactionID), stun.BindingError,
				stun.CodeUnauthorized, stun.NewSoftware("coturn-4.6"))
			return res.Raw
		}, "STUN binding error 401 Unauthorized; SOFTWARE: coturn-4.6"},
	}
	for _, c := range cases {
		req, said := c.payload.New(fuzzTarget, fuzzLocal)
		if got, ok := said(c.reply(req)); !ok || got != c.want {
			t.Errorf("%s: said %q (%v); want %q", c.name, got, ok, c.want)
		}
	}
}

// FuzzParsers feeds every payload's parser what may come back from a port:
// none may panic, and what one says is printable text.
func FuzzParsers(f *testing.F) {
	for _, p := range []*Payload{SIPOptions, STUNBinding, DNSQuery, NTPRequest} {
		req, _ := p.New(fuzzTarget, fuzzLocal)
		f.Add(req)
	}
	f.Add([]byte("SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 192.0.2.2:40000;branch=z9hG4bK1\r\nCSeq: 1 OPTIONS\r\n\r\n"))
	f.Add(make([]byte, ntpPacket))
	f.Fuzz(func(t *testing.T, reply []byte) {
		for _, p := range []*Payload{SIPOptions, STUNBinding, DNSQuery, NTPRequest} {
			_, said := p.New(fuzzTarget, fuzzLocal)
			s, ok := said(reply)
			if ok && (s == "" || !utf8.ValidString(s) || strings.ContainsAny(s, "\r\x00")) {
				t.Errorf("%s says %q: want printable text", p.Name, s)
			}
			if !ok && s != "" {
				t.Errorf("%s refuses the reply but says %q", p.Name, s)
			}
		}
	})
}
