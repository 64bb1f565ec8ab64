package sip

import (
	"slices"
	"strings"
	"testing"

	sipmsg "github.com/emiago/sipgo/sip"
)

const testBranch = "z9hG4bK.probe0123456789"

// okResponse is a FreeSWITCH-like answer to a request with testBranch.
const okResponse = "SIP/2.0 200 OK\r\n" +
	"Via: SIP/2.0/UDP 127.0.0.1:40000;branch=z9hG4bK.probe0123456789;rport=40000;received=127.0.0.1\r\n" +
	"From: \"probe\" <sip:probe@127.0.0.1>;tag=abc\r\n" +
	"To: <sip:127.0.0.1:5060>;tag=xyz\r\n" +
	"Call-ID: 123@127.0.0.1\r\n" +
	"CSeq: 1 OPTIONS\r\n" +
	"User-Agent: " + fsUserAgent + "\r\n" +
	"Allow: " + fsAllow + "\r\n" +
	"Supported: timer, path, replaces\r\n" +
	"Content-Length: 0\r\n\r\n"

func TestParseAnswer(t *testing.T) {
	swap := func(old, new string) string { return strings.Replace(okResponse, old, new, 1) }
	cases := []struct {
		name      string
		msg       string
		ok        bool
		status    int
		allow     []string
		supported []string
	}{
		{"FreeSWITCH 200", okResponse, true, 200,
			[]string{"ACK", "BYE", "CANCEL", "INFO", "INVITE", "MESSAGE", "NOTIFY", "OPTIONS", "PUBLISH", "REFER", "REGISTER", "SUBSCRIBE", "UPDATE"},
			[]string{"path", "replaces", "timer"}},
		{"wrong branch", swap("branch=z9hG4bK.probe0123456789", "branch=z9hG4bK.other"), false, 0, nil, nil},
		{"branch differs in case", swap("branch=z9hG4bK.probe0123456789", "branch=Z9HG4BK.PROBE0123456789"), false, 0, nil, nil},
		{"no Via", swap("Via: SIP/2.0/UDP 127.0.0.1:40000;branch=z9hG4bK.probe0123456789;rport=40000;received=127.0.0.1\r\n", ""), false, 0, nil, nil},
		{"ours is not the top Via", swap("Via: ", "Via: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK.proxy\r\nVia: "), false, 0, nil, nil},
		{"compact Via", swap("Via: ", "v: "), true, 200, nil, nil},
		{"answer to INVITE", swap("CSeq: 1 OPTIONS", "CSeq: 1 INVITE"), false, 0, nil, nil},
		{"a request", swap("SIP/2.0 200 OK", "OPTIONS sip:127.0.0.1 SIP/2.0"), false, 0, nil, nil},
		{"status out of range", swap("SIP/2.0 200 OK", "SIP/2.0 700 Odd"), false, 0, nil, nil},
		{"401 is an answer", swap("SIP/2.0 200 OK", "SIP/2.0 401 Unauthorized"), true, 401, nil, nil},
		{"Allow over two headers, duplicates, odd spacing",
			swap("Allow: "+fsAllow, "Allow: OPTIONS ,INVITE,, ACK\r\nallow:\tINVITE, BYE"), true, 200,
			[]string{"ACK", "BYE", "INVITE", "OPTIONS"}, nil},
		{"empty Allow", swap("Allow: "+fsAllow, "Allow: "), true, 200, []string{}, nil},
		{"no Allow, compact Supported", swap("Allow: "+fsAllow+"\r\nSupported: timer, path, replaces", "k: 100rel"), true, 200, nil, []string{"100rel"}},
		{"not SIP", "HTTP/1.1 400 Bad Request\r\n\r\n", false, 0, nil, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a, ok := parseAnswer([]byte(c.msg), testBranch)
			if ok != c.ok {
				t.Fatalf("accepted = %v; want %v", ok, c.ok)
			}
			if !ok {
				return
			}
			if a.status != c.status {
				t.Errorf("status = %d; want %d", a.status, c.status)
			}
			if c.allow != nil && !slices.Equal(a.allow, c.allow) {
				t.Errorf("allow = %q; want %q", a.allow, c.allow)
			}
			if strings.HasPrefix(c.name, "no Allow") && a.allow != nil {
				t.Errorf("allow = %q; want nil: no header is not an empty header", a.allow)
			}
			if c.supported != nil && !slices.Equal(a.supported, c.supported) {
				t.Errorf("supported = %q; want %q", a.supported, c.supported)
			}
		})
	}
}

// FuzzParseAnswer feeds arbitrary datagrams to the code that decides whether
// bytes answer our request and turns them into facts.
func FuzzParseAnswer(f *testing.F) {
	f.Add([]byte(okResponse))
	f.Add([]byte(strings.Replace(okResponse, "Via: ", "v: ", 1)))
	f.Add([]byte(strings.Replace(okResponse, "Allow: ", "Allow: ,, INVITE ,\r\nAllow:", 1)))
	f.Add([]byte(strings.Replace(okResponse, "SIP/2.0 200 OK", "SIP/2.0 100 Trying", 1)))
	f.Add([]byte(strings.Replace(okResponse, "branch=z9hG4bK.probe0123456789", "branch=z9hG4bK.other", 1)))
	f.Add([]byte("SIP/2.0 99999 X\r\nVia: SIP/2.0/UDP h;branch=" + testBranch + "\r\nCSeq: 1 OPTIONS\r\n\r\n"))
	f.Add([]byte("OPTIONS sip:x SIP/2.0\r\n\r\n"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		a, ok := parseAnswer(b, testBranch)
		if !ok {
			return
		}
		if a.status < 100 || a.status > 699 {
			t.Errorf("accepted status %d", a.status)
		}
		// Accepted means the top Via carries our branch.
		msg, err := sipmsg.ParseMessage(b)
		if err != nil {
			t.Fatalf("accepted bytes that do not parse: %v", err)
		}
		if br, _ := msg.(*sipmsg.Response).Via().Params.Get("branch"); br != testBranch {
			t.Errorf("accepted top Via branch %q", br)
		}
		for _, list := range [][]string{a.allow, a.supported} {
			if !slices.IsSorted(list) || len(slices.Compact(slices.Clone(list))) != len(list) {
				t.Errorf("list %q is not a sorted set", list)
			}
			for _, item := range list {
				if item == "" || item != strings.TrimSpace(item) || strings.Contains(item, ",") {
					t.Errorf("list item %q is empty, padded or holds a comma", item)
				}
			}
		}
		for _, s := range []string{a.reason, a.server, a.userAgent} {
			if strings.ContainsAny(s, "\r\x00\x1b") {
				t.Errorf("fact %q carries control characters into the report", s)
			}
		}
	})
}
