package postgres

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"

	"probe/probes/tcp"
)

// The few messages of PostgreSQL's frontend/backend protocol 3.0 the probe
// needs (the "Message Formats" chapter of PostgreSQL's documentation).
const (
	// sslRequestCode asks the server for TLS: an 8-byte message, the length
	// then this code. The server answers one byte, 'S' or 'N'.
	sslRequestCode = 80877103
	// protocol30 is the version a StartupMessage announces (3.0).
	protocol30 = 196608
)

// MaxMessage bounds one backend message the probe reads. What a server
// sends before authentication (an authentication request, an error or a
// notice) is a few hundred bytes.
const MaxMessage = 8 << 10

// maxMessages bounds how many messages are read after a StartupMessage
// looking for the one that decides (notices and protocol-version
// negotiation may come first).
const maxMessages = 8

// sslRequest is the SSLRequest message.
func sslRequest() []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint32(b, 8)
	binary.BigEndian.PutUint32(b[4:], sslRequestCode)
	return b
}

// startupMessage is a StartupMessage for protocol 3.0 with the given
// parameters, in order (name, value, name, value...).
func startupMessage(params ...string) []byte {
	var body bytes.Buffer
	_ = binary.Write(&body, binary.BigEndian, uint32(protocol30))
	for _, p := range params {
		body.WriteString(p)
		body.WriteByte(0)
	}
	body.WriteByte(0)
	b := make([]byte, 4, 4+body.Len())
	binary.BigEndian.PutUint32(b, uint32(4+body.Len()))
	return append(b, body.Bytes()...)
}

// terminate is the Terminate message, sent only when the server has let
// the probe in (AuthenticationOk), to end the session it opened cleanly.
var terminate = []byte{'X', 0, 0, 0, 4}

// Answer says how the server answered a StartupMessage.
type Answer string

const (
	// Refused: an ErrorResponse before any authentication request (the
	// server's pg_hba.conf has no entry that lets this connection in).
	Refused Answer = "refused"
	// AuthRequested: the server asked for authentication (Method says how).
	AuthRequested Answer = "auth-requested"
	// NoAuth: AuthenticationOk at once: the server let the probe in with
	// no authentication at all (pg_hba.conf "trust").
	NoAuth Answer = "no-auth"
	// NoAnswer: no deciding message came: a close, a timeout, or bytes
	// that are not PostgreSQL's protocol.
	NoAnswer Answer = "no-answer"
)

// Startup is what one StartupMessage drew.
type Startup struct {
	// Answer is how the server answered.
	Answer Answer `json:"answer"`
	// AuthCode is the code of the authentication request (3 cleartext
	// password, 5 MD5, 10 SASL; 0 is AuthenticationOk).
	AuthCode *int `json:"auth_code,omitempty"`
	// Method names the authentication asked for: "password" (cleartext),
	// "md5", "sasl", "gss", "sspi", ...; "trust" for AuthenticationOk.
	Method string `json:"method,omitempty"`
	// Mechanisms are the SASL mechanisms offered ("SCRAM-SHA-256").
	Mechanisms []string `json:"mechanisms,omitempty"`
	// SQLState is the ErrorResponse's code ("28000": pg_hba.conf refused
	// the connection).
	SQLState string `json:"sqlstate,omitempty"`
	// Severity is the ErrorResponse's severity, not localized ("FATAL").
	Severity string `json:"severity,omitempty"`
	// Message is the ErrorResponse's primary message, printable.
	Message string `json:"message,omitempty"`
	// Notices are the messages of NoticeResponses that came first.
	Notices []string `json:"notices,omitempty"`
	// Detail says why there was no answer, when there was none.
	Detail string `json:"detail,omitempty"`
}

// errNotPostgres says the server's bytes are not PostgreSQL's protocol.
var errNotPostgres = errors.New("not a PostgreSQL message")

// authMethods names the authentication request codes.
var authMethods = map[int]string{
	0: "trust", 2: "kerberos-v5", 3: "password", 5: "md5", 6: "scm-credential",
	7: "gss", 8: "gss-continue", 9: "sspi", 10: "sasl", 11: "sasl-continue", 12: "sasl-final",
}

// readMessage reads one backend message: a type byte, an int32 length that
// counts itself, and the payload. A length under 4 or over MaxMessage, or a
// type byte that is not a letter, is errNotPostgres.
func readMessage(r *bufio.Reader) (byte, []byte, error) {
	var hdr [5]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return 0, nil, err
	}
	typ := hdr[0]
	n := binary.BigEndian.Uint32(hdr[1:])
	if !(typ >= 'A' && typ <= 'Z' || typ >= 'a' && typ <= 'z') {
		return typ, nil, fmt.Errorf("%w: message type %q", errNotPostgres, typ)
	}
	if n < 4 || n-4 > MaxMessage {
		return typ, nil, fmt.Errorf("%w: length %d", errNotPostgres, n)
	}
	payload := make([]byte, n-4)
	if _, err := io.ReadFull(r, payload); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return typ, nil, err
	}
	return typ, payload, nil
}

// readStartupAnswer reads the server's messages after a StartupMessage up
// to the first that decides: an authentication request or an error. It
// returns the answer and, when none decided, the error that ended the read.
func readStartupAnswer(r *bufio.Reader) (Startup, error) {
	var s Startup
	for range maxMessages {
		typ, payload, err := readMessage(r)
		if err != nil {
			s.Answer = NoAnswer
			return s, err
		}
		switch typ {
		case 'R':
			if len(payload) < 4 {
				s.Answer = NoAnswer
				return s, fmt.Errorf("%w: an authentication request of %d bytes", errNotPostgres, len(payload))
			}
			code := int(int32(binary.BigEndian.Uint32(payload)))
			s.AuthCode = &code
			s.Method = authMethods[code]
			if s.Method == "" {
				s.Method = fmt.Sprintf("unknown (%d)", code)
			}
			s.Answer = AuthRequested
			if code == 0 {
				s.Answer = NoAuth
			}
			if code == 10 {
				s.Mechanisms = cStrings(payload[4:], 16)
			}
			return s, nil
		case 'E':
			f := errorFields(payload)
			s.Answer = Refused
			s.SQLState, s.Message = f['C'], f['M']
			s.Severity = f['V']
			if s.Severity == "" {
				s.Severity = f['S'] // servers before 9.6 send only the localized one
			}
			return s, nil
		case 'N':
			if len(s.Notices) < 4 {
				s.Notices = append(s.Notices, errorFields(payload)['M'])
			}
		case 'v':
			// NegotiateProtocolVersion: the server speaks an older minor
			// version; what decides comes next.
		default:
			s.Answer = NoAnswer
			return s, fmt.Errorf("%w: unexpected message %q before authentication", errNotPostgres, typ)
		}
	}
	s.Answer = NoAnswer
	return s, fmt.Errorf("%w: %d messages and no authentication request", errNotPostgres, maxMessages)
}

// errorFields reads the fields of an ErrorResponse or NoticeResponse: a
// code byte and a NUL-terminated string each, up to a zero byte. Values
// are made printable and cut to 512 bytes; a field cut short by the end of
// the payload is kept as far as it goes.
func errorFields(p []byte) map[byte]string {
	out := map[byte]string{}
	for len(p) > 0 && p[0] != 0 {
		code := p[0]
		p = p[1:]
		v := p
		if i := bytes.IndexByte(p, 0); i >= 0 {
			v, p = p[:i], p[i+1:]
		} else {
			p = nil
		}
		if _, dup := out[code]; !dup {
			out[code] = printable(v, 512)
		}
	}
	return out
}

// cStrings reads up to max NUL-terminated strings, ending at an empty one.
func cStrings(p []byte, max int) []string {
	var out []string
	for len(out) < max {
		i := bytes.IndexByte(p, 0)
		if i <= 0 {
			break
		}
		out = append(out, printable(p[:i], 64))
		p = p[i+1:]
	}
	return out
}

// printable returns at most n bytes of b as safe text on one line.
func printable(b []byte, n int) string {
	if len(b) > n {
		b = b[:n]
	}
	return strings.TrimSpace(strings.NewReplacer("\n", " ", "\t", " ").Replace(tcp.Printable(b)))
}
