package rtp

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"sync"
	"time"

	"probe/probes"
	"probe/probes/udp"
)

// Pacing defaults, each with why.
const (
	// DefaultBurst in-range sends go at once: Linux's bucket of six
	// (XRLIM_BURST_FACTOR; net.ipv4.icmp_ratelimit = 1000 ms earns one
	// back). When the host answers with ICMP errors, the replay (RateLimit.Replay,
	// SpentTokens) counts the silent controls sent before the burst as
	// spent, so a silence of the burst's last ports is doubtful, never
	// wrongly green.
	DefaultBurst = 6
	// DefaultPace spaces the sends after the burst: Linux earns one ICMP
	// token back per second.
	DefaultPace = time.Second
	// DefaultWait is how long to listen after the last send: an ICMP error
	// or an echo comes back within a round trip, and 2 s covers a slow path.
	DefaultWait = 2 * time.Second
	// MinFinalWait is the least the probe listens after its last send
	// once the host has answered (an ICMP error or a reply): Linux's own
	// minimum retransmission timeout. The final wait is then
	// RTTFactor × the slowest answer's round trip, at least this, at most
	// Wait. A host that never answered gets the whole Wait.
	MinFinalWait = udp.MinAnswerWait
	// RTTFactor is how many of the slowest measured round trips the final
	// wait covers: the RTO's 4·RTTVAR margin, taken on the worst sample.
	RTTFactor = udp.RTTFactor
)

// Options tune a range probe. The zero value is the default.
type Options struct {
	// Wait is how long to listen after a send, at least, until the host
	// has answered; every socket stays open until the last send's wait
	// ends. Once answers have measured the host's round trip, the wait
	// after the last send shrinks to RTTFactor round trips (at least
	// MinFinalWait): an ICMP error is sent at once or never (Linux drops,
	// never delays, a rate-limited error), so listening longer hears
	// nothing more. DefaultWait when zero. A port is sent only while its
	// whole Wait still fits before the context's deadline.
	Wait time.Duration
	// Burst is how many in-range ports are sent at once before pacing
	// starts, on a fixed schedule with Pace. When neither Burst nor Pace
	// is set, there is no schedule: each port is sent as soon as the
	// target's ICMP bucket, as the errors actually received have left it,
	// holds a token no send still in its answer window may claim (Budget).
	// With either set, DefaultBurst when zero or less. Controls are sent first,
	// outside this count: a firewall that drops them (their expected
	// fate) spends no ICMP token. Where the host sends ICMP errors, the
	// replay still counts silent controls as spent (SpentTokens), so a
	// silence they might explain stays doubtful.
	Burst int
	// Pace is the gap between sends after the burst, on the fixed
	// schedule; DefaultPace when zero or less and Burst is set.
	Pace time.Duration
	// Budget is the target's live ICMP account, shared with the run's other
	// UDP probes of the same target, that paces the sends when there is no
	// fixed schedule; a fresh one under RateLimit when nil. On the fixed
	// schedule the sends are only recorded in it.
	Budget *udp.Budget
	// Family, when set ("ipv4", "ipv6"), is the address family a name in
	// host is resolved over (probes.Target's Family).
	Family string
	// RateLimit is the target's ICMP limiter as assumed when judging
	// silence; LinuxRateLimit when zero. An Interval below zero assumes no
	// limit.
	RateLimit RateLimit
	// Controls lists the ports that are controls (outside the range); they
	// are probed like the rest, sent before the range's ports, and marked
	// in their facts.
	Controls []int
	// Rand draws the packets' sequence numbers, timestamps and SSRCs;
	// math/rand/v2's global source when nil.
	Rand *rand.Rand

	live bool // paced by Budget, with no fixed schedule
}

func (o Options) withDefaults() Options {
	if o.Burst <= 0 && o.Pace <= 0 {
		if o.RateLimit == (RateLimit{}) {
			o.RateLimit = LinuxRateLimit
		}
		if o.Budget == nil {
			o.Budget = udp.NewBudget(o.RateLimit, nil)
		}
		o.live = true
	}
	if o.Wait <= 0 {
		o.Wait = DefaultWait
	}
	if o.Burst <= 0 {
		o.Burst = DefaultBurst
	}
	if o.Pace <= 0 {
		o.Pace = DefaultPace
	}
	if o.RateLimit == (RateLimit{}) {
		o.RateLimit = LinuxRateLimit
	}
	return o
}

// Answer names what came back from one port.
type Answer string

const (
	AnswerReply           Answer = "reply"                 // a datagram came back: open
	AnswerPortUnreachable Answer = "icmp-port-unreachable" // closed: passed the firewall
	AnswerProhibited      Answer = "icmp-prohibited"       // filtered by a rejecting firewall
	AnswerSilence         Answer = "silence"               // open|filtered
	AnswerError           Answer = "error"                 // the prober could not send
	AnswerUnfinished      Answer = "unfinished"            // sent, but the run stopped before the wait ended
	AnswerNotSent         Answer = "not-sent"              // the run ended before this port's turn
)

// Facts are what the probe of one port sent and saw.
type Facts struct {
	// Control marks a port outside the range, probed as a control.
	Control bool `json:"control"`
	// Answer names what came back.
	Answer Answer `json:"answer"`
	// Seq, Timestamp and SSRC are the sent packet's header fields; zero
	// when nothing was sent.
	Seq       uint16 `json:"seq"`
	Timestamp uint32 `json:"timestamp"`
	SSRC      uint32 `json:"ssrc"`
	// SentAfter is when the packet left, counted from the start of the
	// range's probe: the evidence of the pacing.
	SentAfter time.Duration `json:"sent_after_ns"`
	// ICMPBudget is how many ICMP error tokens the target's bucket held
	// just before this send, by a replay of RateLimit over the sends
	// (rounded to hundredths).
	ICMPBudget float64 `json:"icmp_budget"`
	// RateLimitSuspect says the port was silent and was sent when the
	// bucket may have been empty: a closed port would have looked the same.
	RateLimitSuspect bool `json:"rate_limit_suspect"`
	// ReplyBytes is the reply's length, when one came.
	ReplyBytes int `json:"reply_bytes,omitempty"`
	// ReplyKind is what the reply's first byte says it is (ReplyKind).
	ReplyKind string `json:"reply_kind,omitempty"`
	// Echo says the reply was the sent packet, byte for byte.
	Echo bool `json:"echo,omitempty"`
	// Second is the port's second packet, when it got one (see Second);
	// Answer is then what the two packets together showed.
	Second *Second `json:"second,omitempty"`
	// Neighbours are the packets sent once each to ports beside this
	// refused one, outside the sample, when it was the range's only
	// refused port and a second bracket was needed (see Second.Port).
	Neighbours []Second `json:"neighbours,omitempty"`
}

// Sent is the observation's description of what goes to each port.
const Sent = "RTP PCMU packet, once"

// port is one port's probe in flight.
type port struct {
	target  probes.Target
	packet  []byte
	facts   *Facts
	sent    bool
	at      time.Time // when the packet left
	conn    *net.UDPConn
	reply   []byte
	err     error     // the read's error, when no reply came
	endedAt time.Time // when the read returned
	obs     probes.Observation
	ticket  *udp.Ticket // the send's claim on the target's ICMP budget
}

// ProbePorts sends one RTP packet to each port of host, paced, and returns
// one observation per port, in order. The controls (opt.Controls) are sent
// first, then opt.Burst in-range ports at once, then one in-range port per
// opt.Pace. Every port's packet goes to the same
// address (host is resolved once), since the ICMP limit is per address.
//
// ctx's deadline bounds everything: a port whose turn, plus its wait, would
// fall after the deadline is not sent, and comes back with Error
// probes.ErrCanceled. It holds no lock shared with other probes.
func ProbePorts(ctx context.Context, host string, ports []int, opt Options) []probes.Observation {
	opt = opt.withDefaults()
	start := time.Now()
	ps := make([]*port, len(ports))
	for i, p := range ports {
		ps[i] = &port{
			target: probes.Target{Host: host, Port: p, Transport: "udp", Family: opt.Family},
			facts:  &Facts{Control: slices.Contains(opt.Controls, p), Answer: AnswerNotSent},
		}
	}
	out := func() []probes.Observation {
		obs := make([]probes.Observation, len(ps))
		for i, p := range ps {
			if p.facts.Answer == AnswerNotSent {
				p.obs = notProbed(ctx, start)
			}
			obs[i] = p.obs
			obs[i].Facts = p.facts
		}
		return obs
	}
	if len(ps) == 0 {
		return out()
	}

	addr, err := resolve(ctx, probes.Target{Host: host, Family: opt.Family})
	if err != nil {
		for _, p := range ps {
			if ctx.Err() == nil {
				p.obs = settle(start, p.target, err)
				p.facts.Answer = AnswerError
			}
		}
		return out()
	}

	wait := opt.Wait
	deadline, hasDeadline := ctx.Deadline()
	if left := time.Until(deadline); hasDeadline && left < wait {
		// Less time than one wait: the burst gets half of it, so that
		// it is sent and its wait still ends before the deadline.
		wait = left / 2
	}
	if wait <= 0 {
		return out() // the deadline has passed: nothing may be sent
	}

	// Reads end when the last send's wait does, or at once when ctx ends.
	var mu sync.Mutex
	var open []*net.UDPConn
	stopped := false
	stop := context.AfterFunc(ctx, func() {
		mu.Lock()
		defer mu.Unlock()
		stopped = true
		for _, c := range open {
			_ = c.SetReadDeadline(time.Now())
		}
	})
	defer stop()

	// The send order: controls first, then the range's ports as given.
	order := make([]*port, 0, len(ps))
	for _, p := range ps {
		if p.facts.Control {
			order = append(order, p)
		}
	}
	for _, p := range ps {
		if !p.facts.Control {
			order = append(order, p)
		}
	}

	finished := make(chan *port, len(ps))
	rnd := opt.Rand
	var last time.Time
	inRange := 0 // in-range ports whose turn has come
	var sent []*port
	for _, p := range order {
		if opt.live {
			if p.ticket = take(ctx, opt.Budget, deadline, hasDeadline, wait); p.ticket == nil {
				break
			}
		} else if opt.Budget != nil {
			p.ticket = opt.Budget.Force()
		}
		next := start
		if opt.live {
			next = time.Now()
		} else if !p.facts.Control {
			if inRange >= opt.Burst {
				next = start.Add(time.Duration(inRange-opt.Burst+1) * opt.Pace)
				next = laterOf(next, last.Add(opt.Pace))
			}
			inRange++
		}
		if hasDeadline && next.Add(wait).After(deadline) || !sleepUntil(ctx, next) ||
			hasDeadline && time.Now().Add(wait).After(deadline) { // running late: this port's wait no longer fits
			p.release()
			break
		}
		if p.target.Port < 1 || p.target.Port > 65535 {
			p.obs = settle(time.Now(), p.target, nil)
			p.obs.State, p.obs.Error, p.obs.Outcome = probes.NoState, probes.ErrInternal, "not a port number: "+strconv.Itoa(p.target.Port)
			p.facts.Answer = AnswerError
			p.release()
			continue
		}
		seq, ts, ssrc := uint16(draw(rnd)), draw(rnd), draw(rnd)
		p.packet = Packet(seq, ts, ssrc)
		conn, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(netip.AddrPortFrom(addr, uint16(p.target.Port))))
		if err != nil {
			p.obs = settle(time.Now(), p.target, err)
			p.facts.Answer = AnswerError
			p.release()
			continue
		}
		p.at = time.Now()
		if p.ticket != nil {
			p.ticket.Sent()
		}
		if _, err := conn.Write(p.packet); err != nil {
			conn.Close()
			p.obs = settle(p.at, p.target, err)
			p.facts.Answer = AnswerError
			p.release()
			continue
		}
		p.facts.Seq, p.facts.Timestamp, p.facts.SSRC = seq, ts, ssrc
		p.sent, p.conn = true, conn
		sent = append(sent, p)
		last = p.at
		if opt.live {
			// Heard for its own wait, so that its claim on the budget
			// ends with it even while later ports wait for tokens.
			_ = conn.SetReadDeadline(p.at.Add(wait))
		}
		mu.Lock()
		if stopped {
			_ = conn.SetReadDeadline(time.Now())
		}
		open = append(open, conn)
		mu.Unlock()
		go p.read(finished)
	}

	// Listen until the last send's wait ends: the whole wait until the
	// host answers, then RTTFactor times its slowest measured round trip
	// (at least MinFinalWait). The end only ever moves earlier.
	setEnd := func(end time.Time) {
		mu.Lock()
		defer mu.Unlock()
		if stopped {
			return
		}
		for _, c := range open {
			_ = c.SetReadDeadline(end)
		}
	}
	final := wait
	if w := budgetWindow(opt); w > 0 {
		// The host's round trip is known already (from the run's TCP
		// handshakes to it, or its other UDP probes' answers).
		final = min(wait, w)
	}
	if len(sent) > 0 {
		setEnd(last.Add(final))
	}
	var slowest time.Duration
	for range sent {
		p := <-finished
		if p.outcome() == SendUnseen {
			// Only a reply or an ICMP error measures a round trip;
			// silence and local errors do not.
			continue
		}
		slowest = max(slowest, p.endedAt.Sub(p.at))
		if w := min(wait, max(MinFinalWait, RTTFactor*slowest)); w < final {
			final = w
			setEnd(last.Add(final))
		}
	}
	at := make([]time.Duration, len(sent))
	outcomes := make([]SendOutcome, len(sent))
	for i, p := range sent {
		p.conn.Close()
		at[i] = p.at.Sub(start)
		outcomes[i] = p.outcome()
	}
	budget := opt.RateLimit.Replay(at, SpentTokens(outcomes))
	for i, p := range sent {
		p.facts.SentAfter = at[i]
		p.facts.ICMPBudget = math.Round(budget[i]*100) / 100
		p.conclude(final, wait, budget[i], opt.RateLimit)
	}
	doubtBesideRefusals(sent)
	if opt.live {
		second(ctx, addr, sent, opt, wait, start)
	}
	return out()
}

// doubtBesideRefusals marks the silence of an in-range port as doubtful
// when other in-range ports of the same host were refused in the same probe.
// The host then demonstrably answers ICMP port unreachable for this range,
// and with one packet per port a lost ICMP error, or a stricter rate limit
// than the one assumed (net.ipv4.icmp_ratelimit raised on the target, a
// router that limits its own errors), leaves exactly this silence: the
// replay of the assumed limit cannot see either. Without the mark, such a
// silence would fail a reachable range that is reachable. Controls keep the
// replay's judgement: they are outside the range and owe nothing to it.
func doubtBesideRefusals(sent []*port) {
	refused := 0
	for _, p := range sent {
		if !p.facts.Control && p.facts.Answer == AnswerPortUnreachable {
			refused++
		}
	}
	if refused == 0 {
		return
	}
	for _, p := range sent {
		if p.facts.Control || p.facts.Answer != AnswerSilence || p.obs.SilenceDoubt != "" {
			continue
		}
		p.facts.RateLimitSuspect = true
		p.obs.Outcome = "no reply, while other ports of the range were refused"
		p.obs.SilenceDoubt = fmt.Sprintf(
			"%d other port(s) of the range on this host were refused (ICMP port unreachable) in the same probe, and one packet per port cannot tell a lost or rate-limited ICMP error from a filter: re-run with a slower pace to decide",
			refused)
	}
}

// outcome is what the send drew, for the replay of the ICMP limit.
func (p *port) outcome() SendOutcome {
	switch {
	case p.reply != nil:
		return SendReplied
	case udp.Settle(probes.Observation{}, p.target, p.err).ICMPError:
		return SendRefused
	}
	return SendUnseen // silence, a wait cut short, or a local error
}

func (p *port) read(finished chan<- *port) {
	defer func() { finished <- p }()
	buf := make([]byte, udp.MaxDatagram)
	n, err := p.conn.Read(buf)
	p.endedAt = time.Now()
	if err != nil {
		p.err = err
	} else {
		p.reply = append([]byte{}, buf[:n]...)
	}
	if p.ticket == nil {
		return
	}
	switch p.outcome() {
	case SendRefused:
		p.ticket.Refused()
	case SendReplied:
		p.ticket.Answered()
	default:
		p.ticket.Silent()
	}
}

// budgetWindow is the live budget's answer window; zero on the fixed
// schedule or when nothing is known.
func budgetWindow(opt Options) time.Duration {
	if !opt.live {
		return 0
	}
	return opt.Budget.Window()
}

// release gives back the claim of a port that was not sent.
func (p *port) release() {
	if p.ticket != nil {
		p.ticket.Done()
		p.ticket = nil
	}
}

// take waits for a token of b for the next send, and gives up (nil) when
// ctx ends or when the send's wait would no longer fit before the deadline.
func take(ctx context.Context, b *udp.Budget, deadline time.Time, hasDeadline bool, wait time.Duration) *udp.Ticket {
	if hasDeadline {
		c, cancel := context.WithDeadline(ctx, deadline.Add(-wait))
		defer cancel()
		ctx = c
	}
	t, err := b.Take(ctx, udp.ClaimOneSend)
	if err != nil {
		return nil
	}
	if ctx.Err() != nil {
		// Take hands out a token at hand without looking at ctx: the
		// send's wait no longer fits all the same.
		t.Done()
		return nil
	}
	return t
}

// conclude turns what the read saw into the port's observation. final is
// how long the last send was listened for; full, the wait before the host
// had answered.
func (p *port) conclude(final, full time.Duration, budget float64, rl RateLimit) {
	obs := probes.Observation{Started: p.at, Sent: Sent, Attempts: 1}
	f := p.facts
	switch {
	case p.reply != nil:
		obs = obs.Settle(p.target, nil)
		obs.Outcome = "reply received"
		f.Answer, f.ReplyBytes, f.ReplyKind = AnswerReply, len(p.reply), ReplyKind(p.reply)
		f.Echo = string(p.reply) == string(p.packet)
	case !errors.Is(p.err, os.ErrDeadlineExceeded):
		obs = udp.Settle(obs, p.target, p.err)
		switch obs.State {
		case probes.Closed:
			f.Answer = AnswerPortUnreachable
		case probes.Filtered:
			f.Answer = AnswerProhibited
		default:
			f.Answer = AnswerError
		}
	case p.endedAt.Sub(p.at) < final:
		// The run was stopped before this port's wait was over: its
		// silence was not waited for, so it is no evidence.
		obs = obs.Settle(p.target, context.Canceled)
		obs.Outcome = "sent, but the run was stopped before the wait ended"
		f.Answer = AnswerUnfinished
	default:
		obs = obs.Settle(p.target, nil)
		obs.State = probes.OpenFiltered
		obs.Outcome = "no reply to 1 send"
		if waited := p.endedAt.Sub(p.at); waited < full {
			obs.Outcome = fmt.Sprintf("no reply to 1 send in %s (an answer window from the host's measured round trips, at least %s)",
				waited.Round(time.Millisecond), MinFinalWait)
		}
		f.Answer = AnswerSilence
		if budget < 1 {
			f.RateLimitSuspect = true
			obs.Outcome = "no reply; ICMP rate limiting may explain the silence"
			obs.SilenceDoubt = fmt.Sprintf(
				"sent when the target's ICMP error budget may have been spent (%.2f of %d tokens, replaying a limit of one per %s): a closed port would have been silent too",
				budget, rl.Burst, rl.Interval)
		}
	}
	obs.Duration = p.endedAt.Sub(p.at)
	p.obs = obs
}

// notProbed is the observation of a port whose turn never came.
func notProbed(ctx context.Context, start time.Time) probes.Observation {
	obs := probes.Observation{Started: start, Error: probes.ErrCanceled, Outcome: "not probed before the run's deadline"}
	if errors.Is(ctx.Err(), context.Canceled) {
		obs.Outcome = "not probed: the run was stopped first"
	}
	return obs
}

func settle(started time.Time, t probes.Target, err error) probes.Observation {
	obs := probes.Observation{Started: started, Sent: Sent}
	obs = obs.Settle(t, err)
	obs.Attempts = 0
	return obs
}

// resolve picks the one address every packet goes to: t's Host, or its
// first address of t's family.
func resolve(ctx context.Context, t probes.Target) (netip.Addr, error) {
	if a, err := netip.ParseAddr(t.Host); err == nil {
		return a.Unmap(), nil
	}
	addrs, err := net.DefaultResolver.LookupNetIP(ctx, t.Network("ip"), t.Host)
	if err != nil {
		return netip.Addr{}, err
	}
	if len(addrs) == 0 {
		return netip.Addr{}, &net.DNSError{Err: "no addresses", Name: t.Host, IsNotFound: true}
	}
	return addrs[0].Unmap(), nil
}

func sleepUntil(ctx context.Context, t time.Time) bool {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err() == nil
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-timer.C:
		return true
	}
}

func laterOf(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func draw(r *rand.Rand) uint32 {
	if r == nil {
		return rand.Uint32()
	}
	return r.Uint32()
}
