package kinds

import (
	"crypto/tls"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/pelletier/go-toml/v2"

	"probe/probes"
	httpprobe "probe/probes/http"
	"probe/probes/tlsinfo"
)

func ptrInt(i int) *int { return &i }

func TestHTTPSectionValidate(t *testing.T) {
	cases := []struct {
		name string
		s    HTTPSection
		keys []string // keys with a problem, sorted
	}{
		{"empty", HTTPSection{}, nil},
		{"reference port 80", HTTPSection{Status: []int{301, 302, 307, 308}, RedirectTo: "https://"}, nil},
		{"reference port 443", HTTPSection{TLS: true, TLSChecks: TLSChecks{ServerName: "api.voip.example", ChainVerifies: ptrBool(true), MinDaysLeft: ptrInt(14), MinTLSVersion: "1.2"}}, nil},
		{"every option", HTTPSection{TLS: true, Path: "/health?x=1", HeadersPresent: []string{"Strict-Transport-Security"},
			HeaderMatches: map[string]string{"Server": `^nginx$`}, TLSChecks: TLSChecks{CAFile: "ca.pem", MinDaysLeft: ptrInt(0), ChainVerifies: ptrBool(false)}}, nil},
		{"status bounds", HTTPSection{Status: []int{100, 599}}, nil},
		{"status too low", HTTPSection{Status: []int{200, 99}}, []string{"status[1]"}},
		{"status too high", HTTPSection{Status: []int{600}}, []string{"status[0]"}},
		{"redirect without a 3xx status", HTTPSection{Status: []int{200}, RedirectTo: "https://"}, []string{"redirect_to"}},
		{"redirect with spaces", HTTPSection{RedirectTo: " https://"}, []string{"redirect_to"}},
		{"header name with a colon", HTTPSection{HeadersPresent: []string{"HSTS", "Strict-Transport-Security:"}}, []string{"headers_present[1]"}},
		{"empty header name", HTTPSection{HeadersPresent: []string{""}}, []string{"headers_present[0]"}},
		{"bad regex", HTTPSection{HeaderMatches: map[string]string{"Server": `(nginx`}}, []string{"header_matches"}},
		{"bad header to match", HTTPSection{HeaderMatches: map[string]string{"Bad Name": `x`}}, []string{"header_matches"}},
		{"unknown TLS version", HTTPSection{TLS: true, TLSChecks: TLSChecks{MinTLSVersion: "TLSv1.2"}}, []string{"min_tls_version"}},
		{"TLS 1.4", HTTPSection{TLS: true, TLSChecks: TLSChecks{MinTLSVersion: "1.4"}}, []string{"min_tls_version"}},
		{"negative days", HTTPSection{TLS: true, TLSChecks: TLSChecks{MinDaysLeft: ptrInt(-1)}}, []string{"min_days_left"}},
		{"TLS assertions without tls", HTTPSection{TLSChecks: TLSChecks{MinTLSVersion: "1.2", MinDaysLeft: ptrInt(14), ChainVerifies: ptrBool(true), CAFile: "ca.pem"}},
			[]string{"ca_file", "chain_verifies", "min_days_left", "min_tls_version"}},
		{"server name with port", HTTPSection{TLSChecks: TLSChecks{ServerName: "api.example.com:443"}}, []string{"server_name"}},
		{"server name as URL", HTTPSection{TLSChecks: TLSChecks{ServerName: "https://api.example.com"}}, []string{"server_name"}},
		{"server name IPv6", HTTPSection{TLSChecks: TLSChecks{ServerName: "2001:db8::1"}}, nil},
		{"relative path", HTTPSection{Path: "health"}, []string{"path"}},
		{"path with a space", HTTPSection{Path: "/a b"}, []string{"path"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			wantProblemsAt(t, c.s.Validate(), c.keys)
		})
	}
}

// The keys expectations.toml uses decode strictly into the section.
func TestHTTPSectionKeys(t *testing.T) {
	const doc = `
tls = true
server_name = "api.voip.example"
path = "/"
ca_file = "ca.pem"
status = [200]
redirect_to = "https://"
headers_present = ["Strict-Transport-Security"]
header_matches = { Server = "^nginx$" }
min_tls_version = "1.2"
min_days_left = 14
chain_verifies = true
`
	var s HTTPSection
	dec := toml.NewDecoder(strings.NewReader(doc))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		t.Fatal(err)
	}
	want := HTTPSection{TLS: true, Path: "/", Status: []int{200}, RedirectTo: "https://",
		HeadersPresent: []string{"Strict-Transport-Security"}, HeaderMatches: map[string]string{"Server": "^nginx$"},
		TLSChecks: TLSChecks{ServerName: "api.voip.example", CAFile: "ca.pem", MinTLSVersion: "1.2", MinDaysLeft: ptrInt(14), ChainVerifies: ptrBool(true)}}
	if !reflect.DeepEqual(s, want) {
		t.Errorf("decoded %+v; want %+v", s, want)
	}
}

func TestCheckHTTP(t *testing.T) {
	type want struct {
		name string
		pass bool
	}
	redirect := &httpprobe.Facts{StatusCode: 301, Status: "301 Moved Permanently", Location: "https://api.example/", Headers: map[string]string{"Server": "nginx/1.22.1"}}
	toHTTP := &httpprobe.Facts{StatusCode: 302, Status: "302 Found", Location: "http://api.example/"}
	relative := &httpprobe.Facts{StatusCode: 301, Status: "301 Moved Permanently", Location: "/login"}
	ok := &httpprobe.Facts{StatusCode: 200, Status: "200 OK"}
	refused := []httpprobe.VersionTry{
		{Version: "TLS 1.0", Refused: true, Outcome: "refused (protocol_version alert)"},
		{Version: "TLS 1.1", Refused: true, Outcome: "refused (protocol_version alert)"},
	}
	secure := &httpprobe.Facts{StatusCode: 200, Status: "200 OK",
		Headers:       map[string]string{"Strict-Transport-Security": "max-age=63072000", "Server": "nginx"},
		TLS:           &tlsinfo.Facts{Version: "TLS 1.3", DaysLeft: 20, NotAfter: "2030-01-01T00:00:00Z", VerifyName: "api.example", Verified: ptrBool(true)},
		OlderVersions: refused}
	// TLS 1.3 with us, and still TLS 1.0 with an old client.
	stillOld := &httpprobe.Facts{StatusCode: 200, Status: "200 OK", TLS: secure.TLS,
		OlderVersions: []httpprobe.VersionTry{{Version: "TLS 1.0", Accepted: true, Outcome: "accepted"}, refused[1]}}
	undecided := &httpprobe.Facts{StatusCode: 200, Status: "200 OK", TLS: secure.TLS,
		OlderVersions: []httpprobe.VersionTry{refused[0], {Version: "TLS 1.1", Outcome: "undecided: EOF"}}}
	notTried := &httpprobe.Facts{StatusCode: 200, Status: "200 OK", TLS: secure.TLS}
	legacy := &httpprobe.Facts{StatusCode: 200, Status: "200 OK",
		TLS: &tlsinfo.Facts{Version: "TLS 1.0", DaysLeft: 3, VerifyName: "api.example", Verified: ptrBool(false), VerifyError: "x509: certificate signed by unknown authority"}}
	expired := &httpprobe.Facts{StatusCode: 200, Status: "200 OK",
		TLS:           &tlsinfo.Facts{Version: "TLS 1.2", DaysLeft: -1, VerifyName: "api.example", Verified: ptrBool(false), VerifyError: "x509: certificate has expired"},
		OlderVersions: refused}
	noHandshake := &httpprobe.Facts{TLS: &tlsinfo.Facts{VerifyName: "api.example"}}

	cases := []struct {
		name  string
		facts *httpprobe.Facts
		s     *HTTPSection
		want  []want
	}{
		{"no section, no checks", redirect, nil, nil},
		{"redirect to https", redirect, &HTTPSection{Status: []int{301, 302}, RedirectTo: "https://"}, []want{{"status", true}, {"redirect_to", true}}},
		{"redirect to http", toHTTP, &HTTPSection{Status: []int{301, 302}, RedirectTo: "https://"}, []want{{"status", true}, {"redirect_to", false}}},
		{"relative redirect", relative, &HTTPSection{RedirectTo: "https://"}, []want{{"redirect_to", false}}},
		{"no redirect at all", ok, &HTTPSection{Status: []int{301}, RedirectTo: "https://"}, []want{{"status", false}, {"redirect_to", false}}},
		{"no response fails every assertion", nil,
			&HTTPSection{TLS: true, Status: []int{200}, RedirectTo: "https://", HeadersPresent: []string{"Server"}, HeaderMatches: map[string]string{"Server": "."},
				TLSChecks: TLSChecks{MinTLSVersion: "1.0", MinDaysLeft: ptrInt(0), ChainVerifies: ptrBool(false)}},
			[]want{{"status", false}, {"redirect_to", false}, {"headers_present", false}, {"header_matches", false}, {"min_tls_version", false}, {"min_days_left", false}, {"chain_verifies", false}}},
		{"headers present, any case", secure, &HTTPSection{HeadersPresent: []string{"strict-transport-security", "X-Frame-Options"}},
			[]want{{"headers_present", true}, {"headers_present", false}}},
		{"header matches, sorted by name", secure, &HTTPSection{HeaderMatches: map[string]string{"Strict-Transport-Security": `max-age=\d{8,}`, "Server": `^nginx$`}},
			[]want{{"header_matches", true}, {"header_matches", true}}},
		{"header does not match", redirect, &HTTPSection{HeaderMatches: map[string]string{"Server": `^nginx$`}}, []want{{"header_matches", false}}},
		{"absent header matches nothing", ok, &HTTPSection{HeaderMatches: map[string]string{"Server": `.*`}}, []want{{"header_matches", false}}},
		{"good certificate", secure, &HTTPSection{TLS: true, TLSChecks: TLSChecks{MinTLSVersion: "1.2", MinDaysLeft: ptrInt(14), ChainVerifies: ptrBool(true)}},
			[]want{{"min_tls_version", true}, {"min_days_left", true}, {"chain_verifies", true}}},
		{"an older version still accepted", stillOld, &HTTPSection{TLS: true, TLSChecks: TLSChecks{MinTLSVersion: "1.2"}}, []want{{"min_tls_version", false}}},
		{"an older version undecided", undecided, &HTTPSection{TLS: true, TLSChecks: TLSChecks{MinTLSVersion: "1.2"}}, []want{{"min_tls_version", false}}},
		{"older versions never tried", notTried, &HTTPSection{TLS: true, TLSChecks: TLSChecks{MinTLSVersion: "1.2"}}, []want{{"min_tls_version", false}}},
		{"nothing older than TLS 1.0", notTried, &HTTPSection{TLS: true, TLSChecks: TLSChecks{MinTLSVersion: "1.0"}}, []want{{"min_tls_version", true}}},
		{"days left is inclusive", secure, &HTTPSection{TLS: true, TLSChecks: TLSChecks{MinDaysLeft: ptrInt(20)}}, []want{{"min_days_left", true}}},
		{"legacy server", legacy, &HTTPSection{TLS: true, TLSChecks: TLSChecks{MinTLSVersion: "1.2", MinDaysLeft: ptrInt(14), ChainVerifies: ptrBool(true)}},
			[]want{{"min_tls_version", false}, {"min_days_left", false}, {"chain_verifies", false}}},
		{"expired, not expired asked", expired, &HTTPSection{TLS: true, TLSChecks: TLSChecks{MinDaysLeft: ptrInt(0)}}, []want{{"min_days_left", false}}},
		{"expected not to verify", expired, &HTTPSection{TLS: true, TLSChecks: TLSChecks{ChainVerifies: ptrBool(false), MinTLSVersion: "1.2"}},
			[]want{{"min_tls_version", true}, {"chain_verifies", true}}},
		{"handshake failed", noHandshake, &HTTPSection{TLS: true, TLSChecks: TLSChecks{MinTLSVersion: "1.0", ChainVerifies: ptrBool(false)}},
			[]want{{"min_tls_version", false}, {"chain_verifies", false}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := probes.Observation{State: probes.Open}
			if c.facts != nil {
				o.Facts = c.facts
			}
			var got []want
			for _, ch := range checkHTTP(o, Params{Section: c.s}) {
				got = append(got, want{ch.Name, ch.Pass})
				if ch.Expected == "" || ch.Observed == "" {
					t.Errorf("%s: expected %q, observed %q; a reader needs both", ch.Name, ch.Expected, ch.Observed)
				}
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("checks = %v; want %v", got, c.want)
			}
		})
	}
}

func TestCheckHTTPSaysWhatIsWrong(t *testing.T) {
	f := &httpprobe.Facts{StatusCode: 302, Status: "302 Found", Location: "http://api.example/",
		TLS: &tlsinfo.Facts{Version: "TLS 1.2", DaysLeft: 3, NotAfter: "2030-01-04T00:00:00Z", VerifyName: "api.example", Verified: ptrBool(false), VerifyError: "x509: certificate is valid for www.example, not api.example"}}
	s := &HTTPSection{TLS: true, RedirectTo: "https://", TLSChecks: TLSChecks{MinDaysLeft: ptrInt(14), ChainVerifies: ptrBool(true)}}
	checks := checkHTTP(probes.Observation{State: probes.Open, Facts: f}, Params{Section: s})
	want := map[string][2]string{
		"redirect_to":    {"Location starts with https://", "Location: http://api.example/"},
		"min_days_left":  {"at least 14 days left", "3 days left (not after 2030-01-04T00:00:00Z)"},
		"chain_verifies": {"the chain verifies for api.example", "does not verify: x509: certificate is valid for www.example, not api.example"},
	}
	if len(checks) != len(want) {
		t.Fatalf("got %d checks; want %d", len(checks), len(want))
	}
	for _, ch := range checks {
		if w := want[ch.Name]; ch.Expected != w[0] || ch.Observed != w[1] {
			t.Errorf("%s: expected %q, observed %q; want %q, %q", ch.Name, ch.Expected, ch.Observed, w[0], w[1])
		}
	}
}

// TestHTTPKind runs the registered kind against an HTTPS server on
// loopback: the section's options reach the probe, and the command line's
// CA file adds to the section's.
func TestHTTPKind(t *testing.T) {
	caFile, cert := testCert(t, "api.example.test")
	otherCA, _ := testCert(t, "other.example.test")
	s := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.Host, "api.example.test:") || r.URL.Path != "/health" {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		w.Header().Set("Strict-Transport-Security", "max-age=600")
		w.Header().Set("X-Frame-Options", "DENY")
	}))
	s.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	s.StartTLS()
	defer s.Close()
	host, port, _ := net.SplitHostPort(s.Listener.Addr().String())
	p, _ := strconv.Atoi(port)
	tg := probes.Target{Name: "api", Host: host, Port: p, Transport: "tcp"}
	kind := Lookup("http")
	section := func(ca string) *HTTPSection {
		return &HTTPSection{TLS: true, Path: "/health", Status: []int{200},
			HeaderMatches: map[string]string{"X-Frame-Options": "^DENY$"}, TLSChecks: TLSChecks{ServerName: "api.example.test", CAFile: ca, ChainVerifies: ptrBool(true), MinTLSVersion: "1.2"}}
	}

	cases := []struct {
		name   string
		params Params
		want   map[string]bool
	}{
		{"CA in the section", Params{Section: section(caFile)},
			map[string]bool{"status": true, "header_matches": true, "chain_verifies": true, "min_tls_version": true}},
		{"CA on the command line adds to the section's", Params{CAFile: caFile, Section: section(otherCA)},
			map[string]bool{"status": true, "header_matches": true, "chain_verifies": true, "min_tls_version": true}},
		{"no CA that signed it", Params{CAFile: otherCA, Section: section("")},
			map[string]bool{"status": true, "header_matches": true, "chain_verifies": false, "min_tls_version": true}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			wantChecks(t, kind, tg, c.params, c.want)
		})
	}
}

// The http probe is owed a timeout for its request and one for each TLS
// version below min_tls_version it must see refused.
func TestHTTPExchanges(t *testing.T) {
	exchanges := Lookup("http").Exchanges
	for _, tc := range []struct {
		s    *HTTPSection
		want int
	}{
		{nil, 1},
		{&HTTPSection{Status: []int{301}}, 1},
		{&HTTPSection{TLS: true}, 1},
		{&HTTPSection{TLS: true, TLSChecks: TLSChecks{MinTLSVersion: "1.0"}}, 1},
		{&HTTPSection{TLS: true, TLSChecks: TLSChecks{MinTLSVersion: "1.2"}}, 3},
		{&HTTPSection{TLS: true, TLSChecks: TLSChecks{MinTLSVersion: "1.3"}}, 4},
	} {
		if got := exchanges(Params{Section: tc.s}); got != tc.want {
			t.Errorf("section %+v: %d exchanges; want %d", tc.s, got, tc.want)
		}
	}
}

// An older version that never connected leaves min_tls_version undecided,
// not failed; one accepted fails it, undecided others or not.
func TestMinTLSVersionUndecided(t *testing.T) {
	tls13 := &tlsinfo.Facts{Version: "TLS 1.3"}
	refused := httpprobe.VersionTry{Version: "TLS 1.0", Refused: true, Outcome: "refused (protocol_version alert)"}
	accepted := httpprobe.VersionTry{Version: "TLS 1.0", Accepted: true, Outcome: "accepted"}
	timeout := httpprobe.VersionTry{Version: "TLS 1.1", Outcome: "undecided: no connection (i/o timeout)"}
	for _, tc := range []struct {
		name            string
		tries           []httpprobe.VersionTry
		pass, undecided bool
	}{
		{"all refused", []httpprobe.VersionTry{refused, {Version: "TLS 1.1", Refused: true, Outcome: "refused"}}, true, false},
		{"one never connected", []httpprobe.VersionTry{refused, timeout}, false, true},
		{"one accepted", []httpprobe.VersionTry{accepted, timeout}, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &httpprobe.Facts{StatusCode: 200, Status: "200 OK", TLS: tls13, OlderVersions: tc.tries}
			checks := checkTLS(f, &HTTPSection{TLS: true, TLSChecks: TLSChecks{MinTLSVersion: "1.2"}})
			if len(checks) != 1 || checks[0].Pass != tc.pass || checks[0].Undecided != tc.undecided {
				t.Errorf("checks %+v; want pass %v, undecided %v", checks, tc.pass, tc.undecided)
			}
		})
	}
}
