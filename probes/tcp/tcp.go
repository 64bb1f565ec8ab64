// Package tcp is the TCP connect probe: one handshake to one port, and
// optionally a short wait for the server's first bytes (its banner).
//
// It opens one connection per call, sends nothing but the handshake, and
// closes at once (after the banner, when asked to wait for one). It tells
// the answers apart that a firewall check depends on: a completed handshake
// (open), a RST (closed), silence (filtered), an ICMP prohibited answer
// (filtered), and the prober's own failures (no route, name not resolved,
// local errors).
package tcp

import (
	"context"
	"errors"
	"io"
	"net"
	"strconv"
	"strings"
	"time"
	"unicode"

	"probe/probes"
)

// DefaultBannerWait is how long to wait for a banner after the handshake. A
// service that greets (SSH, ESL, SMTP) does so within milliseconds; waiting
// longer only slows the run on services that never speak first.
const DefaultBannerWait = 2 * time.Second

// MaxBanner is how many bytes of a banner are kept.
const MaxBanner = 512

// Options tune one TCP probe.
type Options struct {
	// ReadBanner waits for the server's first bytes after connecting.
	ReadBanner bool
	// BannerWait bounds that wait; DefaultBannerWait when zero.
	BannerWait time.Duration
}

// Facts are what a connected TCP probe learned.
type Facts struct {
	// LocalAddr is the prober's side of the connection.
	LocalAddr string `json:"local_addr,omitempty"`
	// Banner is the server's first bytes, printable, truncated to MaxBanner;
	// empty when none came or none was asked for.
	Banner string `json:"banner,omitempty"`
	// BannerRead says whether a banner was waited for.
	BannerRead bool `json:"banner_read,omitempty"`
	// BannerOutcome says how the wait ended: "received", "none before
	// timeout", "closed by peer".
	BannerOutcome string `json:"banner_outcome,omitempty"`
}

// Probe connects to t within ctx's deadline.
func Probe(ctx context.Context, t probes.Target, opt Options) probes.Observation {
	obs := probes.Start("TCP SYN")
	var d net.Dialer
	conn, err := d.DialContext(ctx, t.Network("tcp"), net.JoinHostPort(t.Host, strconv.Itoa(t.Port)))
	if err != nil {
		return obs.Settle(t, err)
	}
	defer conn.Close()
	obs = obs.Settle(t, nil)
	obs.Outcome = "handshake completed"
	facts := &Facts{LocalAddr: conn.LocalAddr().String()}
	if opt.ReadBanner {
		facts.BannerRead = true
		facts.Banner, facts.BannerOutcome = readBanner(ctx, conn, opt.BannerWait)
	}
	obs.Facts = facts
	obs.Duration = time.Since(obs.Started)
	return obs
}

func readBanner(ctx context.Context, conn net.Conn, wait time.Duration) (string, string) {
	if wait <= 0 {
		wait = DefaultBannerWait
	}
	deadline := time.Now().Add(wait)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	_ = conn.SetReadDeadline(deadline)
	buf := make([]byte, MaxBanner)
	n, err := io.ReadAtLeast(conn, buf, 1)
	// Greetings often arrive in pieces: take what follows within a moment.
	for err == nil && n < len(buf) {
		_ = conn.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
		var m int
		m, err = conn.Read(buf[n:])
		n += m
		if err != nil {
			break
		}
	}
	banner := Printable(buf[:n])
	switch {
	case n > 0:
		return banner, "received"
	case errors.Is(err, io.EOF):
		return "", "closed by peer"
	default:
		return "", "none before timeout"
	}
}

// Printable returns b as text with every unprintable byte (but newline)
// written as an escape, so a banner is safe to show in a terminal or report.
func Printable(b []byte) string {
	var sb strings.Builder
	for _, r := range string(b) {
		switch {
		case r == '\n' || r == '\t':
			sb.WriteRune(r)
		case r == '\r':
			sb.WriteString(`\r`)
		case r == unicode.ReplacementChar || !unicode.IsPrint(r):
			sb.WriteString(strconv.QuoteRune(r)[1 : len(strconv.QuoteRune(r))-1])
		default:
			sb.WriteRune(r)
		}
	}
	return sb.String()
}
