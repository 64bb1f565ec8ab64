package redis

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"

	"probe/probes/tcp"
)

// ping is PING as a RESP array of one bulk string, what redis-cli sends.
const ping = "*1\r\n$4\r\nPING\r\n"

// MaxReplyLine bounds the reply line the probe reads. PONG, NOAUTH and the
// ACL errors are under 100 bytes.
const MaxReplyLine = 512

// errNotRESP says the bytes read are not a RESP reply.
var errNotRESP = errors.New("not a RESP reply")

// respTypes are the first bytes of a RESP2 or RESP3 reply.
const respTypes = "+-:$*_,#!=(%~>|"

// Reply is the first line of a server's answer to PING.
type Reply struct {
	// Type is the reply's first byte: "+" a simple string, "-" an error,
	// and so on.
	Type string `json:"type"`
	// Text is the rest of the line, printable ("PONG", "NOAUTH
	// Authentication required.").
	Text string `json:"text"`
}

// Code is an error reply's code, its first word ("NOAUTH", "NOPERM");
// empty for any other reply.
func (r Reply) Code() string {
	if r.Type != "-" {
		return ""
	}
	code, _, _ := strings.Cut(r.Text, " ")
	return code
}

// String is the line as the server sent it, without CR LF.
func (r Reply) String() string { return r.Type + r.Text }

// readReply reads the first line of a reply: a RESP type byte, then up to
// CR LF. It reads at most MaxReplyLine bytes. A first byte that is no RESP
// type, a line without CR LF within the bound, or a CR or LF alone is
// errNotRESP; the bytes seen are returned with it, printable, to show what
// answered instead.
func readReply(r *bufio.Reader) (Reply, string, error) {
	var line []byte
	for len(line) < MaxReplyLine {
		c, err := r.ReadByte()
		if err != nil {
			if errors.Is(err, io.EOF) && len(line) > 0 {
				err = io.ErrUnexpectedEOF
			}
			return Reply{}, shown(line), err
		}
		if len(line) == 0 && !strings.ContainsRune(respTypes, rune(c)) {
			return Reply{}, shown([]byte{c}), fmt.Errorf("%w: the first byte is %q", errNotRESP, c)
		}
		if len(line) > 0 && line[len(line)-1] == '\r' {
			if c != '\n' {
				return Reply{}, shown(append(line, c)), fmt.Errorf("%w: a CR without LF", errNotRESP)
			}
			line = line[:len(line)-1]
			return Reply{Type: string(line[0]), Text: shown(line[1:])}, "", nil
		}
		if c == '\n' {
			// A reply line ends in CR LF and holds neither alone.
			return Reply{}, shown(append(line, c)), fmt.Errorf("%w: a LF without CR", errNotRESP)
		}
		line = append(line, c)
	}
	return Reply{}, shown(line), fmt.Errorf("%w: no line end in %d bytes", errNotRESP, MaxReplyLine)
}

func shown(b []byte) string {
	if len(b) > 64 {
		b = b[:64]
	}
	return tcp.Printable(b)
}
