// Package sip is the SIP probe: one OPTIONS request (RFC 3261 §11) to one
// port over UDP, TCP or TLS, and the facts of the answer.
//
// The default ports are 5060 (sip:, UDP and TCP) and 5061 (sips:, TLS). Each
// call opens one socket or connection and sends one request; over UDP that
// request is retransmitted as RFC 3261 §17.1.2 says (T1 = 500 ms, doubling,
// capped at T2 = 4 s) until an answer comes or the context's deadline
// passes. Over UDP the socket is connected, so an ICMP port unreachable is
// seen and a closed port is told from a filtered one; silence is filtered,
// because a SIP server owes every OPTIONS an answer. Any SIP response at all
// means open.
//
// It never sends a credential: no REGISTER, no INVITE, and no retry with
// digest authentication after a 401 or 407. Such an answer is still open,
// and its status is a fact. The request names the tool in its User-Agent
// (probe/<version>), never a name SIP firewalls ban as a scanner.
//
// Over TLS the certificate is verified against the system roots plus an
// optional CA file, for Options.ServerName or else the host probed, and the
// outcome is recorded as a fact rather than ending the exchange, so a bad
// certificate and the server's answer are both reported. Only
// Options.InsecureSkipVerify turns verification off.
package sip

import (
	"context"
	"strings"
	"time"

	"probe/probes"
	"probe/probes/tlsinfo"
)

// Default ports (RFC 3261 §19.1.2).
const (
	DefaultPort    = 5060
	DefaultTLSPort = 5061
)

// Retransmission timers for a non-INVITE request over UDP (RFC 3261 §17.1.2.2).
const (
	T1 = 500 * time.Millisecond // first retransmission interval, an RTT estimate
	T2 = 4 * time.Second        // the interval's ceiling
)

// DefaultTimeout bounds a probe whose context has no deadline. The engine
// always sets one; this only keeps a stray caller from waiting for Timer F
// (32 s), the wait that made sipsak unusable as a monitoring check.
const DefaultTimeout = 5 * time.Second

// Options tune one SIP probe.
type Options struct {
	// ServerName is the TLS server name sent (SNI) and verified; the host
	// probed when empty.
	ServerName string
	// CAFile is a PEM bundle of roots trusted besides the system's.
	CAFile string
	// InsecureSkipVerify turns certificate verification off; the TLS facts
	// then say it was not checked.
	InsecureSkipVerify bool
	// UserAgent is the product named in the User-Agent header, to which the
	// tool's version is added ("probe" gives "probe/v1.2.0"); used as the
	// whole header when it already has a "/". "probe" when empty.
	UserAgent string
	// MaxSends caps how many times the OPTIONS is sent over UDP: the
	// first send and the retransmissions (defaults.retries is MaxSends-1).
	// The schedule's last wait is then stretched to the timeout, so the
	// probe listens as long. 0: as many as RFC 3261's schedule fits in
	// the timeout.
	MaxSends int

	// t1 replaces T1 in tests, so a retransmission test takes milliseconds.
	t1 time.Duration
}

// Facts are what a SIP probe sent and learned.
type Facts struct {
	// Transport is "udp", "tcp" or "tls".
	Transport string `json:"transport"`
	// RequestLine is the request line sent ("OPTIONS sip:host:5060 SIP/2.0").
	RequestLine string `json:"request_line,omitempty"`
	// Via is the Via header value sent, whose branch a response must echo.
	Via string `json:"via,omitempty"`
	// StatusCode is the response's status; 0 when no response came.
	StatusCode int `json:"status_code,omitempty"`
	// Reason is the response's reason phrase.
	Reason string `json:"reason,omitempty"`
	// Final is whether the response was final (2xx-6xx); a provisional one
	// is kept only when no final response followed.
	Final bool `json:"final,omitempty"`
	// Server is the Server header, which names the answering software.
	Server string `json:"server,omitempty"`
	// UserAgent is the User-Agent header; FreeSWITCH names itself and its
	// version here rather than in Server.
	UserAgent string `json:"user_agent,omitempty"`
	// Allow lists the methods of the Allow headers, sorted and without
	// duplicates; null when the response had no Allow header.
	Allow []string `json:"allow"`
	// Supported lists the option tags of the Supported headers, sorted and
	// without duplicates; null when the response had none.
	Supported []string `json:"supported"`
	// RTT is the time from the last send of the request to the response.
	RTT time.Duration `json:"rtt_ns,omitempty"`
	// Ignored counts messages that came back but did not answer this
	// request (another branch, a request, unparsable bytes).
	Ignored int `json:"ignored,omitempty"`
	// TLS holds the handshake's facts over TLS; nil otherwise.
	TLS *tlsinfo.Facts `json:"tls,omitempty"`
}

// Probe sends one OPTIONS to t over t.Transport ("udp", "tcp" or "tls")
// within ctx's deadline.
func Probe(ctx context.Context, t probes.Target, opt Options) probes.Observation {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultTimeout)
		defer cancel()
	}
	switch strings.ToLower(t.Transport) {
	case "udp":
		return probeUDP(ctx, t, opt)
	case "tcp", "tls":
		return probeStream(ctx, t, opt)
	}
	obs := probes.Start("SIP OPTIONS")
	obs = obs.Settle(t, nil)
	obs.State, obs.Error = probes.NoState, probes.ErrInternal
	obs.Outcome = "unsupported transport " + t.Transport
	return obs
}

// userAgent returns the User-Agent header value for opt.
func userAgent(opt Options) string {
	name := opt.UserAgent
	if name == "" {
		name = "probe"
	}
	if strings.Contains(name, "/") {
		return name
	}
	return name + "/" + probes.Version()
}
