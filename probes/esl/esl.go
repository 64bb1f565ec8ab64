// Package esl checks FreeSWITCH's event socket (mod_event_socket, default
// port 8021/tcp) for its factory password.
//
// This is the one probe in the project that sends a credential. FreeSWITCH
// ships with the ESL password "ClueCon", and whoever authenticates on the
// event socket has full control of the switch: originate calls (toll fraud),
// listen to events, run any API command, reload its configuration. Whether
// that password still works is therefore worth proving, but only where the
// operator asks: the check is off by default and runs only when an
// expectation sets esl_default_password = true.
//
// One call opens one TCP connection and reads ESL's greeting. Only when the
// greeting is "Content-Type: auth/request" (the caller is inside ESL's ACL)
// does it send "auth <password>" once, read the one reply and close. From a
// vantage outside the ACL FreeSWITCH greets with "text/rude-rejection" and
// closes; then, as for any other greeting or none, nothing at all is sent.
// After "+OK accepted" nothing more is sent either: the connection is closed,
// which ends the session.
package esl

import (
	"bufio"
	"context"
	"errors"
	"net"
	"strconv"
	"strings"
	"time"

	"probe/probes"
)

// DefaultPassword is the password FreeSWITCH ships with in
// event_socket.conf.xml.
const DefaultPassword = "ClueCon"

// DefaultTimeout bounds a check whose context has no deadline.
const DefaultTimeout = 5 * time.Second

// Content types that ESL greets with.
const (
	AuthRequest   = "auth/request"        // the caller may log in
	RudeRejection = "text/rude-rejection" // the caller is outside ESL's ACL
)

// Outcome is how a password check ended.
type Outcome string

const (
	// Refused: the server answered the password with -ERR. The good case.
	Refused Outcome = "refused"
	// Accepted: the server answered +OK; anyone who reaches the port from
	// here controls the switch.
	Accepted Outcome = "accepted"
	// NotSent: the greeting was not auth/request (or none came, or no
	// connection was made), so the password was not sent.
	NotSent Outcome = "not-sent"
	// NoVerdict: the password was sent but the reply was neither +OK nor
	// -ERR, or none came.
	NoVerdict Outcome = "no-verdict"
)

// Result is what one password check saw.
type Result struct {
	// Outcome is how the check ended.
	Outcome Outcome `json:"outcome"`
	// Greeting is the greeting's Content-Type ("auth/request",
	// "text/rude-rejection"); empty when none was read.
	Greeting string `json:"greeting,omitempty"`
	// PasswordSent says whether the password went on the wire.
	PasswordSent bool `json:"password_sent"`
	// Reply is the server's Reply-Text to the password ("+OK accepted",
	// "-ERR invalid"); empty when none came.
	Reply string `json:"reply,omitempty"`
	// Detail says why the check ended as it did, in a sentence.
	Detail string `json:"detail,omitempty"`
}

// CheckDefaultPassword connects to t, reads the greeting and, only when it
// is auth/request, tries password once.
func CheckDefaultPassword(ctx context.Context, t probes.Target, password string) Result {
	if password == "" || strings.ContainsAny(password, "\r\n") {
		// A line break would end the command and start another one.
		return Result{Outcome: NotSent, Detail: "the password is empty or has a line break; nothing was sent"}
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultTimeout)
		defer cancel()
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, t.Network("tcp"), net.JoinHostPort(t.Host, strconv.Itoa(t.Port)))
	if err != nil {
		return Result{Outcome: NotSent, Detail: "could not connect: " + err.Error()}
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	r := bufio.NewReader(conn)
	greeting, err := ReadMessage(r)
	if err != nil {
		return Result{Outcome: NotSent, Detail: "no ESL greeting, so nothing was sent: " + err.Error()}
	}
	res := Result{Greeting: greeting.ContentType()}
	switch res.Greeting {
	case AuthRequest:
	case RudeRejection:
		res.Outcome, res.Detail = NotSent, "ESL rejected this vantage (outside its ACL); nothing was sent"
		return res
	default:
		res.Outcome, res.Detail = NotSent, "the greeting is not auth/request; nothing was sent"
		return res
	}

	if _, err := conn.Write([]byte("auth " + password + "\n\n")); err != nil {
		// Whether any of it left is unknown: say it may have.
		res.PasswordSent = true
		res.Outcome, res.Detail = NoVerdict, "sending the password failed: "+err.Error()
		return res
	}
	res.PasswordSent = true
	reply, err := ReadMessage(r)
	if err != nil {
		res.Outcome, res.Detail = NoVerdict, "no reply to the password: "+err.Error()
		if errors.Is(err, ErrNotESL) {
			res.Detail = "the reply to the password is not ESL: " + err.Error()
		}
		return res
	}
	res.Reply = reply.Get("Reply-Text")
	switch {
	case strings.HasPrefix(res.Reply, "+OK"):
		res.Outcome, res.Detail = Accepted, "the default password was accepted: ESL gives full control of the switch"
	case strings.HasPrefix(res.Reply, "-ERR"):
		res.Outcome, res.Detail = Refused, "the password was refused"
	default:
		res.Outcome, res.Detail = NoVerdict, "the reply is neither +OK nor -ERR ("+reply.ContentType()+")"
	}
	return res
}

// IsAuthRequest reports whether a greeting, as read by the TCP probe, is
// ESL asking for a password.
func IsAuthRequest(greeting string) bool {
	m, err := ReadMessage(bufio.NewReader(strings.NewReader(greeting)))
	return err == nil && m.ContentType() == AuthRequest
}
