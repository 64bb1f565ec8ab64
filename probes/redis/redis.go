// Package redis is the Redis probe: whether a port speaks only TLS (as
// ElastiCache's in-transit encryption does) and whether it wants
// authentication before any command, shown with one harmless command, PING,
// and never a credential. The usual port is 6379.
//
// It makes at most two TCP connections per call:
//
//  1. PING without TLS ("*1\r\n$4\r\nPING\r\n", as redis-cli sends it), and
//     the first line of the reply. A port that answers in RESP speaks
//     plaintext, and the probe stops there: that reply is what the server
//     says to anyone who reaches the port.
//  2. Only when that PING drew no RESP reply (a close, a reset, silence, or
//     bytes that are not RESP, as a TLS server's alert is): a TLS handshake,
//     whose facts (version, chain verified against the system roots and any
//     CA files, names, days left) come from probes/tlsinfo, then PING over
//     TLS and the first line of its reply.
//
// The reply to PING decides authentication: "-NOAUTH Authentication
// required." is what Redis 7 says when a password is needed (requirepass,
// or an ACL default user that is off or has one); "+PONG" means anyone who
// reaches the port may run commands. "-NOPERM" (checked against Redis 7.0:
// "this user has no permissions to run the 'ping' command") means the
// connection is logged in as the default user without a password, whose
// rights do not include PING; what else it may run is not shown. The probe
// never sends AUTH, HELLO or any command but PING, which changes nothing.
//
// What Redis 7.0 logs (checked against Debian's 7.0 with tls-port, port 0
// and requirepass, at the default loglevel notice): for the plaintext PING
// on the TLS port,
//
//	# Error accepting a client connection: error:0A00010B:SSL routines::wrong version number (conn: fd=7)
//
// and nothing for the TLS connection, nor for a plaintext port's PING.
package redis

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"strconv"
	"strings"
	"time"

	"probe/probes"
	"probe/probes/tlsinfo"
)

// DefaultTimeout bounds a probe whose context has no deadline.
const DefaultTimeout = 10 * time.Second

// Connections is how many TCP connections a probe makes at most, each owed
// a timeout of its own.
const Connections = 2

// Options tune one Redis probe.
type Options struct {
	// ServerName is sent as SNI and is the name the certificate is
	// verified for; the target's host when empty.
	ServerName string
	// CAFiles are PEM bundles of roots trusted besides the system's.
	CAFiles []string
	// Now is the clock for certificate expiry; time.Now when nil.
	Now func() time.Time
}

// Facts are what one Redis probe showed.
type Facts struct {
	// Plaintext is what PING without TLS drew.
	Plaintext Exchange `json:"plaintext"`
	// TLS describes the handshake; nil when none was tried (the port
	// answered in plaintext).
	TLS *tlsinfo.Facts `json:"tls,omitempty"`
	// TLSPing is what PING over TLS drew; nil when it was not sent.
	TLSPing *Exchange `json:"tls_ping,omitempty"`
}

// Exchange is one PING and what came back.
type Exchange struct {
	// Reply is the reply's first line; nil when no RESP reply came.
	Reply *Reply `json:"reply,omitempty"`
	// Outcome says how the exchange ended when no reply came: "closed",
	// "reset", "no answer before the timeout", "not RESP".
	Outcome string `json:"outcome,omitempty"`
	// Bytes are the first bytes received when they were not RESP,
	// printable.
	Bytes string `json:"bytes,omitempty"`
}

// TLSOnly reports whether the port refused RESP without TLS and spoke it
// over TLS.
func (f *Facts) TLSOnly() bool {
	return f.Plaintext.Reply == nil && f.TLS != nil && f.TLS.Version != "" && f.TLSPing != nil && f.TLSPing.Reply != nil
}

// PingReply is the reply that says what anyone reaching the port may do:
// over TLS when the port speaks TLS, else without; nil when none came.
func (f *Facts) PingReply() *Reply {
	if f.Plaintext.Reply != nil {
		return f.Plaintext.Reply
	}
	if f.TLSPing != nil {
		return f.TLSPing.Reply
	}
	return nil
}

// Probe probes the Redis server at t within ctx's deadline.
func Probe(ctx context.Context, t probes.Target, opt Options) probes.Observation {
	obs := probes.Start("PING without TLS; TLS handshake and PING over TLS if refused")
	v, err := tlsinfo.New(t.Host, tlsinfo.Options{ServerName: opt.ServerName, CAFiles: opt.CAFiles, Now: opt.Now})
	if err != nil {
		obs.Sent, obs.Attempts = "", 0
		obs.Error, obs.Outcome, obs.Detail = probes.ErrLocal, "cannot load the CA file", err.Error()
		obs.Duration = time.Since(obs.Started)
		return obs
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultTimeout)
		defer cancel()
	}
	addr := net.JoinHostPort(t.Host, strconv.Itoa(t.Port))

	// The plaintext PING gets half the time left: a TLS server that waits
	// for more bytes leaves the handshake its own half.
	ctx1, cancel1 := ctx, context.CancelFunc(func() {})
	if dl, ok := ctx.Deadline(); ok {
		ctx1, cancel1 = context.WithTimeout(ctx, time.Until(dl)/2)
	}
	defer cancel1()
	var d net.Dialer
	raw, err := d.DialContext(ctx1, t.Network("tcp"), addr)
	if err != nil {
		return obs.Settle(t, err)
	}
	obs = obs.Settle(t, nil)
	facts := &Facts{}
	obs.Facts = facts
	stop := bound(ctx1, raw)
	facts.Plaintext = exchange(raw)
	stop()
	raw.Close()
	cancel1()

	if facts.Plaintext.Reply == nil && ctx.Err() == nil {
		obs.Sent = "PING without TLS; TLS handshake, PING over TLS"
		raw2, err := d.DialContext(ctx, t.Network("tcp"), addr)
		if err != nil {
			facts.TLSPing = &Exchange{Outcome: "the second connection failed: " + err.Error()}
		} else {
			stop := bound(ctx, raw2)
			tc := tls.Client(raw2, v.Config())
			err := tc.HandshakeContext(ctx)
			facts.TLS = v.Facts(tc.ConnectionState(), err == nil)
			if err != nil {
				obs.Detail = "TLS handshake: " + err.Error()
			} else {
				e := exchange(tc)
				facts.TLSPing = &e
			}
			stop()
			raw2.Close()
		}
	} else {
		obs.Sent = "PING without TLS"
	}

	obs.Outcome = outcome(facts)
	switch {
	case errors.Is(ctx.Err(), context.Canceled):
		obs.State, obs.Error, obs.Outcome = probes.NoState, probes.ErrCanceled, "canceled during the Redis exchange"
	case facts.PingReply() == nil:
		// Neither PING drew a RESP reply: what listens is not Redis, or
		// not one that answers.
		obs.Error = probes.ErrProtocol
		obs.Outcome = "connected, but no Redis reply: " + obs.Outcome
	}
	obs.Duration = time.Since(obs.Started)
	return obs
}

// exchange sends PING on c and reads the first line of the reply.
func exchange(c net.Conn) Exchange {
	if _, err := io.WriteString(c, ping); err != nil {
		return Exchange{Outcome: describeEnd(err)}
	}
	r, seen, err := readReply(bufio.NewReaderSize(c, 64))
	switch {
	case err == nil:
		return Exchange{Reply: &r}
	case errors.Is(err, errNotRESP):
		return Exchange{Outcome: "not RESP", Bytes: seen}
	}
	return Exchange{Outcome: describeEnd(err), Bytes: seen}
}

// outcome sums the facts up in a line.
func outcome(f *Facts) string {
	var parts []string
	p := f.Plaintext
	if p.Reply != nil {
		parts = append(parts, "no TLS: PING without TLS answered "+p.Reply.String())
		return parts[0]
	}
	parts = append(parts, "PING without TLS drew no reply ("+p.Outcome+")")
	switch {
	case f.TLS == nil && f.TLSPing != nil:
		parts = append(parts, f.TLSPing.Outcome)
	case f.TLS == nil:
	case f.TLS.Version == "":
		parts = append(parts, "the TLS handshake failed")
	case f.TLSPing == nil:
	case f.TLSPing.Reply != nil:
		parts = append(parts, "over TLS ("+f.TLS.Version+"): "+f.TLSPing.Reply.String())
	default:
		parts = append(parts, "over TLS ("+f.TLS.Version+"): no reply to PING ("+f.TLSPing.Outcome+")")
	}
	return strings.Join(parts, "; ")
}

// describeEnd says how a read or write ended, in a few words.
func describeEnd(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout():
		return "no answer before the timeout"
	case errors.Is(err, io.EOF):
		return "closed"
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "closed mid-reply"
	case probes.Classify(err).Outcome == "connection reset by peer":
		return "reset"
	}
	return err.Error()
}

// bound sets ctx's deadline on c and makes ctx's end cut its reads and
// writes short, until the returned function is called.
func bound(ctx context.Context, c net.Conn) func() bool {
	if dl, ok := ctx.Deadline(); ok {
		_ = c.SetDeadline(dl)
	}
	return context.AfterFunc(ctx, func() { _ = c.SetDeadline(time.Unix(1, 0)) })
}
