// Package postgres is the PostgreSQL probe: whether a server offers and
// requires TLS, and whether it asks for a password, shown with the
// protocol's own first messages (PostgreSQL's frontend/backend protocol
// 3.0) and never a credential. The default port is 5432.
//
// It makes at most two TCP connections per call:
//
//  1. An SSLRequest, and the server's one-byte answer: 'S' (TLS follows)
//     or 'N' (no TLS). After 'S' the TLS handshake, whose facts (version,
//     chain verified against the system roots and any CA files, names,
//     days left) come from probes/tlsinfo. With Options.AskAuth, a
//     StartupMessage for Options.User then goes over TLS, and the server's
//     answer is read: an authentication request (SCRAM, MD5, cleartext,
//     GSS...), AuthenticationOk (no password: "trust"), or an error.
//  2. With Options.Plaintext, a StartupMessage without TLS on a second
//     connection: a server that requires TLS refuses it (an ErrorResponse
//     before any authentication request); one that asks for a password
//     here would take that password in the clear. When the first answer
//     was 'N', the first connection already is that plaintext connection,
//     and no second one is made.
//
// The probe stops at the first authentication request and closes: it never
// answers one, so no password, hash or SASL message is ever sent. Only when
// a server lets it in without any (AuthenticationOk) does it send
// Terminate before closing. Each StartupMessage names Options.User (DefaultUser
// unless set), Options.Database (the user's name unless set) and
// application_name "probe".
//
// What PostgreSQL 15 logs for one call (checked against Debian's 15 with
// ssl=on, "hostssl ... scram-sha-256" and "hostnossl ... reject", the
// default log settings; the tests assert these lines):
//
//	FATAL:  pg_hba.conf rejects connection for host "192.0.2.7", user "probe", database "probe", no encryption
//
// for the plaintext StartupMessage, or "no pg_hba.conf entry for host ...,
// no encryption" when pg_hba.conf has no line for non-TLS connections at
// all. The TLS connection that stops at the authentication request logs
// nothing at the default settings (PostgreSQL does not log a client that
// leaves without answering a password request), nor does one closed right
// after the handshake (no AskAuth); with log_connections = on
// it logs "connection received: host=192.0.2.7 port=50432" for each
// connection. A server that does not require TLS and asks for a password on
// the plaintext connection logs nothing either.
package postgres

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"

	"probe/probes"
	"probe/probes/tlsinfo"
)

// DefaultUser is the role name a StartupMessage names when Options.User is
// empty. It is fixed, never random, so that the server's log names the
// tool. It need not exist: a server asks an unknown role for its password
// as it asks a known one.
const DefaultUser = "probe"

// ApplicationName is sent as application_name in every StartupMessage.
const ApplicationName = "probe"

// DefaultTimeout bounds a probe whose context has no deadline.
const DefaultTimeout = 10 * time.Second

// Options tune one PostgreSQL probe.
type Options struct {
	// User is the role named in a StartupMessage; DefaultUser when empty.
	User string
	// Database is the database named; the user's name when empty.
	Database string
	// ServerName is sent as SNI and is the name the certificate is
	// verified for; the target's host when empty.
	ServerName string
	// CAFiles are PEM bundles of roots trusted besides the system's (the
	// RDS certificate bundle).
	CAFiles []string
	// Now is the clock for certificate expiry; time.Now when nil.
	Now func() time.Time
	// AskAuth sends a StartupMessage over TLS to see whether the server
	// asks for a password.
	AskAuth bool
	// Plaintext sends a StartupMessage without TLS to see whether the
	// server refuses it before any authentication request.
	Plaintext bool
}

// Connections says how many TCP connections a probe with opt makes at
// most, each owed a timeout of its own.
func Connections(opt Options) int {
	if opt.Plaintext {
		return 2
	}
	return 1
}

// Facts are what one PostgreSQL probe showed.
type Facts struct {
	// SSLAnswer is the server's answer to the SSLRequest: "S" (TLS
	// follows), "N" (no TLS), "E" (an error: a server that does not know
	// the request); empty when none came.
	SSLAnswer string `json:"ssl_answer,omitempty"`
	// TLS describes the handshake after "S"; nil when there was none.
	TLS *tlsinfo.Facts `json:"tls,omitempty"`
	// User and Database are what the StartupMessages named.
	User     string `json:"user"`
	Database string `json:"database"`
	// TLSStartup is the answer to the StartupMessage over TLS; nil when
	// none was sent.
	TLSStartup *Startup `json:"tls_startup,omitempty"`
	// PlaintextStartup is the answer to the StartupMessage without TLS;
	// nil when none was sent.
	PlaintextStartup *Startup `json:"plaintext_startup,omitempty"`
}

// TLSUp reports whether the server agreed to TLS and the handshake
// completed.
func (f *Facts) TLSUp() bool { return f.SSLAnswer == "S" && f.TLS != nil && f.TLS.Version != "" }

// Probe probes the PostgreSQL server at t within ctx's deadline.
func Probe(ctx context.Context, t probes.Target, opt Options) probes.Observation {
	user := opt.User
	if user == "" {
		user = DefaultUser
	}
	db := opt.Database
	if db == "" {
		db = user
	}
	facts := &Facts{User: user, Database: db}
	sent := []string{"SSLRequest, TLS handshake"}
	if opt.AskAuth {
		sent = append(sent, fmt.Sprintf("StartupMessage as %q over TLS", user))
	}
	if opt.Plaintext {
		sent = append(sent, fmt.Sprintf("StartupMessage as %q without TLS", user))
	}
	obs := probes.Start(strings.Join(sent, "; "))
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
	startup := startupMessage("user", user, "database", db, "application_name", ApplicationName)
	addr := net.JoinHostPort(t.Host, strconv.Itoa(t.Port))

	// The first connection gets its share of the time left, so that a
	// server that stalls it leaves the second one its own.
	ctx1, cancel1 := share(ctx, Connections(opt))
	defer cancel1()
	var d net.Dialer
	raw, err := d.DialContext(ctx1, t.Network("tcp"), addr)
	if err != nil {
		return obs.Settle(t, err)
	}
	obs = obs.Settle(t, nil)
	obs.Facts = facts
	conn := bound(ctx1, raw)

	first := make([]byte, 1)
	if _, err := conn.Write(sslRequest()); err != nil {
		conn.Close()
		return notPostgres(ctx, obs, "the SSLRequest could not be sent", err)
	}
	if _, err := io.ReadFull(conn, first); err != nil {
		conn.Close()
		return notPostgres(ctx, obs, "no answer to the SSLRequest", err)
	}
	switch first[0] {
	case 'S', 'N', 'E':
		facts.SSLAnswer = string(first)
	default:
		conn.Close()
		return notPostgres(ctx, obs, "the answer to the SSLRequest is not PostgreSQL's",
			fmt.Errorf("%w: the byte %q (want 'S' or 'N')", errNotPostgres, first[0]))
	}

	plaintextDone := false
	switch facts.SSLAnswer {
	case "S":
		tc := tls.Client(conn, v.Config())
		err := tc.HandshakeContext(ctx1)
		facts.TLS = v.Facts(tc.ConnectionState(), err == nil)
		if err != nil {
			conn.Close()
			return notPostgres(ctx, obs, "the server agreed to TLS, then the TLS handshake failed", err)
		}
		if opt.AskAuth {
			facts.TLSStartup = ask(tc, startup)
		}
		tc.Close()
	case "N":
		// No TLS: this connection is the plaintext one, if one is wanted.
		if opt.Plaintext || opt.AskAuth {
			facts.PlaintextStartup = ask(conn, startup)
			plaintextDone = true
		}
		conn.Close()
	case "E":
		// A server too old for SSLRequest answers it with an error and
		// closes: no TLS, and nothing more to learn on this connection.
		conn.Close()
	}

	if opt.Plaintext && !plaintextDone {
		cancel1()
		raw2, err := d.DialContext(ctx, t.Network("tcp"), addr)
		if err != nil {
			facts.PlaintextStartup = &Startup{Answer: NoAnswer, Detail: "the second connection failed: " + err.Error()}
		} else {
			conn2 := bound(ctx, raw2)
			facts.PlaintextStartup = ask(conn2, startup)
			conn2.Close()
		}
	}
	obs.Outcome = outcome(facts)
	if errors.Is(ctx.Err(), context.Canceled) {
		obs.State, obs.Error, obs.Outcome = probes.NoState, probes.ErrCanceled, "canceled during the PostgreSQL exchange"
	}
	obs.Duration = time.Since(obs.Started)
	return obs
}

// ask sends a StartupMessage on conn and reads what it draws. It never
// answers an authentication request; after AuthenticationOk it sends
// Terminate.
func ask(conn net.Conn, startup []byte) *Startup {
	if _, err := conn.Write(startup); err != nil {
		return &Startup{Answer: NoAnswer, Detail: "the StartupMessage could not be sent: " + err.Error()}
	}
	s, err := readStartupAnswer(bufio.NewReaderSize(conn, 512))
	if err != nil {
		s.Detail = describeEnd(err)
	}
	if s.Answer == NoAuth {
		_, _ = conn.Write(terminate)
	}
	return &s
}

// outcome sums the facts up in a line.
func outcome(f *Facts) string {
	var parts []string
	switch {
	case f.TLSUp():
		parts = append(parts, "TLS offered ("+f.TLS.Version+")")
	case f.SSLAnswer == "N":
		parts = append(parts, "TLS refused (N)")
	case f.SSLAnswer == "E":
		parts = append(parts, "the SSLRequest drew an error: no TLS")
	}
	if f.TLSStartup != nil {
		parts = append(parts, "over TLS: "+f.TLSStartup.Summary())
	}
	if f.PlaintextStartup != nil {
		parts = append(parts, "without TLS: "+f.PlaintextStartup.Summary())
	}
	return strings.Join(parts, "; ")
}

// Summary says in a few words how the server answered.
func (s *Startup) Summary() string {
	switch s.Answer {
	case Refused:
		return fmt.Sprintf("refused before authentication (%s %s: %s)", s.Severity, s.SQLState, s.Message)
	case AuthRequested:
		m := s.Method
		if len(s.Mechanisms) > 0 {
			m += " " + strings.Join(s.Mechanisms, ",")
		}
		return "authentication requested (" + m + ")"
	case NoAuth:
		return "let in without authentication (AuthenticationOk)"
	}
	return "no answer (" + s.Detail + ")"
}

// notPostgres settles a probe whose first connection connected but did not
// get through the SSLRequest and the handshake: the port is open and what
// answers does not speak PostgreSQL (or TLS) within the deadline.
func notPostgres(ctx context.Context, obs probes.Observation, what string, err error) probes.Observation {
	obs.Detail = err.Error()
	obs.Duration = time.Since(obs.Started)
	if errors.Is(ctx.Err(), context.Canceled) {
		obs.State, obs.Error, obs.Outcome = probes.NoState, probes.ErrCanceled, "canceled during the PostgreSQL exchange"
		return obs
	}
	obs.State, obs.Error = probes.Open, probes.ErrProtocol
	obs.Outcome = "connected, but " + what + ": " + describeEnd(err)
	return obs
}

// describeEnd says how a read or handshake ended, in a few words.
func describeEnd(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout():
		return "no answer before the timeout"
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return "the server closed the connection"
	case probes.Classify(err).Outcome == "connection reset by peer":
		return "the server reset the connection"
	}
	return err.Error()
}

// share returns a context that ends after 1/n of the time ctx has left.
func share(ctx context.Context, n int) (context.Context, context.CancelFunc) {
	dl, ok := ctx.Deadline()
	if !ok || n <= 1 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, time.Until(dl)/time.Duration(n))
}

// bound sets ctx's deadline on conn and makes ctx's end cut its reads and
// writes short. The returned connection's Close undoes the hook.
func bound(ctx context.Context, c net.Conn) net.Conn {
	if dl, ok := ctx.Deadline(); ok {
		_ = c.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { _ = c.SetDeadline(time.Unix(1, 0)) })
	return &boundConn{Conn: c, stop: stop}
}

type boundConn struct {
	net.Conn
	stop func() bool
}

func (c *boundConn) Close() error {
	c.stop()
	return c.Conn.Close()
}
