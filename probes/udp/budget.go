package udp

import (
	"context"
	"sync"
	"time"
)

// Answer windows. An ICMP error is sent at once or never (Linux drops, never
// delays, an error its limit refuses), so a send that drew none within a few
// round trips drew none at all.
const (
	// MinAnswerWait is the least a send is listened for once the path's
	// round trip is known: Linux's own minimum retransmission timeout.
	MinAnswerWait = 200 * time.Millisecond
	// RTTFactor is how many of the slowest measured round trips an
	// answer window covers: the RTO's 4·RTTVAR margin, on the worst sample.
	RTTFactor = 4
)

// Budget is the live account of one target's ICMP-error bucket, shared by
// every UDP probe of that target in a run: it paces sends by the errors
// actually received, not by the sends. A send takes a Ticket first, which
// waits until the bucket, as the errors seen so far have left it, holds a
// token no send still in its answer window may claim. A send answered by an
// ICMP error spends a token; one answered otherwise, or silent through its
// window, spends none. Silence spends no token.
//
// The account errs toward an empty bucket: an error is counted when it
// arrives, after the target's kernel spent it, and the bucket is assumed full
// at the start.
type Budget struct {
	limit ICMPLimit
	clock Clock

	mu      sync.Mutex
	tokens  float64   // as of at
	at      time.Time // when tokens was last brought up to date
	pending map[*Ticket]struct{}
	slowest time.Duration // slowest answer's round trip seen by a ticket
	hint    time.Duration // a timeout for one round trip from elsewhere (TCP)
	changed chan struct{} // closed and replaced on every change
	// refusing says the target has sent an ICMP error: from then on, a
	// send's silence may be an error lost on the way back, which spent a
	// token all the same, and is counted as spent.
	refusing bool
}

// Clock is the time a Budget is kept in.
type Clock interface {
	Now() time.Time
	// AfterFunc calls f in its own goroutine once d has passed, unless
	// stopped first.
	AfterFunc(d time.Duration, f func()) (stop func() bool)
}

// SystemClock is the system's time.
type SystemClock struct{}

func (SystemClock) Now() time.Time { return time.Now() }

func (SystemClock) AfterFunc(d time.Duration, f func()) func() bool {
	return time.AfterFunc(d, f).Stop
}

// NewBudget returns a full bucket under limit, kept in clock's time (the
// system's when nil).
func NewBudget(limit ICMPLimit, clock Clock) *Budget {
	if clock == nil {
		clock = SystemClock{}
	}
	return &Budget{limit: limit, clock: clock, tokens: float64(max(limit.Burst, 0)),
		pending: map[*Ticket]struct{}{}, changed: make(chan struct{})}
}

func (b *Budget) now() time.Time { return b.clock.Now() }

// Limit is the limit the budget assumes.
func (b *Budget) Limit() ICMPLimit { return b.limit }

// Claim says what a ticket is for.
type Claim int

const (
	// ClaimOneSend is one datagram, answered within a round trip or never:
	// its claim lapses once its answer window passes silent, and an
	// answer measures the round trip.
	ClaimOneSend Claim = iota
	// ClaimExchange is a request with retransmissions (SIP over UDP): its
	// claim lapses like ClaimOneSend's, but an answer may be to a later send,
	// so it measures nothing. A later send's error is counted when it
	// comes.
	ClaimExchange
)

// Ticket is one send's claim on the budget.
type Ticket struct {
	b        *Budget
	claim    Claim
	sent     time.Time
	released bool
	doubt    bool // taken once the target refused: its silence counts as spent
	spent    bool // counted as a spent token
}

// Take waits for a token no other send may claim and returns a ticket for
// it. The ticket claims the token until its send's answer window passes
// silent (Window; until Refused, Answered or Done while no window is
// known). Take returns ctx's error when ctx ends first.
func (b *Budget) Take(ctx context.Context, claim Claim) (*Ticket, error) {
	for {
		b.mu.Lock()
		now := b.now()
		wake := b.nextChangeLocked(now)
		if !b.limit.Limited() || b.limit.Burst <= 0 || b.tokensLocked(now)-float64(b.claimsLocked(now)) >= 1 {
			t := &Ticket{b: b, claim: claim, sent: now, doubt: b.refusing}
			b.pending[t] = struct{}{}
			b.mu.Unlock()
			return t, nil
		}
		changed := b.changed
		b.mu.Unlock()
		woke := make(chan struct{})
		stop := b.clock.AfterFunc(wake, func() { close(woke) })
		select {
		case <-ctx.Done():
			stop()
			return nil, ctx.Err()
		case <-changed:
		case <-woke:
		}
		stop()
	}
}

// Force claims a token at once, whether or not the bucket holds one: for a
// send on a schedule of its own, so that the run's other sends see it.
func (b *Budget) Force() *Ticket {
	b.mu.Lock()
	defer b.mu.Unlock()
	t := &Ticket{b: b, claim: ClaimOneSend, sent: b.now(), doubt: b.refusing}
	b.pending[t] = struct{}{}
	return t
}

// Sent restarts the ticket's answer window: the packet left now.
func (t *Ticket) Sent() {
	t.b.mu.Lock()
	t.sent = t.b.now()
	t.b.mu.Unlock()
}

// Refused records that the send drew an ICMP error: it spent a token, even
// if its window had passed.
func (t *Ticket) Refused() {
	b := t.b
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	b.refusing = true
	b.spendLocked(t, now)
	if t.claim == ClaimOneSend { // its answer's round trip
		b.observeLocked(now.Sub(t.sent))
	}
	b.releaseLocked(t)
}

// Answered records that the send drew a reply: no error was due.
func (t *Ticket) Answered() {
	b := t.b
	b.mu.Lock()
	defer b.mu.Unlock()
	if t.claim == ClaimOneSend {
		b.observeLocked(b.now().Sub(t.sent))
	}
	b.releaseLocked(t)
}

// Silent records that the send drew nothing through its answer window. It
// spends no token, unless the target had refused something before the
// send: then the silence may be an ICMP error lost on its way back, which
// the target paid for all the same.
func (t *Ticket) Silent() {
	b := t.b
	b.mu.Lock()
	defer b.mu.Unlock()
	if t.doubt {
		b.spendLocked(t, b.now())
	}
	b.releaseLocked(t)
}

// Spend counts an ICMP error drawn by a send that took no ticket (a
// sweep's, which may not wait for tokens): the target spent a token on it
// all the same, and from now on it is refusing.
func (b *Budget) Spend() {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	b.refusing = true
	b.tokens = max(0, b.tokensLocked(now)-1)
	b.signalLocked()
}

// Done releases the ticket without spending: the send never left, or
// failed on the prober's side.
func (t *Ticket) Done() {
	t.b.mu.Lock()
	defer t.b.mu.Unlock()
	t.b.releaseLocked(t)
}

// Hint gives the budget a timeout for one round trip to the target measured
// by other means (TCP handshakes' RTO), used until its own tickets have
// measured one.
func (b *Budget) Hint(rto time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if rto > 0 && rto != b.hint {
		b.hint = rto
		b.signalLocked()
	}
}

// Window is how long after a send an ICMP error would have come back, by
// what has been measured: RTTFactor times the slowest answer a ticket saw
// (at least MinAnswerWait), else the hint; zero when nothing is known.
func (b *Budget) Window() time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.windowLocked()
}

func (b *Budget) windowLocked() time.Duration {
	if b.slowest > 0 {
		return max(MinAnswerWait, RTTFactor*b.slowest)
	}
	return b.hint
}

func (b *Budget) observeLocked(rtt time.Duration) {
	if rtt > b.slowest {
		b.slowest = rtt
	}
}

func (b *Budget) releaseLocked(t *Ticket) {
	if !t.released {
		t.released = true
		delete(b.pending, t)
	}
	b.signalLocked()
}

// spendLocked counts t's token as spent, once.
func (b *Budget) spendLocked(t *Ticket, now time.Time) {
	if !t.spent {
		t.spent = true
		b.tokens = max(0, b.tokensLocked(now)-1)
	}
}

func (b *Budget) signalLocked() {
	close(b.changed)
	b.changed = make(chan struct{})
}

// tokensLocked brings the bucket up to now and returns what it holds.
func (b *Budget) tokensLocked(now time.Time) float64 {
	if b.limit.Limited() && now.After(b.at) {
		if !b.at.IsZero() {
			b.tokens = min(float64(max(b.limit.Burst, 0)), b.tokens+float64(now.Sub(b.at))/float64(b.limit.Interval))
		}
		b.at = now
	}
	return b.tokens
}

// claimsLocked counts the tickets that still claim a token at now. A
// claim whose window has passed is settled as Silent settles it.
func (b *Budget) claimsLocked(now time.Time) int {
	w := b.windowLocked()
	n := 0
	for t := range b.pending {
		switch {
		case w <= 0 || now.Before(t.sent.Add(w)):
			n++
		case t.doubt:
			b.spendLocked(t, now)
			delete(b.pending, t)
		default:
			delete(b.pending, t)
		}
	}
	return n
}

// nextChangeLocked is how long until the account may change by itself: a
// windowed claim lapses, or enough tokens are earned back for one more send.
func (b *Budget) nextChangeLocked(now time.Time) time.Duration {
	var next time.Duration
	if b.limit.Limited() {
		need := 1 + float64(b.claimsLocked(now)) - b.tokensLocked(now)
		next = time.Duration(max(need, 0) * float64(b.limit.Interval))
	}
	if w := b.windowLocked(); w > 0 {
		for t := range b.pending {
			if d := t.sent.Add(w).Sub(now); d > 0 && (next <= 0 || d < next) {
				next = d
			}
		}
	}
	return max(next, time.Millisecond)
}
