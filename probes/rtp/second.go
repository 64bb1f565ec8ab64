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
	"time"

	"probe/probes"
	"probe/probes/udp"
)

// Second is what the second packet to a port showed: sent only to an
// in-range port that stayed silent, or, as a bracket, to one that was
// refused. A port gets at most these two packets in a run.
type Second struct {
	// Port is where it went when that is not the port whose facts hold
	// it: a neighbour of a refused port, sent once as a bracket (see
	// neighbour).
	Port int `json:"port,omitempty"`
	// Bracket marks a refused port sent again to show, just before or
	// after silent ports were, that the host still answered for the
	// range: its ICMP bucket had a token and the path delivered.
	Bracket bool `json:"bracket,omitempty"`
	// Answer names what came back to the second packet.
	Answer Answer `json:"answer"`
	// SentAfter is when it left, counted from the start of the range's
	// probe.
	SentAfter time.Duration `json:"sent_after_ns"`
	// Seq, Timestamp and SSRC are its header fields.
	Seq       uint16 `json:"seq"`
	Timestamp uint32 `json:"timestamp"`
	SSRC      uint32 `json:"ssrc"`
}

// lossAlpha is how unlikely the silences must be, on a path that lost what
// the packets to closed ports show it lost, before they count as a filter.
const lossAlpha = 0.001

// second sends a second packet to each in-range port that was silent, when
// some in-range ports were refused: between brackets (a second packet to a
// refused port) sent before and after, each send only when the target's
// ICMP bucket, as the live account has it, holds a token. A port refused
// the second time is closed; one silent twice between brackets that were
// both refused is a filter's silence, unless the path's measured loss
// explains that many twice-silent ports (lossAlpha). When the sample holds
// a single refused port, a neighbour of it stands in for the first bracket
// (neighbour). Ports never get a third packet. Silent controls are not asked again: their silence is
// what the security group owes them.
func second(ctx context.Context, addr netip.Addr, sent []*port, opt Options, wait time.Duration, start time.Time) {
	var brackets, silent []*port
	inRange := 0
	for _, p := range sent {
		if p.facts.Control {
			continue
		}
		inRange++
		switch p.facts.Answer {
		case AnswerPortUnreachable:
			brackets = append(brackets, p)
		case AnswerSilence:
			silent = append(silent, p)
		}
	}
	if len(brackets) == 0 || len(silent) == 0 {
		return
	}
	deadline, hasDeadline := ctx.Deadline()
	send := func(p *port, bracket bool) (Answer, bool) {
		t := take(ctx, opt.Budget, deadline, hasDeadline, wait)
		if t == nil {
			return AnswerNotSent, false
		}
		a, s := sendOnce(ctx, addr, p.target, opt.Rand, opt.Budget, t, wait, start)
		s.Bracket = bracket
		p.facts.Second = &s
		if bracket {
			p.obs.Attempts = 2
		}
		return a, true
	}
	// next sends refused ports of the range again, each at most once,
	// until one is refused: a bracket lost on the way is the path's loss
	// (it is counted below), not a reason to leave the silences undecided
	// while unused brackets remain. false when nothing could be sent.
	queue := brackets
	next := func() (Answer, bool) {
		a, sentAny := AnswerNotSent, false
		for len(queue) > 0 && a != AnswerPortUnreachable {
			var ok bool
			if a, ok = send(queue[0], true); !ok {
				return a, sentAny
			}
			queue, sentAny = queue[1:], true
		}
		return a, sentAny
	}
	var before Answer
	var ok bool
	if len(brackets) == 1 {
		// One refused port cannot be both brackets (it may get one more
		// packet): a neighbour of it, never sent before, is the first.
		before, ok = neighbour(ctx, addr, brackets[0], sent, opt, wait, start, deadline, hasDeadline)
	} else {
		before, ok = next()
	}
	if !ok {
		return
	}
	// The silent ports go in groups, each between two brackets: as many
	// groups as there are brackets left to close them.
	var twice []*port // silent twice between refused brackets
	for rest := silent; len(rest) > 0 && len(queue) > 0; {
		size := (len(rest) + len(queue) - 1) / len(queue)
		group := rest[:size]
		rest = rest[size:]
		var asked []*port
		for _, p := range group {
			if _, ok := send(p, false); ok {
				asked = append(asked, p)
			}
		}
		after, ok := next()
		for _, p := range asked {
			p.concludeSecond(before == AnswerPortUnreachable && ok && after == AnswerPortUnreachable)
			if p.facts.Answer == AnswerSilence && p.obs.SilenceDoubt == "" {
				twice = append(twice, p)
			}
		}
		if !ok {
			return
		}
		before = after
	}
	// The path's loss, from every packet to a port shown closed.
	var lost, total int
	for _, p := range sent {
		if p.facts.Control || p.obs.State != probes.Closed {
			continue
		}
		for _, n := range p.facts.Neighbours {
			if n.Answer == AnswerPortUnreachable {
				total++ // a neighbour counts once it is shown closed
			}
		}
		total++ // the first packet: lost when a second one was owed
		sec := p.facts.Second
		if sec != nil && !sec.Bracket {
			lost++
		}
		if sec != nil && sec.Bracket {
			total++
			if sec.Answer == AnswerSilence {
				lost++
			}
		}
	}
	if len(twice) == 0 {
		return
	}
	// Loss, taken at an upper bound (three more packets lost than seen,
	// so a short sample that lost none is not read as a lossless path),
	// explains a port silent twice with about that squared. Loss strikes
	// ports at random; a filter strikes a block of them (a narrowed
	// range): silences that form one block in port order are that much
	// less likely to be loss's.
	q := float64(lost+3) / float64(total+3)
	if pr := lossExplains(sent, twice, inRange, q*q); pr >= lossAlpha {
		for _, p := range twice {
			p.obs.SilenceDoubt = fmt.Sprintf(
				"the path lost %d of %d packets to ports of this range shown closed, and loss alone leaves %d of %d ports silent twice (as they lie in the range) with probability %.2g",
				lost, total, len(twice), inRange, pr)
		}
	}
}

// neighbourTries is how many neighbours of a single refused port are sent,
// one packet each, looking for one that is refused too.
const neighbourTries = 2

// neighbour stands in for the first bracket when only one in-range port of
// the sample, r, was refused: a port beside it (r+1, r-1, r+2, …), inside
// the span of the sampled in-range ports, neither sampled nor a control,
// sent one packet. A filter lets in or drops a block of a range, so the
// neighbour of a refused port is refused too unless a block edge is right
// there; a silent one is tried no further than neighbourTries. It reports
// the answer of the last neighbour sent, and false when none could be sent
// or none was refused. The packets are kept in r's facts.
func neighbour(ctx context.Context, addr netip.Addr, r *port, sent []*port, opt Options, wait time.Duration, start, deadline time.Time, hasDeadline bool) (Answer, bool) {
	taken := map[int]bool{}
	lo, hi := r.target.Port, r.target.Port
	for _, p := range sent {
		taken[p.target.Port] = true
		if !p.facts.Control {
			lo, hi = min(lo, p.target.Port), max(hi, p.target.Port)
		}
	}
	for _, c := range opt.Controls {
		taken[c] = true
	}
	tries := 0
	for d := 1; tries < neighbourTries && (r.target.Port-d >= lo || r.target.Port+d <= hi); d++ {
		for _, n := range []int{r.target.Port + d, r.target.Port - d} {
			if tries == neighbourTries || n < lo || n > hi || taken[n] {
				continue
			}
			tries++
			t := take(ctx, opt.Budget, deadline, hasDeadline, wait)
			if t == nil {
				return AnswerNotSent, false
			}
			target := r.target
			target.Port = n
			a, s := sendOnce(ctx, addr, target, opt.Rand, opt.Budget, t, wait, start)
			s.Port, s.Bracket = n, true
			r.facts.Neighbours = append(r.facts.Neighbours, s)
			if a == AnswerPortUnreachable {
				return a, true
			}
		}
	}
	return AnswerNotSent, false
}

// lossExplains is the probability that loss alone, striking each of the
// n in-range ports' two packets with probability p2 for both, leaves at
// least len(twice) ports silent twice, and, when those lie in one block of
// the sent in-range ports in port order, in one block too.
func lossExplains(sent, twice []*port, n int, p2 float64) float64 {
	var ports []int
	for _, p := range sent {
		if !p.facts.Control {
			ports = append(ports, p.target.Port)
		}
	}
	slices.Sort(ports)
	silent := map[int]bool{}
	for _, p := range twice {
		silent[p.target.Port] = true
	}
	first, last := -1, -1
	for i, port := range ports {
		if silent[port] {
			if first < 0 {
				first = i
			}
			last = i
		}
	}
	k := len(twice)
	if p2 >= 1 {
		return 1
	}
	if last-first+1 != k {
		return tail(n, k, p2) // scattered: only their number speaks
	}
	sum := 0.0
	for j := k; j <= n; j++ {
		sum += math.Exp(lgammaChoose(n, j)+float64(j)*math.Log(p2)+float64(n-j)*math.Log1p(-p2)) *
			float64(n-j+1) / math.Exp(lgammaChoose(n, j))
	}
	return min(sum, 1)
}

// concludeSecond turns the second packet's answer into the port's
// observation. bracketed says both brackets around it were refused.
func (p *port) concludeSecond(bracketed bool) {
	s := p.facts.Second
	p.obs.Attempts = 2
	switch s.Answer {
	case AnswerPortUnreachable:
		p.obs.State, p.obs.ICMPError = probes.Closed, true
		p.obs.Outcome = "ICMP port unreachable to the second packet (the first was unanswered)"
		p.obs.SilenceDoubt, p.facts.RateLimitSuspect = "", false
		p.facts.Answer = AnswerPortUnreachable
	case AnswerReply:
		p.obs.State = probes.Open
		p.obs.Outcome = "reply to the second packet (the first was unanswered)"
		p.obs.SilenceDoubt, p.facts.RateLimitSuspect = "", false
		p.facts.Answer = AnswerReply
	case AnswerSilence:
		if bracketed {
			p.obs.Outcome = "no reply to 2 sends; refused ports of the range sent again just before and after were refused: the host answered for the range, with ICMP tokens to spare"
			p.obs.SilenceDoubt, p.facts.RateLimitSuspect = "", false
		} else {
			p.obs.Outcome = "no reply to 2 sends, but a refused port of the range sent again beside it was silent too"
			p.obs.SilenceDoubt = "other ports of the range were refused, but one of them, sent again beside this one, was silent: the host's ICMP errors were limited or lost then, and two packets per port cannot decide"
		}
	default:
		// A second packet that could not be heard out leaves the first
		// packet's judgement.
	}
}

// sendOnce sends one RTP packet to t on its own connected socket and
// listens for one answer window (wait when none is known). It records the
// answer in the budget through tk.
func sendOnce(ctx context.Context, addr netip.Addr, t probes.Target, rnd *rand.Rand, b *udp.Budget, tk *udp.Ticket, wait time.Duration, start time.Time) (Answer, Second) {
	seq, ts, ssrc := uint16(draw(rnd)), draw(rnd), draw(rnd)
	s := Second{Seq: seq, Timestamp: ts, SSRC: ssrc, Answer: AnswerError}
	conn, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(netip.AddrPortFrom(addr, uint16(t.Port))))
	if err != nil {
		tk.Done()
		return s.Answer, s
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { _ = conn.SetReadDeadline(time.Now()) })
	defer stop()
	at := time.Now()
	tk.Sent()
	s.SentAfter = at.Sub(start)
	if _, err := conn.Write(Packet(seq, ts, ssrc)); err != nil {
		tk.Done()
		return s.Answer, s
	}
	w := b.Window()
	if w <= 0 {
		w = wait
	}
	_ = conn.SetReadDeadline(at.Add(min(w, wait)))
	buf := make([]byte, udp.MaxDatagram)
	_, err = conn.Read(buf)
	switch {
	case err == nil:
		tk.Answered()
		s.Answer = AnswerReply
	case errors.Is(err, os.ErrDeadlineExceeded) && ctx.Err() == nil:
		tk.Silent()
		s.Answer = AnswerSilence
	case ctx.Err() != nil:
		tk.Done()
		s.Answer = AnswerUnfinished
	default:
		o := udp.Settle(probes.Observation{}, t, err)
		switch {
		case o.State == probes.Closed:
			tk.Refused()
			s.Answer = AnswerPortUnreachable
		case o.ICMPError:
			tk.Refused()
			s.Answer = AnswerProhibited
		default:
			tk.Done()
		}
	}
	return s.Answer, s
}

// tail is P(X ≥ k) for X binomial with n trials of probability p.
func tail(n, k int, p float64) float64 {
	if k <= 0 {
		return 1
	}
	if p <= 0 {
		return 0
	}
	sum := 0.0
	for i := k; i <= n; i++ {
		sum += math.Exp(lgammaChoose(n, i) + float64(i)*math.Log(p) + float64(n-i)*math.Log1p(-p))
	}
	return min(sum, 1)
}

func lgammaChoose(n, k int) float64 {
	a, _ := math.Lgamma(float64(n + 1))
	b, _ := math.Lgamma(float64(k + 1))
	c, _ := math.Lgamma(float64(n - k + 1))
	return a - b - c
}
