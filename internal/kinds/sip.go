package kinds

import (
	"context"
	"fmt"
	"net"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"probe/probes"
	"probe/probes/sip"
	"probe/probes/tlsinfo"
)

// SIPSection is [expectation.sip]: options and assertions of the sip probe,
// judged when the port answers.
type SIPSection struct {
	// Status lists the acceptable response status codes ([200]).
	Status []int `toml:"status,omitempty" json:"status,omitempty"`
	// AllowIncludes lists methods the Allow header must name.
	AllowIncludes []string `toml:"allow_includes,omitempty" json:"allow_includes,omitempty"`
	// AllowExcludes lists methods the Allow header must not name.
	AllowExcludes []string `toml:"allow_excludes,omitempty" json:"allow_excludes,omitempty"`
	// AgentNot is a regular expression neither the Server nor the
	// User-Agent header may match (a version number: `\d+\.\d+`).
	AgentNot string `toml:"agent_not,omitempty" json:"agent_not,omitempty"`
	// ServerName is the TLS server name sent and verified, when it differs
	// from the target's host.
	ServerName string `toml:"server_name,omitempty" json:"server_name,omitempty"`
	// InsecureTLS turns certificate verification off; by default a TLS
	// certificate must verify against the system roots and the CA file.
	InsecureTLS bool `toml:"insecure_tls,omitempty" json:"insecure_tls,omitempty"`
}

// sipToken is a SIP method as configs name them: an RFC 3261 token, in
// upper case as every registered method is.
var sipToken = regexp.MustCompile("^[A-Z0-9.!%*_+`'~-]+$")

// Validate checks the section.
func (s *SIPSection) Validate() []FieldError {
	var errs []FieldError
	for i, code := range s.Status {
		if code < 100 || code > 699 {
			errs = append(errs, FieldError{Key: fmt.Sprintf("status[%d]", i), Msg: fmt.Sprintf("%d is not a SIP status code (100-699)", code)})
		}
	}
	for key, methods := range map[string][]string{"allow_includes": s.AllowIncludes, "allow_excludes": s.AllowExcludes} {
		for i, m := range methods {
			if !sipToken.MatchString(m) {
				errs = append(errs, FieldError{Key: fmt.Sprintf("%s[%d]", key, i), Msg: fmt.Sprintf("%q is not a SIP method (an upper-case token such as INVITE)", m)})
			}
		}
	}
	for _, m := range s.AllowIncludes {
		if slices.Contains(s.AllowExcludes, m) {
			errs = append(errs, FieldError{Key: "allow_excludes", Msg: fmt.Sprintf("%s is also in allow_includes; no answer can pass both", m)})
		}
	}
	if s.AgentNot != "" {
		if _, err := regexp.Compile(s.AgentNot); err != nil {
			errs = append(errs, FieldError{Key: "agent_not", Msg: "not a valid regular expression: " + err.Error()})
		}
	}
	if s.ServerName != "" {
		if _, _, err := net.SplitHostPort(s.ServerName); err == nil || strings.ContainsAny(s.ServerName, " \t/") {
			errs = append(errs, FieldError{Key: "server_name", Msg: fmt.Sprintf("%q is not a host name (give the name alone, without a port or scheme)", s.ServerName)})
		}
	}
	slices.SortFunc(errs, func(a, b FieldError) int { return strings.Compare(a.Key, b.Key) })
	return errs
}

func init() {
	Register(&Kind{
		Name:       "sip",
		Transports: []string{"udp", "tcp", "tls"},
		Section:    func() Section { return new(SIPSection) },
		Run: func(ctx context.Context, t probes.Target, p Params) probes.Observation {
			opt := sip.Options{CAFile: p.CAFile, MaxSends: 1 + p.Retries}
			if s := SectionOf[*SIPSection](p); s != nil {
				opt.ServerName, opt.InsecureSkipVerify = s.ServerName, s.InsecureTLS
			}
			return sip.Probe(ctx, t, opt)
		},
		Assert: checkSIP,
		Facts:  func() any { return new(sip.Facts) },
		Metrics: append([]Metric{{
			Name: "probe_sip_agent_info",
			Help: "What a SIP server's User-Agent and Server headers revealed.",
			Samples: func(facts any) []Sample {
				f, _ := facts.(*sip.Facts)
				if f == nil || f.UserAgent == "" && f.Server == "" {
					return nil
				}
				return []Sample{{Labels: []string{"user_agent", f.UserAgent, "server", f.Server}, Value: 1}}
			},
		}}, certificateMetrics(sipTLS)...),
		Changes: sipChanges,
	})
}

// sipTLS is the handshake in the sip kind's facts; nil without one.
func sipTLS(facts any) *tlsinfo.Facts {
	if f, _ := facts.(*sip.Facts); f != nil {
		return f.TLS
	}
	return nil
}

// sipChanges reports what the headers that name the software now say,
// between two answers, and how the certificate changed over TLS.
func sipChanges(old, new any) []FactChange {
	of, _ := old.(*sip.Facts)
	nf, _ := new.(*sip.Facts)
	if of == nil || nf == nil {
		return nil
	}
	var out []FactChange
	if of.StatusCode != 0 && nf.StatusCode != 0 {
		for _, h := range []struct{ name, o, n string }{{"User-Agent", of.UserAgent, nf.UserAgent}, {"Server", of.Server, nf.Server}} {
			if h.o != h.n {
				out = append(out, FactChange{Kind: "sip-agent-changed", Old: h.o, New: h.n, Matters: true,
					Detail: fmt.Sprintf("SIP %s %q → %q", h.name, h.o, h.n)})
			}
		}
	}
	return append(out, certificateChanges(of.TLS, nf.TLS)...)
}

func checkSIP(o probes.Observation, p Params) []Assertion {
	f, _ := o.Facts.(*sip.Facts)
	var out []Assertion
	// Over TLS the certificate is judged whether or not a section asks:
	// an answer through an unverified channel is no proof of who answered.
	if f != nil && f.TLS != nil && f.TLS.Verified != nil {
		seen := "verifies for " + f.TLS.VerifyName
		if !*f.TLS.Verified {
			seen = "does not verify: " + f.TLS.VerifyError
		}
		out = append(out, Assertion{Name: "insecure_tls", Expected: "false: the certificate verifies for " + f.TLS.VerifyName, Observed: seen, Pass: *f.TLS.Verified})
	}
	s := SectionOf[*SIPSection](p)
	if s == nil {
		return out
	}
	answered := f != nil && f.StatusCode != 0
	if len(s.Status) > 0 {
		seen := "no SIP response"
		if answered {
			seen = strings.TrimSpace(strconv.Itoa(f.StatusCode) + " " + f.Reason)
		}
		want := make([]string, len(s.Status))
		for i, c := range s.Status {
			want[i] = strconv.Itoa(c)
		}
		out = append(out, Assertion{
			Name: "status", Expected: "one of " + strings.Join(want, ", "), Observed: seen,
			Pass: answered && slices.Contains(s.Status, f.StatusCode),
		})
	}
	allowSeen := func() (string, bool) {
		switch {
		case !answered:
			return "no SIP response", false
		case f.Allow == nil:
			return "no Allow header", false
		}
		return "Allow: " + strings.Join(f.Allow, ", "), true
	}
	if len(s.AllowIncludes) > 0 {
		seen, ok := allowSeen()
		var missing []string
		for _, m := range s.AllowIncludes {
			if !ok || !slices.Contains(f.Allow, m) {
				missing = append(missing, m)
			}
		}
		if ok && len(missing) > 0 {
			seen += " (missing " + strings.Join(missing, ", ") + ")"
		}
		out = append(out, Assertion{Name: "allow_includes", Expected: "Allow names " + strings.Join(s.AllowIncludes, ", "), Observed: seen, Pass: ok && len(missing) == 0})
	}
	if len(s.AllowExcludes) > 0 {
		// Without an Allow header nothing is shown either way: a server
		// that does not list its methods has not shown it lacks them.
		seen, ok := allowSeen()
		var present []string
		for _, m := range s.AllowExcludes {
			if ok && slices.Contains(f.Allow, m) {
				present = append(present, m)
			}
		}
		if len(present) > 0 {
			seen += " (names " + strings.Join(present, ", ") + ")"
		}
		out = append(out, Assertion{Name: "allow_excludes", Expected: "Allow names none of " + strings.Join(s.AllowExcludes, ", "), Observed: seen, Pass: ok && len(present) == 0})
	}
	if s.AgentNot != "" {
		re := regexp.MustCompile(s.AgentNot)
		seen, pass := "no SIP response", false
		if answered {
			reveals := func(h string) bool { return h != "" && re.MatchString(h) }
			seen, pass = agents(f), !reveals(f.Server) && !reveals(f.UserAgent)
		}
		out = append(out, Assertion{Name: "agent_not", Expected: "neither Server nor User-Agent matches " + s.AgentNot, Observed: seen, Pass: pass})
	}
	return out
}

// agents describes the headers that name the answering software.
func agents(f *sip.Facts) string {
	var parts []string
	if f.Server != "" {
		parts = append(parts, "Server: "+f.Server)
	}
	if f.UserAgent != "" {
		parts = append(parts, "User-Agent: "+f.UserAgent)
	}
	if len(parts) == 0 {
		return "neither Server nor User-Agent sent"
	}
	return strings.Join(parts, "; ")
}
