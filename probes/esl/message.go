package esl

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// MaxHeaderBytes bounds the header block of one message. A greeting or a
// command reply is a few dozen bytes; anything longer is not what we asked.
const MaxHeaderBytes = 4096

// MaxBody bounds a message's body (the rude-rejection text is 24 bytes).
const MaxBody = 4096

// ErrNotESL says the bytes read are not an ESL message.
var ErrNotESL = errors.New("the answer is not an ESL message")

// Header is one "Name: value" line.
type Header struct {
	Name  string
	Value string
}

// Message is one ESL message: header lines up to an empty line, then as
// many body bytes as Content-Length says.
type Message struct {
	Headers []Header
	Body    []byte
}

// Get returns the first value of the named header (names compared without
// regard to case), or "".
func (m Message) Get(name string) string {
	for _, h := range m.Headers {
		if strings.EqualFold(h.Name, name) {
			return h.Value
		}
	}
	return ""
}

// ContentType is the message's Content-Type: "auth/request",
// "text/rude-rejection", "command/reply".
func (m Message) ContentType() string { return m.Get("Content-Type") }

// Encode writes m as it travels on the wire.
func (m Message) Encode() []byte {
	var b strings.Builder
	for _, h := range m.Headers {
		b.WriteString(h.Name + ": " + h.Value + "\n")
	}
	b.WriteString("\n")
	b.Write(m.Body)
	return []byte(b.String())
}

// ReadMessage reads one message from r. Lines end in "\n" (a "\r" before
// it is tolerated); empty lines before the first header are skipped, as
// FreeSWITCH's own client does. It returns io.EOF when r ends before any
// byte, io.ErrUnexpectedEOF when it ends inside a message, and ErrNotESL
// (wrapped) when a line is not a header or a limit is passed.
func ReadMessage(r *bufio.Reader) (Message, error) {
	var m Message
	read := 0
	for {
		line, err := readLine(r, &read)
		if err != nil {
			if errors.Is(err, io.EOF) && read == 0 {
				return m, io.EOF
			}
			if errors.Is(err, io.EOF) {
				return m, io.ErrUnexpectedEOF
			}
			return m, err
		}
		if line == "" {
			if len(m.Headers) == 0 {
				continue
			}
			break
		}
		name, value, ok := strings.Cut(line, ":")
		if !ok || !isName(name) {
			return m, fmt.Errorf("%w: %q is not a header line", ErrNotESL, clip(line))
		}
		m.Headers = append(m.Headers, Header{Name: name, Value: strings.TrimLeft(value, " ")})
	}
	cl := m.Get("Content-Length")
	if cl == "" {
		return m, nil
	}
	n, err := strconv.Atoi(cl)
	if err != nil || n < 0 || n > MaxBody || cl[0] == '+' {
		return m, fmt.Errorf("%w: Content-Length %q", ErrNotESL, clip(cl))
	}
	m.Body = make([]byte, n)
	if _, err := io.ReadFull(r, m.Body); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return m, err
	}
	return m, nil
}

// readLine reads up to "\n", without it and without trailing "\r"s,
// counting the bytes into *read against MaxHeaderBytes.
func readLine(r *bufio.Reader, read *int) (string, error) {
	var b []byte
	for {
		c, err := r.ReadByte()
		if err != nil {
			return "", err
		}
		*read++
		if *read > MaxHeaderBytes {
			return "", fmt.Errorf("%w: more than %d bytes of headers", ErrNotESL, MaxHeaderBytes)
		}
		if c == '\n' {
			return strings.TrimRight(string(b), "\r"), nil
		}
		b = append(b, c)
	}
}

// isName reports whether s can be a header name: printable ASCII, no
// spaces. ESL's names are words joined by dashes ("Reply-Text").
func isName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f {
			return false
		}
	}
	return true
}

func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}
