package udp

import (
	"context"
	"sync"
	"testing"
	"time"
)

// fakeClock moves only when told to.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) AfterFunc(d time.Duration, f func()) func() bool {
	return func() bool { return true } // never fires: the tests only try
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// try takes a ticket if one is free now, without waiting.
func try(b *Budget, claim Claim) *Ticket {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	t, err := b.Take(ctx, claim)
	if err != nil {
		return nil
	}
	return t
}

// takeAll takes tickets until none is free, and returns them.
func takeAll(b *Budget, claim Claim) []*Ticket {
	var ts []*Ticket
	for len(ts) < 100 {
		t := try(b, claim)
		if t == nil {
			break
		}
		ts = append(ts, t)
	}
	return ts
}

// The budget is Linux's bucket as the errors received have left it: six
// claims at once; silence spends nothing; an ICMP error spends a token,
// earned back one interval later.
func TestBudgetPacesByErrorsReceived(t *testing.T) {
	clock := &fakeClock{now: time.Unix(1e9, 0)}
	b := NewBudget(LinuxICMPLimit, clock)
	ts := takeAll(b, ClaimExchange)
	if len(ts) != ICMPBurst {
		t.Fatalf("%d sends allowed at once; want the bucket's %d", len(ts), ICMPBurst)
	}
	for _, tk := range ts[:3] {
		tk.Done() // silent: no token spent
	}
	if got := len(takeAll(b, ClaimExchange)); got != 3 {
		t.Errorf("after 3 silences, %d more sends allowed; want 3: silence spends no token", got)
	}

	b = NewBudget(LinuxICMPLimit, clock)
	for _, tk := range takeAll(b, ClaimExchange) {
		tk.Refused()
	}
	if try(b, ClaimExchange) != nil {
		t.Errorf("a send allowed with every token spent on errors")
	}
	clock.advance(ICMPInterval / 2)
	if try(b, ClaimExchange) != nil {
		t.Errorf("a send allowed half an interval after the bucket emptied")
	}
	clock.advance(ICMPInterval / 2)
	if try(b, ClaimExchange) == nil {
		t.Errorf("no send allowed one interval after the bucket emptied")
	}
}

// A send claims its token only for its answer window: once the window has
// passed silent, another send may go, before the first is done. With
// nothing measured, the claim holds until done. Only one send's answer
// measures the round trip.
func TestBudgetWindowedClaimsLapse(t *testing.T) {
	clock := &fakeClock{now: time.Unix(1e9, 0)}
	b := NewBudget(LinuxICMPLimit, clock)
	takeAll(b, ClaimOneSend)
	clock.advance(time.Hour)
	if try(b, ClaimOneSend) != nil {
		t.Fatalf("with no round trip known, a claim lapsed by itself")
	}
	b.Hint(300 * time.Millisecond)
	if w := b.Window(); w != 300*time.Millisecond {
		t.Errorf("window %v; want the hint, 300ms", w)
	}
	clock.advance(time.Millisecond)
	if got := len(takeAll(b, ClaimOneSend)); got != ICMPBurst {
		t.Fatalf("%d sends allowed once the claims' windows had passed; want %d", got, ICMPBurst)
	}
	clock.advance(299 * time.Millisecond)
	if try(b, ClaimOneSend) != nil {
		t.Errorf("a send allowed before the claims' windows passed")
	}
	clock.advance(time.Millisecond)
	if try(b, ClaimOneSend) == nil {
		t.Errorf("no send allowed once the claims' windows passed")
	}

	// An answer measures the round trip: the window is RTTFactor of the
	// slowest, at least MinAnswerWait.
	tk := try(NewBudget(LinuxICMPLimit, clock), ClaimOneSend)
	clock.advance(100 * time.Millisecond)
	tk.Refused()
	if w := tk.b.Window(); w != RTTFactor*100*time.Millisecond {
		t.Errorf("window %v after a 100ms answer; want %v", w, RTTFactor*100*time.Millisecond)
	}
	ex := try(NewBudget(LinuxICMPLimit, clock), ClaimExchange)
	clock.advance(time.Second)
	ex.Refused()
	if w := ex.b.Window(); w != 0 {
		t.Errorf("window %v after an exchange's error; want none measured: it may answer a retransmission", w)
	}
}

// Once the target has refused a send, a later send's silence may be an
// ICMP error lost on its way back, which the target paid for: it counts
// as spent. Before any refusal, silence spends nothing.
func TestBudgetSilenceAfterARefusalCountsAsSpent(t *testing.T) {
	clock := &fakeClock{now: time.Unix(1e9, 0)}
	b := NewBudget(ICMPLimit{Burst: 2, Interval: time.Hour}, clock)
	first := try(b, ClaimExchange)
	first.Silent()
	if got := len(takeAll(b, ClaimExchange)); got != 2 {
		t.Fatalf("%d sends allowed after a silence before any refusal; want the full 2", got)
	}
	b = NewBudget(ICMPLimit{Burst: 2, Interval: time.Hour}, clock)
	try(b, ClaimExchange).Refused()
	after := try(b, ClaimExchange)
	after.Silent()
	if tk := try(b, ClaimExchange); tk != nil {
		t.Errorf("a send allowed after a refusal and a silence beside it, of a bucket of 2")
	}
}

// A sweep's errors take no ticket, but spend the target's tokens all the
// same: the sends with tickets that follow find the bucket as the target
// has it.
func TestBudgetSpendWithoutTicket(t *testing.T) {
	clock := &fakeClock{now: time.Unix(1e9, 0)}
	b := NewBudget(LinuxICMPLimit, clock)
	for range 4 {
		b.Spend()
	}
	first := takeAll(b, ClaimOneSend)
	if len(first) != 2 {
		t.Errorf("after 4 errors without tickets, %d sends may go; want 2", len(first))
	}
	for _, tk := range first {
		tk.Answered()
	}
	clock.advance(time.Hour)
	for range 10 {
		b.Spend() // more errors than tokens: the bucket empties, no lower
	}
	clock.advance(ICMPInterval)
	ts := takeAll(b, ClaimOneSend)
	if len(ts) != 1 {
		t.Fatalf("one interval after the bucket emptied, %d sends may go; want 1", len(ts))
	}
	if !ts[0].doubt {
		t.Error("a send after the target refused is not marked doubtful: its silence may be a lost error")
	}
}

// A limit without a bucket (no limit, or a bucket that holds nothing)
// cannot pace: every send goes at once rather than wait for a token that
// never comes.
func TestBudgetWithoutABucketNeverHoldsBack(t *testing.T) {
	for _, tc := range []struct {
		name  string
		limit ICMPLimit
	}{
		{"no_limit", ICMPLimit{Burst: 6, Interval: 0}},
		{"empty_bucket", ICMPLimit{Burst: 0, Interval: time.Second}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := NewBudget(tc.limit, &fakeClock{now: time.Unix(1e9, 0)})
			for _, tk := range takeAll(b, ClaimOneSend) {
				tk.Refused()
			}
			if got := len(takeAll(b, ClaimOneSend)); got != 100 {
				t.Errorf("%d sends allowed at once after refusals; want every one tried (100)", got)
			}
		})
	}
}

// timerClock is a fakeClock whose timers the test fires: each AfterFunc
// is handed to the test, which reads how long the budget means to wait.
type timerClock struct {
	fakeClock
	timers chan timer
}

type timer struct {
	d time.Duration
	f func()
}

func (c *timerClock) AfterFunc(d time.Duration, f func()) func() bool {
	c.timers <- timer{d, f}
	return func() bool { return true }
}

// A send held back waits exactly until the account can change: a token
// earned back, or a claim's answer window passing, whichever comes first;
// then it goes. This is the pace of a refused range (six at once, then one
// an interval) and of a dropped one (a window each).
func TestBudgetTakeWaitsUntilTheAccountChanges(t *testing.T) {
	tests := []struct {
		name  string
		limit ICMPLimit
		// setup leaves the budget with no token free.
		setup func(b *Budget, c *timerClock)
		wait  time.Duration // how long the next send waits
		goes  bool          // and it goes then
	}{
		{"half_a_token_earned_back", LinuxICMPLimit, func(b *Budget, c *timerClock) {
			for _, tk := range takeAll(b, ClaimOneSend) {
				tk.Refused()
			}
			c.advance(ICMPInterval / 2)
		}, ICMPInterval / 2, true},
		{"a_claim_lapses_first", LinuxICMPLimit, func(b *Budget, c *timerClock) {
			b.Hint(300 * time.Millisecond)
			takeAll(b, ClaimOneSend) // six claims, none answered
			c.advance(100 * time.Millisecond)
		}, 200 * time.Millisecond, true},
		{"a_refill_comes_before_the_claim_lapses", ICMPLimit{Burst: 1, Interval: time.Second}, func(b *Budget, c *timerClock) {
			b.Hint(5 * time.Second)
			takeAll(b, ClaimOneSend) // the bucket's one token, claimed for 5s
		}, time.Second, false}, // a full bucket's token is still claimed
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &timerClock{fakeClock: fakeClock{now: time.Unix(1e9, 0)}, timers: make(chan timer, 10)}
			b := NewBudget(tt.limit, c)
			tt.setup(b, c)
			for len(c.timers) > 0 {
				<-c.timers // the setup's own tries, which found no token
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			got := make(chan *Ticket, 1)
			go func() {
				tk, _ := b.Take(ctx, ClaimOneSend)
				got <- tk
			}()
			tm := <-c.timers
			if tm.d != tt.wait {
				t.Fatalf("the send waits %v; want %v", tm.d, tt.wait)
			}
			c.advance(tm.d)
			tm.f()
			if !tt.goes {
				return
			}
			if tk := <-got; tk == nil {
				t.Errorf("no send once the account changed")
			}
		})
	}
}

// A round trip learnt elsewhere sets the window until the budget measures
// its own; an unknown one (zero) does not erase it.
func TestBudgetHint(t *testing.T) {
	b := NewBudget(LinuxICMPLimit, &fakeClock{now: time.Unix(1e9, 0)})
	b.Hint(300 * time.Millisecond)
	b.Hint(0)
	if w := b.Window(); w != 300*time.Millisecond {
		t.Errorf("window %v after a zero hint; want the 300ms hinted before", w)
	}
}

// A reply measures the round trip as an error does, and so sets the
// answer window; a reply to an exchange may answer a retransmission, and
// measures nothing.
func TestBudgetAnswerMeasuresTheRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name  string
		claim Claim
		want  time.Duration
	}{
		{"one_send", ClaimOneSend, RTTFactor * 100 * time.Millisecond},
		{"exchange", ClaimExchange, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock := &fakeClock{now: time.Unix(1e9, 0)}
			b := NewBudget(LinuxICMPLimit, clock)
			tk := try(b, tc.claim)
			clock.advance(100 * time.Millisecond)
			tk.Answered()
			if w := b.Window(); w != tc.want {
				t.Errorf("window %v after a reply in 100ms; want %v", w, tc.want)
			}
		})
	}
}
