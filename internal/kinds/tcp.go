package kinds

import (
	"context"
	"regexp"

	"probe/probes"
	"probe/probes/tcp"
)

// TCPSection is [expectation.tcp]: the banner the server must greet with
// once connected, from the vantages where the port is open.
type TCPSection struct {
	// Banner is a regular expression the server's first bytes must match.
	Banner string `toml:"banner,omitempty" json:"banner,omitempty"`
	// BannerNot is a regular expression the first bytes must not match.
	BannerNot string `toml:"banner_not,omitempty" json:"banner_not,omitempty"`
}

func (s *TCPSection) validate() []FieldError {
	var errs []FieldError
	for key, re := range map[string]string{"banner": s.Banner, "banner_not": s.BannerNot} {
		if _, err := regexp.Compile(re); err != nil {
			errs = append(errs, FieldError{Key: key, Msg: "not a valid regular expression: " + err.Error()})
		}
	}
	return errs
}

func (s *TCPSection) wantsBanner() bool {
	return s != nil && (s.Banner != "" || s.BannerNot != "")
}

func init() {
	register(&Kind{
		Name:       "tcp",
		Transports: []string{"tcp"},
		Sections:   []string{"tcp"},
		Run: func(ctx context.Context, t probes.Target, p Params) probes.Observation {
			return tcp.Probe(ctx, t, tcp.Options{ReadBanner: p.Sections.TCP.wantsBanner()})
		},
		Check: checkTCP,
	})
}

func checkTCP(o probes.Observation, p Params) []Check {
	s := p.Sections.TCP
	if !s.wantsBanner() {
		return nil
	}
	f, _ := o.Facts.(*tcp.Facts)
	seen := ""
	if f != nil {
		seen = f.Banner
		if seen == "" {
			seen = "(" + f.BannerOutcome + ")"
		}
	}
	var out []Check
	if s.Banner != "" {
		ok := f != nil && regexp.MustCompile(s.Banner).MatchString(f.Banner)
		out = append(out, Check{Name: "banner", Expected: "matches " + s.Banner, Observed: seen, Pass: ok})
	}
	if s.BannerNot != "" {
		ok := f != nil && !regexp.MustCompile(s.BannerNot).MatchString(f.Banner)
		out = append(out, Check{Name: "banner_not", Expected: "does not match " + s.BannerNot, Observed: seen, Pass: ok})
	}
	return out
}
