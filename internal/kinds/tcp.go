package kinds

import (
	"context"
	"regexp"
	"slices"
	"strings"
	"time"

	"probe/probes"
	"probe/probes/esl"
	"probe/probes/tcp"
)

// TCPSection is [expectation.tcp]: the banner the server must greet with
// once connected, from the vantages where the port is open.
type TCPSection struct {
	// Banner is a regular expression the server's first bytes must match.
	Banner string `toml:"banner,omitempty" json:"banner,omitempty"`
	// BannerNot is a regular expression the first bytes must not match.
	BannerNot string `toml:"banner_not,omitempty" json:"banner_not,omitempty"`
	// ESLDefaultPassword, on FreeSWITCH's event socket, tries the password
	// it ships with (ClueCon) once, and only where the greeting is
	// auth/request. Off by default: it is the one check that sends a
	// credential. The password being accepted is a critical failure.
	ESLDefaultPassword bool `toml:"esl_default_password,omitempty" json:"esl_default_password,omitempty"`
}

// eslGreeting is what ESL greets a caller inside its ACL with; a banner
// asserted next to esl_default_password must accept it.
const eslGreeting = "Content-Type: auth/request\n\n"

// Validate checks the section.
func (s *TCPSection) Validate() []FieldError {
	var errs []FieldError
	for key, re := range map[string]string{"banner": s.Banner, "banner_not": s.BannerNot} {
		if _, err := regexp.Compile(re); err != nil {
			errs = append(errs, FieldError{Key: key, Msg: "not a valid regular expression: " + err.Error()})
		}
	}
	if s.ESLDefaultPassword {
		// The check only runs behind an auth/request greeting; a banner
		// assertion that says so is what makes the row readable, and
		// one that rules it out means the check could never run.
		re, err := regexp.Compile(s.Banner)
		reNot, errNot := regexp.Compile(s.BannerNot)
		switch {
		case s.Banner == "":
			errs = append(errs, FieldError{Key: "esl_default_password", Msg: `needs the ESL greeting as the banner: banner = "Content-Type: auth/request"`})
		case err == nil && !re.MatchString(eslGreeting):
			errs = append(errs, FieldError{Key: "esl_default_password", Msg: "the banner does not match ESL's greeting (Content-Type: auth/request), so the check could never run"})
		case errNot == nil && s.BannerNot != "" && reNot.MatchString(eslGreeting):
			errs = append(errs, FieldError{Key: "esl_default_password", Msg: "banner_not rules out ESL's greeting (Content-Type: auth/request), so the check could never run"})
		}
	}
	slices.SortFunc(errs, func(a, b FieldError) int { return strings.Compare(a.Key, b.Key) })
	return errs
}

func (s *TCPSection) wantsBanner() bool {
	return s != nil && (s.Banner != "" || s.BannerNot != "")
}

func init() {
	Register(&Kind{
		Name:       "tcp",
		Transports: []string{"tcp"},
		Section:    func() Section { return new(TCPSection) },
		// A bare connect: cheap enough to probe a whole range, port by port.
		Sweeps:   true,
		HalfOpen: true,
		Run:      runTCP,
		Assert:   checkTCP,
		// Without a banner to wait for, the probe is the handshake alone.
		OneRoundTrip: func(p Params) bool { return !SectionOf[*TCPSection](p).wantsBanner() },
		Identify: func(ctx context.Context, t probes.Target, _ Params) probes.Observation {
			return tcp.Probe(ctx, t, tcp.Options{ReadBanner: true, BannerWait: IdentifyWait})
		},
	})
}

// IdentifyWait bounds the wait for the banner of a port a sweep found open:
// services that greet (SSH, SMTP, FTP, ESL) do so at once; the wait is
// spent only on the few ports a sweep finds open.
const IdentifyWait = time.Second

// TCPFacts are the TCP probe's facts with, when the config asked for it,
// the ESL default password check. The TCP probe itself knows nothing of ESL.
type TCPFacts struct {
	*tcp.Facts
	// ESL is the default password check; nil when it was not run (the
	// port was not open, or the greeting was not auth/request, so nothing
	// was sent).
	ESL *esl.Result `json:"esl_default_password,omitempty"`
}

func runTCP(ctx context.Context, t probes.Target, p Params) probes.Observation {
	s := SectionOf[*TCPSection](p)
	obs := tcp.Probe(ctx, t, tcp.Options{ReadBanner: s.wantsBanner()})
	if s == nil || !s.ESLDefaultPassword {
		return obs
	}
	f, _ := obs.Facts.(*tcp.Facts)
	facts := &TCPFacts{Facts: f}
	obs.Facts = facts
	// From a vantage outside ESL's ACL the banner is a rude rejection:
	// no second connection is made, and nothing is sent.
	if obs.State != probes.Open || f == nil || !esl.IsAuthRequest(f.Banner) {
		return obs
	}
	r := esl.CheckDefaultPassword(ctx, t, esl.DefaultPassword)
	facts.ESL = &r
	if r.PasswordSent {
		obs.Sent += "; ESL auth with the default password"
	}
	obs.Duration = time.Since(obs.Started)
	return obs
}

func checkTCP(o probes.Observation, p Params) []Assertion {
	s := SectionOf[*TCPSection](p)
	if !s.wantsBanner() {
		return nil
	}
	var f *tcp.Facts
	var eslResult *esl.Result
	switch v := o.Facts.(type) {
	case *tcp.Facts:
		f = v
	case *TCPFacts:
		f, eslResult = v.Facts, v.ESL
	}
	seen := ""
	if f != nil {
		seen = f.Banner
		if seen == "" {
			seen = "(" + f.BannerOutcome + ")"
		}
	}
	var out []Assertion
	if s.Banner != "" {
		ok := f != nil && regexp.MustCompile(s.Banner).MatchString(f.Banner)
		out = append(out, Assertion{Name: "banner", Expected: "matches " + s.Banner, Observed: seen, Pass: ok})
	}
	if s.BannerNot != "" {
		ok := f != nil && !regexp.MustCompile(s.BannerNot).MatchString(f.Banner)
		out = append(out, Assertion{Name: "banner_not", Expected: "does not match " + s.BannerNot, Observed: seen, Pass: ok})
	}
	if s.ESLDefaultPassword {
		if c, ok := checkESL(f, eslResult); ok {
			out = append(out, c)
		}
	}
	return out
}

// checkESL judges the default password check. When the greeting was not
// auth/request the check was not run and makes no claim (the banner
// assertion carries that row); when it ran, only a refusal passes.
func checkESL(f *tcp.Facts, r *esl.Result) (Assertion, bool) {
	c := Assertion{Name: "esl_default_password", Expected: "the default password (ClueCon) is refused"}
	switch {
	case r == nil && (f == nil || !esl.IsAuthRequest(f.Banner)):
		return c, false
	case r == nil:
		c.Observed = "not tried"
	case r.Outcome == esl.Refused:
		c.Observed, c.Pass = "refused: "+r.Reply, true
	case r.Outcome == esl.Accepted:
		c.Observed, c.Critical = "ACCEPTED ("+r.Reply+"): anyone reaching this port controls the switch", true
	default:
		c.Observed = "not shown: " + r.Detail
	}
	return c, true
}

// Connect is the kind the engine's closing re-check uses for a TCP port
// that answered, whatever probed it first: a bare connect, which sends
// nothing a service could count against the prober.
func Connect() *Kind { return Lookup("tcp") }
