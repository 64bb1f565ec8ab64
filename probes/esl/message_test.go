package esl

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
)

func read(s string) (Message, error) {
	return ReadMessage(bufio.NewReader(strings.NewReader(s)))
}

func TestReadMessage(t *testing.T) {
	cases := []struct {
		name    string
		in      string
		headers []Header
		body    string
		err     error
	}{
		{"auth request", "Content-Type: auth/request\n\n", []Header{{"Content-Type", "auth/request"}}, "", nil},
		{"rude rejection with its body", "Content-Type: text/rude-rejection\nContent-Length: 24\n\nAccess Denied, go away.\n",
			[]Header{{"Content-Type", "text/rude-rejection"}, {"Content-Length", "24"}}, "Access Denied, go away.\n", nil},
		{"command reply", "Content-Type: command/reply\nReply-Text: +OK accepted\n\n",
			[]Header{{"Content-Type", "command/reply"}, {"Reply-Text", "+OK accepted"}}, "", nil},
		{"CRLF tolerated", "Content-Type: auth/request\r\n\r\n", []Header{{"Content-Type", "auth/request"}}, "", nil},
		{"leading blank lines skipped", "\n\nContent-Type: auth/request\n\n", []Header{{"Content-Type", "auth/request"}}, "", nil},
		{"value keeps its colons", "Reply-Text: -ERR invalid: try again\n\n", []Header{{"Reply-Text", "-ERR invalid: try again"}}, "", nil},
		{"empty value", "X-Empty:\n\n", []Header{{"X-Empty", ""}}, "", nil},
		{"nothing at all", "", nil, "", io.EOF},
		{"cut in the headers", "Content-Type: auth/req", nil, "", io.ErrUnexpectedEOF},
		{"no blank line", "Content-Type: auth/request\n", nil, "", io.ErrUnexpectedEOF},
		{"cut in the body", "Content-Type: text/rude-rejection\nContent-Length: 24\n\nAccess", nil, "", io.ErrUnexpectedEOF},
		{"an SSH banner", "SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n", nil, "", ErrNotESL},
		{"an HTTP response", "HTTP/1.1 400 Bad Request\r\nServer: nginx\r\n\r\n", nil, "", ErrNotESL},
		{"space in a name", "Content Type: auth/request\n\n", nil, "", ErrNotESL},
		{"negative length", "Content-Length: -1\n\n", nil, "", ErrNotESL},
		{"signed length", "Content-Length: +1\n\nx", nil, "", ErrNotESL},
		{"length too large", "Content-Length: 4097\n\n", nil, "", ErrNotESL},
		{"headers too long", "X: " + strings.Repeat("a", MaxHeaderBytes) + "\n\n", nil, "", ErrNotESL},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, err := read(c.in)
			if !errors.Is(err, c.err) {
				t.Fatalf("error %v; want %v", err, c.err)
			}
			if err != nil {
				return
			}
			if !reflect.DeepEqual(m.Headers, c.headers) || string(m.Body) != c.body {
				t.Errorf("got %q body %q; want %q body %q", m.Headers, m.Body, c.headers, c.body)
			}
		})
	}
}

func TestGetIgnoresCaseAndTakesTheFirst(t *testing.T) {
	m, err := read("content-type: auth/request\nContent-Type: text/rude-rejection\n\n")
	if err != nil {
		t.Fatal(err)
	}
	if got := m.ContentType(); got != "auth/request" {
		t.Errorf("ContentType() = %q; want auth/request", got)
	}
}

// Two messages back to back: the reader stops at the end of the first.
func TestReadMessageStopsAtItsEnd(t *testing.T) {
	r := bufio.NewReader(strings.NewReader("Content-Type: auth/request\n\nContent-Type: command/reply\nReply-Text: -ERR invalid\n\n"))
	first, err1 := ReadMessage(r)
	second, err2 := ReadMessage(r)
	if err1 != nil || err2 != nil || first.ContentType() != "auth/request" || second.Get("Reply-Text") != "-ERR invalid" {
		t.Errorf("read %q (%v) then %q (%v); want the greeting, then the reply", first.Headers, err1, second.Headers, err2)
	}
}

func TestIsAuthRequest(t *testing.T) {
	for in, want := range map[string]bool{
		"Content-Type: auth/request\n\n": true,
		"Content-Type: auth/request\n":   false, // cut short: not shown to be a whole greeting
		"Content-Type: text/rude-rejection\nContent-Length: 24\n\nAccess Denied, go away.\n": false,
		"SSH-2.0-OpenSSH_9.2\r\n":                   false,
		"X-Note: auth/request\n\n":                  false,
		"Content-Type: auth/request-not-really\n\n": false,
	} {
		if got := IsAuthRequest(in); got != want {
			t.Errorf("IsAuthRequest(%q) = %v; want %v", in, got, want)
		}
	}
}

// FuzzReadMessage: any input either fails or yields a message that is
// well formed and reads back the same after encoding.
func FuzzReadMessage(f *testing.F) {
	for _, s := range []string{
		"Content-Type: auth/request\n\n",
		"Content-Type: text/rude-rejection\nContent-Length: 24\n\nAccess Denied, go away.\n",
		"Content-Type: command/reply\nReply-Text: +OK accepted\n\n",
		"Content-Type: command/reply\r\nReply-Text: -ERR invalid\r\n\r\n",
		"\n\nA:\n\n",
		"Content-Length: 0\n\n",
		"SSH-2.0-OpenSSH_9.2\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ReadMessage(bufio.NewReader(bytes.NewReader(data)))
		if err != nil {
			return
		}
		if len(m.Headers) == 0 {
			t.Fatalf("a message without headers from %q", data)
		}
		for _, h := range m.Headers {
			if !isName(h.Name) || strings.ContainsAny(h.Value, "\n") || strings.HasSuffix(h.Value, "\r") {
				t.Fatalf("malformed header %q from %q", h, data)
			}
		}
		if len(m.Body) > MaxBody {
			t.Fatalf("body of %d bytes passed the %d limit", len(m.Body), MaxBody)
		}
		again, err := ReadMessage(bufio.NewReader(bytes.NewReader(m.Encode())))
		if err != nil {
			t.Fatalf("re-reading %q: %v", m.Encode(), err)
		}
		if !reflect.DeepEqual(again.Headers, m.Headers) || !bytes.Equal(again.Body, m.Body) {
			t.Fatalf("round trip changed %q into %q", m.Encode(), again.Encode())
		}
	})
}
