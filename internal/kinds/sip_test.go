package kinds

import (
	"crypto/tls"
	"net"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"

	"probe/internal/testutil"
	"probe/probes"
	"probe/probes/sip"
	"probe/probes/tlsinfo"
)

func TestSIPSectionValidate(t *testing.T) {
	cases := []struct {
		name string
		s    SIPSection
		keys []string // keys with a problem, sorted
	}{
		{"empty", SIPSection{}, nil},
		{"reference", SIPSection{Status: []int{200}, AllowIncludes: []string{"OPTIONS"}, AllowExcludes: []string{"REGISTER"}, AgentNot: `\d+\.\d+`, ServerName: "sip.example.com"}, nil},
		{"status bounds", SIPSection{Status: []int{100, 699}}, nil},
		{"status too low", SIPSection{Status: []int{200, 99}}, []string{"status[1]"}},
		{"status too high", SIPSection{Status: []int{700}}, []string{"status[0]"}},
		{"lower-case method", SIPSection{AllowIncludes: []string{"invite"}}, []string{"allow_includes[0]"}},
		{"method with a space", SIPSection{AllowExcludes: []string{"OPTIONS", "SUB SCRIBE"}}, []string{"allow_excludes[1]"}},
		{"empty method", SIPSection{AllowExcludes: []string{""}}, []string{"allow_excludes[0]"}},
		{"extension method", SIPSection{AllowIncludes: []string{"X-PROBE.1"}}, nil},
		{"method both wanted and forbidden", SIPSection{AllowIncludes: []string{"INVITE"}, AllowExcludes: []string{"INVITE"}}, []string{"allow_excludes"}},
		{"bad regex", SIPSection{AgentNot: `(\d+`}, []string{"agent_not"}},
		{"server name with port", SIPSection{ServerName: "sip.example.com:5061"}, []string{"server_name"}},
		{"server name as URL", SIPSection{ServerName: "sips://sip.example.com"}, []string{"server_name"}},
		{"server name IPv6", SIPSection{ServerName: "2001:db8::1"}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			wantProblemsAt(t, c.s.Validate(), c.keys)
		})
	}
}

// freeswitchFacts is what the probe records from FreeSWITCH 1.10.12.
func freeswitchFacts() *sip.Facts {
	return &sip.Facts{
		Transport: "udp", StatusCode: 200, Reason: "OK", Final: true,
		UserAgent: "FreeSWITCH-mod_sofia/1.10.12-release~64bit",
		Allow:     []string{"ACK", "BYE", "CANCEL", "INFO", "INVITE", "OPTIONS", "REGISTER"},
	}
}

func TestCheckSIP(t *testing.T) {
	type want struct {
		name string
		pass bool
	}
	noAllow := freeswitchFacts()
	noAllow.Allow = nil
	hidden := freeswitchFacts()
	hidden.UserAgent = "FreeSWITCH"
	unauthorized := freeswitchFacts()
	unauthorized.StatusCode, unauthorized.Reason = 401, "Unauthorized"
	noAnswer := &sip.Facts{Transport: "tcp"}
	serverOnly := &sip.Facts{Transport: "udp", StatusCode: 200, Server: "kamailio (5.6.3 (x86_64/linux))"}
	tlsOK := freeswitchFacts()
	tlsOK.TLS = &tlsinfo.Facts{VerifyName: "sip.example.com", Verified: ptrBool(true)}
	tlsBad := freeswitchFacts()
	tlsBad.TLS = &tlsinfo.Facts{VerifyName: "sip.example.com", Verified: ptrBool(false), VerifyError: "x509: certificate signed by unknown authority"}
	tlsUnchecked := freeswitchFacts()
	tlsUnchecked.TLS = &tlsinfo.Facts{}

	cases := []struct {
		name  string
		facts *sip.Facts
		s     *SIPSection
		want  []want
	}{
		{"no section, no checks", freeswitchFacts(), nil, nil},
		{"status 200 accepted", freeswitchFacts(), &SIPSection{Status: []int{200}}, []want{{"status", true}}},
		{"401 not in the set", unauthorized, &SIPSection{Status: []int{200}}, []want{{"status", false}}},
		{"401 in the set", unauthorized, &SIPSection{Status: []int{200, 401, 407}}, []want{{"status", true}}},
		{"no answer fails every assertion", noAnswer,
			&SIPSection{Status: []int{200}, AllowIncludes: []string{"INVITE"}, AllowExcludes: []string{"REGISTER"}, AgentNot: `\d`},
			[]want{{"status", false}, {"allow_includes", false}, {"allow_excludes", false}, {"agent_not", false}}},
		{"allow includes all", freeswitchFacts(), &SIPSection{AllowIncludes: []string{"INVITE", "OPTIONS"}}, []want{{"allow_includes", true}}},
		{"allow includes one missing", freeswitchFacts(), &SIPSection{AllowIncludes: []string{"INVITE", "PRACK"}}, []want{{"allow_includes", false}}},
		{"allow is case-sensitive", freeswitchFacts(), &SIPSection{AllowIncludes: []string{"INVITE"}, AllowExcludes: []string{"register"}}, []want{{"allow_includes", true}, {"allow_excludes", true}}},
		{"allow excludes one present", freeswitchFacts(), &SIPSection{AllowExcludes: []string{"PUBLISH", "REGISTER"}}, []want{{"allow_excludes", false}}},
		{"allow excludes none present", freeswitchFacts(), &SIPSection{AllowExcludes: []string{"PUBLISH", "SUBSCRIBE"}}, []want{{"allow_excludes", true}}},
		{"no Allow header shows nothing", noAllow, &SIPSection{AllowIncludes: []string{"INVITE"}, AllowExcludes: []string{"REGISTER"}}, []want{{"allow_includes", false}, {"allow_excludes", false}}},
		{"version in User-Agent", freeswitchFacts(), &SIPSection{AgentNot: `\d+\.\d+`}, []want{{"agent_not", false}}},
		{"version hidden", hidden, &SIPSection{AgentNot: `\d+\.\d+`}, []want{{"agent_not", true}}},
		{"version in Server", serverOnly, &SIPSection{AgentNot: `\d+\.\d+`}, []want{{"agent_not", false}}},
		{"an absent header matches nothing", hidden, &SIPSection{AgentNot: `^$`}, []want{{"agent_not", true}}},
		{"TLS verified, no section", tlsOK, nil, []want{{"insecure_tls", true}}},
		{"TLS not verified", tlsBad, &SIPSection{Status: []int{200}}, []want{{"insecure_tls", false}, {"status", true}}},
		{"TLS verification off", tlsUnchecked, &SIPSection{InsecureTLS: true}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := probes.Observation{State: probes.Open, Facts: c.facts}
			checks := checkSIP(o, Params{Section: c.s})
			var got []want
			for _, ch := range checks {
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

func TestCheckSIPSaysWhatIsWrong(t *testing.T) {
	o := probes.Observation{State: probes.Open, Facts: freeswitchFacts()}
	checks := checkSIP(o, Params{Section: &SIPSection{AllowExcludes: []string{"REGISTER"}, AgentNot: `\d+\.\d+`}})
	if len(checks) != 2 {
		t.Fatalf("got %d checks; want 2", len(checks))
	}
	if got := checks[0].Observed; !strings.Contains(got, "names REGISTER") {
		t.Errorf("allow_excludes observed %q; want it to name REGISTER", got)
	}
	if got := checks[1].Observed; !strings.Contains(got, "User-Agent: FreeSWITCH-mod_sofia/1.10.12") {
		t.Errorf("agent_not observed %q; want the User-Agent shown", got)
	}
}

func ptrBool(b bool) *bool { return &b }

// TestSIPKindOverTLS runs the registered kind against a TLS SIP responder
// on loopback, to show the section's server_name and insecure_tls and the
// run's CA file reach the probe.
func TestSIPKindOverTLS(t *testing.T) {
	caFile, cert := testCert(t, "sip.example.test")
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go answerOnce(conn)
		}
	}()
	host, port, _ := net.SplitHostPort(ln.Addr().String())
	p, _ := strconv.Atoi(port)
	tg := probes.Target{Name: "fs", Host: host, Port: p, Transport: "tls"}
	kind := Lookup("sip")

	cases := []struct {
		name   string
		params Params
		want   map[string]bool // check name → pass
	}{
		{"name and CA file given", Params{CAFile: caFile, Section: &SIPSection{ServerName: "sip.example.test", Status: []int{200}}},
			map[string]bool{"insecure_tls": true, "status": true}},
		{"no CA file", Params{Section: &SIPSection{ServerName: "sip.example.test"}},
			map[string]bool{"insecure_tls": false}},
		{"certificate not for the IP probed", Params{CAFile: caFile},
			map[string]bool{"insecure_tls": false}},
		{"verification off", Params{Section: &SIPSection{InsecureTLS: true, Status: []int{200}}},
			map[string]bool{"status": true}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			wantChecks(t, kind, tg, c.params, c.want)
		})
	}
}

// answerOnce answers one OPTIONS on conn with 200.
func answerOnce(conn net.Conn) {
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 4096)
	n, err := conn.Read(buf)
	if err != nil {
		return
	}
	msg, err := sipmsg.ParseMessage(buf[:n])
	req, ok := msg.(*sipmsg.Request)
	if err != nil || !ok {
		return
	}
	_, _ = conn.Write([]byte(sipmsg.NewResponseFromRequest(req, 200, "OK", nil).String()))
}

// testCert makes a CA (written to a PEM file) and a certificate it signed
// for name only.
func testCert(t *testing.T, name string) (string, tls.Certificate) {
	t.Helper()
	ca := testutil.NewCA(t, "kinds test CA")
	now := time.Now()
	leaf := ca.Issue(t, name, []string{name}, now.Add(-time.Hour), now.Add(time.Hour))
	return ca.WriteFile(t, t.TempDir()), leaf.TLS
}
