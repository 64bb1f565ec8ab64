package kinds

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/textproto"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"probe/probes"
	httpprobe "probe/probes/http"
	"probe/probes/tlsinfo"
)

// HTTPSection is [expectation.http]: options and assertions of the http
// probe, judged when the port answers.
type HTTPSection struct {
	// TLS speaks HTTPS (a TLS handshake before the request).
	TLS bool `toml:"tls,omitempty" json:"tls,omitempty"`
	// Path is the request's path ("/" when empty).
	Path string `toml:"path,omitempty" json:"path,omitempty"`
	// Status lists the acceptable status codes.
	Status []int `toml:"status,omitempty" json:"status,omitempty"`
	// RedirectTo is a prefix the Location header must start with
	// ("https://").
	RedirectTo string `toml:"redirect_to,omitempty" json:"redirect_to,omitempty"`
	// HeadersPresent lists response headers that must be sent.
	HeadersPresent []string `toml:"headers_present,omitempty" json:"headers_present,omitempty"`
	// HeaderMatches maps a response header to a regular expression its
	// value must match; an absent header fails.
	HeaderMatches map[string]string `toml:"header_matches,omitempty" json:"header_matches,omitempty"`
	// TLSChecks are the handshake's and certificate's keys: server_name
	// (also the Host header), ca_file, min_tls_version (older versions
	// must be refused too: see checkTLS), min_days_left, chain_verifies.
	TLSChecks
}

// tlsVersions orders the versions min_tls_version names, as the probe
// reports them.
var tlsVersions = func() []string {
	names := make([]string, len(tlsVersionIDs))
	for i, id := range tlsVersionIDs {
		names[i] = tls.VersionName(id) // "TLS 1.2"
	}
	return names
}()

// tlsVersionIDs are the versions min_tls_version may name, oldest first.
var tlsVersionIDs = []uint16{tls.VersionTLS10, tls.VersionTLS11, tls.VersionTLS12, tls.VersionTLS13}

// headerName is an RFC 9110 field name (a token).
var headerName = regexp.MustCompile("^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")

// Validate checks the section.
func (s *HTTPSection) Validate() []FieldError {
	errs := s.TLSChecks.validate()
	add := func(key, format string, args ...any) {
		errs = append(errs, FieldError{Key: key, Msg: fmt.Sprintf(format, args...)})
	}
	for i, code := range s.Status {
		if code < 100 || code > 599 {
			add(fmt.Sprintf("status[%d]", i), "%d is not an HTTP status code (100-599)", code)
		}
	}
	if s.RedirectTo != "" {
		if strings.TrimSpace(s.RedirectTo) != s.RedirectTo {
			add("redirect_to", "%q has spaces around it; a Location never does", s.RedirectTo)
		}
		if len(s.Status) > 0 && !slices.ContainsFunc(s.Status, func(c int) bool { return c >= 300 && c < 400 }) {
			add("redirect_to", "a redirect needs a 3xx status, and status allows none")
		}
	}
	for i, h := range s.HeadersPresent {
		if !headerName.MatchString(h) {
			add(fmt.Sprintf("headers_present[%d]", i), "%q is not a header name", h)
		}
	}
	for h, re := range s.HeaderMatches {
		if !headerName.MatchString(h) {
			add("header_matches", "%q is not a header name", h)
		}
		if _, err := regexp.Compile(re); err != nil {
			add("header_matches", "%s: not a valid regular expression: %v", h, err)
		}
	}
	if s.Path != "" && (!strings.HasPrefix(s.Path, "/") || strings.ContainsFunc(s.Path, func(r rune) bool { return r <= ' ' || r == 0x7f })) {
		add("path", "%q is not a request path (it starts with / and has no spaces)", s.Path)
	}
	if !s.TLS {
		for key, set := range map[string]bool{
			"min_tls_version": s.MinTLSVersion != "", "min_days_left": s.MinDaysLeft != nil,
			"chain_verifies": s.ChainVerifies != nil, "ca_file": s.CAFile != "",
		} {
			if set {
				add(key, "applies to TLS only; set tls = true")
			}
		}
	}
	slices.SortFunc(errs, func(a, b FieldError) int {
		if c := strings.Compare(a.Key, b.Key); c != 0 {
			return c
		}
		return strings.Compare(a.Msg, b.Msg)
	})
	return errs
}

// olderVersions is how many TLS versions below min_tls_version the probe
// must see refused, each on a connection of its own.
func (s *HTTPSection) olderVersions() int {
	if s == nil || !s.TLS {
		return 0
	}
	return max(0, slices.Index(tlsVersions, "TLS "+s.MinTLSVersion))
}

// options turns the section and the command line into probe options.
func (s *HTTPSection) options(p Params) httpprobe.Options {
	var opt httpprobe.Options
	if s != nil {
		opt.TLS, opt.ServerName, opt.Path = s.TLS, s.ServerName, s.Path
		if s.CAFile != "" {
			opt.CAFiles = append(opt.CAFiles, s.CAFile)
		}
		if n := s.olderVersions(); n > 0 {
			opt.RefuseBelow = tlsVersionIDs[n]
		}
		opt.Headers = append(opt.Headers, s.HeadersPresent...)
		for h := range s.HeaderMatches {
			opt.Headers = append(opt.Headers, h)
		}
		slices.Sort(opt.Headers)
	}
	if p.CAFile != "" && opt.TLS {
		opt.CAFiles = append(opt.CAFiles, p.CAFile)
	}
	return opt
}

// ResolveFiles takes a relative ca_file from dir, and checks it is a file.
func (s *HTTPSection) ResolveFiles(dir string) []FieldError {
	if s.CAFile == "" {
		return nil
	}
	if !filepath.IsAbs(s.CAFile) {
		s.CAFile = filepath.Join(dir, s.CAFile)
	}
	// Stat, not open: opening a FIFO would block validation.
	if st, err := os.Stat(s.CAFile); err != nil {
		return []FieldError{{Key: "ca_file", Msg: fmt.Sprintf("cannot use %s (a relative path is taken from the config file's directory): %v", s.CAFile, errors.Unwrap(err))}}
	} else if !st.Mode().IsRegular() {
		return []FieldError{{Key: "ca_file", Msg: fmt.Sprintf("%s is not a file of PEM certificates", s.CAFile)}}
	}
	return nil
}

func init() {
	Register(&Kind{
		Name:       "http",
		Transports: []string{"tcp"},
		Section:    func() Section { return new(HTTPSection) },
		Run: func(ctx context.Context, t probes.Target, p Params) probes.Observation {
			return httpprobe.Probe(ctx, t, SectionOf[*HTTPSection](p).options(p))
		},
		Exchanges: func(p Params) int { return 1 + SectionOf[*HTTPSection](p).olderVersions() },
		Assert:    checkHTTP,
		Facts:     func() any { return new(httpprobe.Facts) },
		Metrics:   certificateMetrics(httpTLS),
		Changes: func(old, new any) []FactChange {
			return certificateChanges(httpTLS(old), httpTLS(new))
		},
	})
}

// httpTLS is the handshake in the http kind's facts; nil without one.
func httpTLS(facts any) *tlsinfo.Facts {
	if f, _ := facts.(*httpprobe.Facts); f != nil {
		return f.TLS
	}
	return nil
}

func checkHTTP(o probes.Observation, p Params) []Assertion {
	s := SectionOf[*HTTPSection](p)
	if s == nil {
		return nil
	}
	f, _ := o.Facts.(*httpprobe.Facts)
	answered := f != nil && f.StatusCode != 0
	var out []Assertion
	if len(s.Status) > 0 {
		seen := "no HTTP response"
		if answered {
			seen = f.Status
		}
		want := make([]string, len(s.Status))
		for i, c := range s.Status {
			want[i] = strconv.Itoa(c)
		}
		out = append(out, Assertion{Name: "status", Expected: "one of " + strings.Join(want, ", "), Observed: seen,
			Pass: answered && slices.Contains(s.Status, f.StatusCode)})
	}
	if s.RedirectTo != "" {
		seen := "no HTTP response"
		switch {
		case answered && f.Location == "":
			seen = "no Location header (" + f.Status + ")"
		case answered:
			seen = "Location: " + f.Location
		}
		out = append(out, Assertion{Name: "redirect_to", Expected: "Location starts with " + s.RedirectTo, Observed: seen,
			Pass: answered && strings.HasPrefix(f.Location, s.RedirectTo)})
	}
	header := func(name string) (string, bool) {
		if !answered {
			return "no HTTP response", false
		}
		v, ok := f.Headers[textproto.CanonicalMIMEHeaderKey(name)]
		if !ok {
			return name + " absent", false
		}
		return name + ": " + v, true
	}
	for _, h := range s.HeadersPresent {
		seen, ok := header(h)
		out = append(out, Assertion{Name: "headers_present", Expected: h + " present", Observed: seen, Pass: ok})
	}
	names := make([]string, 0, len(s.HeaderMatches))
	for h := range s.HeaderMatches {
		names = append(names, h)
	}
	slices.Sort(names)
	for _, h := range names {
		re := s.HeaderMatches[h]
		seen, ok := header(h)
		pass := ok && regexp.MustCompile(re).MatchString(f.Headers[textproto.CanonicalMIMEHeaderKey(h)])
		out = append(out, Assertion{Name: "header_matches", Expected: h + " matches " + re, Observed: seen, Pass: pass})
	}
	return append(out, checkTLS(f, s)...)
}

// checkTLS judges the handshake and the certificate.
func checkTLS(f *httpprobe.Facts, s *HTTPSection) []Assertion {
	var tf *tlsinfo.Facts
	if f != nil {
		tf = f.TLS
	}
	var out []Assertion
	if s.MinTLSVersion != "" {
		want := "TLS " + s.MinTLSVersion
		seen := "no TLS handshake"
		if tf != nil && tf.Version != "" {
			seen = tf.Version
		}
		// The version both sides share at best, and then each older one
		// offered alone: a server that negotiates TLS 1.3 with us may
		// still take TLS 1.0 from an old client. Only a refusal of every
		// older version passes; an undecided one does not.
		floor := slices.Index(tlsVersions, want)
		pass := tf != nil && slices.Index(tlsVersions, tf.Version) >= floor
		var older []string
		undecided := false
		if f != nil && pass {
			accepted := false
			for _, try := range f.OlderVersions {
				older = append(older, try.Version+" "+try.Outcome)
				accepted = accepted || try.Accepted
				undecided = undecided || !try.Accepted && !try.Refused
			}
			undecided = undecided && !accepted
			pass = !accepted && !undecided && len(f.OlderVersions) == floor
		}
		if len(older) > 0 {
			seen += "; " + strings.Join(older, ", ")
		}
		expected := "negotiates " + want + " or later"
		if floor > 0 {
			expected += " and refuses " + strings.Join(tlsVersions[:floor], ", ")
		}
		out = append(out, Assertion{Name: "min_tls_version", Expected: expected, Observed: seen, Pass: pass, Undecided: undecided})
	}
	out = append(out, s.daysLeft(tf)...)
	return append(out, s.chain(tf)...)
}
