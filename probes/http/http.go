// Package http is the HTTP(S) probe: one request over one connection, and
// the facts a security review asks of a web port (RFC 9110 semantics,
// HTTP/1.1 framing per RFC 9112, TLS 1.2/1.3 per RFC 5246 and RFC 8446).
//
// The usual ports are 80 (plain) and 443 (TLS). Each call opens exactly one
// TCP connection, sends one request (GET / unless a path is given) with
// "Connection: close", reads the status line and headers, and closes. It
// follows no redirect (the Location is the fact; a redirect to https:// is
// what port 80 is judged on), sends no credential, cookie or body, and reads
// no more of the body than arrives with the headers. Only when asked
// whether the server refuses TLS versions older than a minimum
// (Options.RefuseBelow) does it open more: one connection per older
// version, each a bare handshake offering that version alone, closed
// without a request.
//
// Over TLS the certificate is not verified during the handshake: it is
// verified afterwards against the system roots and the given CA files, and
// the outcome is a fact. An expired or untrusted certificate is therefore
// still described (subjects, names, expiry) instead of aborting the probe.
package http

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	nethttp "net/http"
	"strconv"
	"strings"
	"time"

	"probe/probes"
	"probe/probes/tlsinfo"
)

// DefaultTimeout bounds a probe whose context has no deadline. The engine
// always sets one; this only keeps a stray caller from waiting forever on a
// server that accepts and never answers.
const DefaultTimeout = 10 * time.Second

// UserAgent names the tool in every request, so a server's log says who
// asked.
const UserAgent = "probe (network exposure verifier)"

// DefaultHeaders are the response headers always recorded: HSTS, which a
// TLS port is judged on, and the two that most often reveal software
// versions.
var DefaultHeaders = []string{"Strict-Transport-Security", "Server", "X-Powered-By"}

// Options tune one HTTP probe.
type Options struct {
	// TLS speaks HTTPS: a TLS handshake before the request.
	TLS bool
	// ServerName is the name sent as SNI and in the Host header, and the
	// name the certificate is verified for. Empty means the target's host.
	// It may differ from the address dialled (probing a server by IP
	// for the name it should serve).
	ServerName string
	// Path is the request target; "/" when empty.
	Path string
	// CAFiles are PEM bundles of roots trusted besides the system's.
	CAFiles []string
	// Headers are response headers to record besides DefaultHeaders.
	Headers []string
	// Now is the clock for certificate expiry and verification; time.Now
	// when nil.
	Now func() time.Time
	// RefuseBelow, when set (tls.VersionTLS12), asks whether the server
	// refuses each older version, from TLS 1.0 up: after the request, one
	// more connection per version, each a bare handshake offering that
	// version alone, closed without a request (see OlderVersions).
	RefuseBelow uint16
}

// Facts are what one HTTP exchange showed.
type Facts struct {
	// URL is what was requested, with the Host header's name in it.
	URL string `json:"url"`
	// Proto is the response's protocol version ("HTTP/1.1").
	Proto string `json:"proto,omitempty"`
	// StatusCode is the response's status code; 0 when no response came.
	StatusCode int `json:"status_code,omitempty"`
	// Status is the status line's code and reason ("301 Moved Permanently").
	Status string `json:"status,omitempty"`
	// Location is the Location header as sent, unresolved; empty when
	// absent.
	Location string `json:"location,omitempty"`
	// Headers are the recorded response headers that were present, by
	// canonical name; several values are joined with ", ".
	Headers map[string]string `json:"headers,omitempty"`
	// TLS describes the handshake and certificate; nil for plain HTTP.
	TLS *tlsinfo.Facts `json:"tls,omitempty"`
	// OlderVersions is what each version below Options.RefuseBelow drew,
	// oldest first; empty when not asked.
	OlderVersions []VersionTry `json:"older_versions,omitempty"`
}

// VersionTry is one handshake offering a single TLS version.
type VersionTry struct {
	// Version is the version offered ("TLS 1.0").
	Version string `json:"version"`
	// Accepted: the handshake completed at that version.
	Accepted bool `json:"accepted"`
	// Refused: the server said it does not speak that version (a
	// protocol_version alert, or a ServerHello naming another version).
	// Neither Accepted nor Refused means undecided: no connection, a
	// timeout, or a close or other alert that does not name the version.
	Refused bool `json:"refused"`
	// Outcome says what happened, in a few words.
	Outcome string `json:"outcome"`
}

// Probe sends one request to t within ctx's deadline.
func Probe(ctx context.Context, t probes.Target, opt Options) probes.Observation {
	path := opt.Path
	if path == "" {
		path = "/"
	}
	sent := "HTTP GET " + path
	if opt.TLS {
		sent = "TLS ClientHello, " + sent
	}
	obs := probes.Start(sent)
	now := opt.Now
	if now == nil {
		now = time.Now
	}
	var v *tlsinfo.Verifier
	if opt.TLS {
		var err error
		if v, err = tlsinfo.New(t.Host, tlsinfo.Options{ServerName: opt.ServerName, CAFiles: opt.CAFiles, Now: now}); err != nil {
			obs.Sent, obs.Attempts = "", 0
			obs.Error, obs.Outcome, obs.Detail = probes.ErrLocal, "cannot load the CA file", err.Error()
			obs.Duration = time.Since(obs.Started)
			return obs
		}
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultTimeout)
		defer cancel()
	}

	var d net.Dialer
	raw, err := d.DialContext(ctx, t.Network("tcp"), net.JoinHostPort(t.Host, strconv.Itoa(t.Port)))
	if err != nil {
		return obs.Settle(t, err)
	}
	defer raw.Close()
	// One deadline for the whole exchange, and a cancelled run cuts it short.
	if dl, ok := ctx.Deadline(); ok {
		_ = raw.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { _ = raw.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	obs = obs.Settle(t, nil)
	rec := &recorder{Conn: raw}
	facts := &Facts{URL: requestURL(t, opt, path)}
	obs.Facts = facts
	var conn net.Conn = rec
	if v != nil {
		tc := tls.Client(rec, v.Config())
		err := tc.HandshakeContext(ctx)
		facts.TLS = v.Facts(tc.ConnectionState(), err == nil)
		if err != nil {
			return protocolError(ctx, obs, "the TLS handshake failed", err, rec)
		}
		conn = tc
		rec.first, rec.off = nil, true // what follows is ciphertext
	}

	req, err := nethttp.NewRequestWithContext(ctx, nethttp.MethodGet, facts.URL, nil)
	if err != nil {
		obs.State, obs.Error, obs.Outcome, obs.Detail = probes.NoState, probes.ErrInternal, "cannot build the request", err.Error()
		return obs
	}
	req.Close = true // "Connection: close": one request on this connection
	req.Header.Set("User-Agent", UserAgent)
	if err := req.Write(conn); err != nil {
		return protocolError(ctx, obs, "the request could not be sent", err, rec)
	}
	resp, err := nethttp.ReadResponse(bufio.NewReader(conn), req)
	if err != nil {
		return protocolError(ctx, obs, "no HTTP response", err, rec)
	}
	resp.Body.Close()

	facts.Proto, facts.StatusCode, facts.Status = resp.Proto, resp.StatusCode, resp.Status
	facts.Location = resp.Header.Get("Location")
	for _, name := range append(append([]string(nil), DefaultHeaders...), opt.Headers...) {
		if vals := resp.Header.Values(name); len(vals) > 0 {
			if facts.Headers == nil {
				facts.Headers = map[string]string{}
			}
			facts.Headers[nethttp.CanonicalHeaderKey(name)] = strings.Join(vals, ", ")
		}
	}
	obs.Outcome = "HTTP " + resp.Status
	if opt.TLS {
		obs.Outcome = facts.TLS.Version + ", " + obs.Outcome
		var older []uint16
		for ver := uint16(tls.VersionTLS10); ver < opt.RefuseBelow && ver <= tls.VersionTLS13; ver++ {
			older = append(older, ver)
		}
		for k, ver := range older {
			// Each try gets an equal share of the time left, so one
			// server that stalls a handshake leaves the others theirs.
			tctx, cancel := ctx, context.CancelFunc(func() {})
			if dl, ok := ctx.Deadline(); ok {
				tctx, cancel = context.WithTimeout(ctx, time.Until(dl)/time.Duration(len(older)-k))
			}
			facts.OlderVersions = append(facts.OlderVersions, tryVersion(tctx, raw.RemoteAddr().String(), v.Config(), ver))
			cancel()
		}
	}
	obs.Duration = time.Since(obs.Started)
	return obs
}

// tryVersion makes one handshake offering ver alone, with every cipher
// suite the library knows, insecure ones included: a server that still
// speaks an old version often does so only with old suites, and a
// handshake that failed for want of one would look like a refusal.
func tryVersion(ctx context.Context, addr string, base *tls.Config, ver uint16) VersionTry {
	try := VersionTry{Version: tls.VersionName(ver)}
	var d net.Dialer
	raw, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		try.Outcome = "undecided: no connection (" + err.Error() + ")"
		return try
	}
	defer raw.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = raw.SetDeadline(dl)
	}
	cfg := base.Clone()
	cfg.MinVersion, cfg.MaxVersion = ver, ver
	for _, list := range [][]*tls.CipherSuite{tls.CipherSuites(), tls.InsecureCipherSuites()} {
		for _, cs := range list {
			cfg.CipherSuites = append(cfg.CipherSuites, cs.ID)
		}
	}
	err = tls.Client(raw, cfg).HandshakeContext(ctx)
	msg := ""
	if err != nil {
		msg = err.Error()
	}
	switch {
	case err == nil:
		try.Accepted, try.Outcome = true, "accepted"
	case strings.Contains(msg, "protocol version not supported"):
		// The server's protocol_version alert (RFC 8446 §6.2).
		try.Refused, try.Outcome = true, "refused (protocol_version alert)"
	case strings.Contains(msg, "server selected unsupported protocol version"):
		try.Refused, try.Outcome = true, "refused (the server answered with another version)"
	default:
		try.Outcome = "undecided: " + msg
	}
	return try
}

// requestURL is the URL whose authority is the Host header: the server name
// when given, else the target's host, with the port when it is not the
// scheme's default.
func requestURL(t probes.Target, opt Options, path string) string {
	scheme, def := "http", 80
	if opt.TLS {
		scheme, def = "https", 443
	}
	host := opt.ServerName
	if host == "" {
		host = t.Host
	}
	authority := host
	switch {
	case t.Port != def:
		authority = net.JoinHostPort(host, strconv.Itoa(t.Port))
	case strings.Contains(host, ":"):
		authority = "[" + host + "]"
	}
	return scheme + "://" + authority + path
}

// protocolError settles an exchange that connected but did not complete:
// the port is open, and what answered on it did not speak HTTP (or TLS)
// within the deadline. A cancelled run is not the server's doing.
func protocolError(ctx context.Context, obs probes.Observation, what string, err error, rec *recorder) probes.Observation {
	obs.Detail = err.Error()
	obs.Duration = time.Since(obs.Started)
	if errors.Is(ctx.Err(), context.Canceled) {
		obs.State, obs.Error, obs.Outcome = probes.NoState, probes.ErrCanceled, "canceled after the handshake"
		return obs
	}
	obs.State, obs.Error = probes.Open, probes.ErrProtocol
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout():
		obs.Outcome = "connected, but " + what + ": no answer before the timeout"
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		obs.Outcome = "connected, but " + what + ": the server closed the connection"
	default:
		obs.Outcome = "connected, but " + what + ": the answer is not HTTP/TLS"
	}
	if len(rec.first) > 0 {
		obs.Detail += fmt.Sprintf("; the server's first bytes: %q", rec.first)
	}
	return obs
}

// firstBytes is how much of the server's answer is kept to show what a
// port that does not speak HTTP said instead.
const firstBytes = 64

// recorder keeps the first bytes the server sent, until turned off.
type recorder struct {
	net.Conn
	first []byte
	off   bool
}

func (r *recorder) Read(b []byte) (int, error) {
	n, err := r.Conn.Read(b)
	if room := firstBytes - len(r.first); room > 0 && !r.off {
		r.first = append(r.first, b[:min(n, room)]...)
	}
	return n, err
}
