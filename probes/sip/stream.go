package sip

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"

	"probe/probes"
	"probe/probes/tlsinfo"
)

// probeStream sends the OPTIONS over its own TCP connection, wrapped in TLS
// when t.Transport is "tls". Its own connection rather than sipgo's client,
// so that a refusal, a timeout and a failed handshake stay apart, and the
// TLS connection state is at hand for the facts.
func probeStream(ctx context.Context, t probes.Target, opt Options) probes.Observation {
	isTLS := strings.EqualFold(t.Transport, "tls")
	sent := "SIP OPTIONS over TCP"
	if isTLS {
		sent = "SIP OPTIONS over TLS"
	}
	obs := probes.Start(sent)

	var tlsCfg *tls.Config
	var verify *tlsinfo.Verifier
	if isTLS {
		var err error
		verify, err = tlsinfo.New(t.Host, tlsinfo.Options{ServerName: opt.ServerName, CAFiles: []string{opt.CAFile}, Insecure: opt.InsecureSkipVerify})
		if err != nil {
			obs = obs.Settle(t, nil)
			obs.State, obs.Error, obs.Outcome, obs.Detail = probes.NoState, probes.ErrLocal, "CA file unusable", err.Error()
			return obs
		}
		tlsCfg = verify.Config()
	}

	var d net.Dialer
	raw, err := d.DialContext(ctx, t.Network("tcp"), net.JoinHostPort(t.Host, strconv.Itoa(t.Port)))
	if err != nil {
		return obs.Settle(t, err)
	}
	defer raw.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = raw.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { _ = raw.SetDeadline(time.Now()) })
	defer stop()

	facts := &Facts{Transport: strings.ToLower(t.Transport)}
	obs.Facts = facts
	var conn net.Conn = raw
	if isTLS {
		tc := tls.Client(raw, tlsCfg)
		err := tc.HandshakeContext(ctx)
		facts.TLS = verify.Facts(tc.ConnectionState(), err == nil)
		if err != nil {
			return protocolFailure(ctx, t, obs, "TLS handshake failed", err)
		}
		conn = tc
	}

	req := newRequest(t, raw.LocalAddr(), userAgent(opt))
	facts.RequestLine, facts.Via = req.line, req.via
	sentAt := time.Now()
	if _, err := conn.Write(req.raw); err != nil {
		return protocolFailure(ctx, t, obs, "connection failed while sending", err)
	}
	a, err := readAnswer(conn, req.branch, facts)
	if a == nil {
		return protocolFailure(ctx, t, obs, "no SIP response", err)
	}
	facts.record(*a)
	facts.RTT = time.Since(sentAt)
	obs = obs.Settle(t, nil)
	obs.Outcome = fmt.Sprintf("SIP %d %s", a.status, a.reason)
	return obs
}

// readAnswer reads messages until the final answer to our request. When the
// stream ends first it returns the last provisional answer, if any, and the
// error that ended it.
//
// Messages are framed here (headers end at a blank line, then
// Content-Length bytes of body) and each whole message is parsed on its
// own, so an answer split across reads at any byte is read the same as one
// that came in one piece.
func readAnswer(conn net.Conn, branch string, facts *Facts) (*answer, error) {
	buf := make([]byte, 4096)
	var pending []byte
	var provisional *answer
	for {
		n, err := conn.Read(buf)
		pending = append(pending, buf[:n]...)
		for {
			size, ok, ferr := frame(pending)
			if ferr != nil {
				return provisional, fmt.Errorf("unparsable answer: %w", ferr)
			}
			if !ok {
				break // wait for the rest of the message
			}
			msg, perr := sipmsg.ParseMessage(pending[:size])
			pending = pending[size:]
			if perr != nil {
				// Not SIP: nothing more to learn from this stream.
				return provisional, fmt.Errorf("unparsable answer: %w", perr)
			}
			a, ok := answerOf(msg, branch)
			switch {
			case !ok:
				facts.Ignored++
			case a.final():
				return &a, nil
			default:
				provisional = &a
			}
		}
		if err != nil {
			return provisional, err
		}
	}
}

// maxMessage bounds one framed message; an answer to OPTIONS is far smaller.
const maxMessage = 64 << 10

// frame finds the first whole message in b: its size and whether it is all
// there yet.
func frame(b []byte) (int, bool, error) {
	trimmed := bytes.TrimLeft(b, "\r\n") // RFC 3261 §7.5: CRLFs between messages
	skipped := len(b) - len(trimmed)
	b = trimmed
	end := bytes.Index(b, []byte("\r\n\r\n"))
	if end < 0 {
		if len(b) > maxMessage {
			return 0, false, errors.New("no end of headers in 64 KiB")
		}
		return 0, false, nil
	}
	length := 0
	for _, line := range bytes.Split(b[:end], []byte("\r\n"))[1:] {
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue
		}
		name = bytes.TrimSpace(name)
		if bytes.EqualFold(name, []byte("Content-Length")) || bytes.EqualFold(name, []byte("l")) {
			v, err := strconv.Atoi(string(bytes.TrimSpace(value)))
			if err != nil || v < 0 || v > maxMessage {
				return 0, false, fmt.Errorf("bad Content-Length %q", bytes.TrimSpace(value))
			}
			length = v
		}
	}
	size := end + 4 + length
	if len(b) < size {
		return 0, false, nil
	}
	return size + skipped, true, nil
}

// protocolFailure settles an observation whose connection was made but whose
// exchange went wrong: the port is open, the protocol failed.
func protocolFailure(ctx context.Context, t probes.Target, obs probes.Observation, what string, err error) probes.Observation {
	if errors.Is(ctx.Err(), context.Canceled) {
		return obs.Settle(t, ctx.Err())
	}
	obs = obs.Settle(t, nil)
	obs.Outcome = "connected; " + what
	switch {
	case errors.Is(err, io.EOF):
		obs.Outcome += ": closed by peer"
	case errors.Is(err, os.ErrDeadlineExceeded), errors.Is(err, context.DeadlineExceeded):
		obs.Outcome += " before the timeout"
	}
	obs.Error = probes.ErrProtocol
	if err != nil {
		obs.Detail = err.Error()
	}
	return obs
}
