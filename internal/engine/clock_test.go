package engine

import (
	"context"
	"sync"
	"testing"
	"time"

	"probe/internal/plan"
	"probe/probes"
	"probe/probes/udp"
)

// fakeClock moves only when told to.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*fakeTimer
}

type fakeTimer struct {
	at      time.Time
	f       func()
	stopped bool
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) AfterFunc(d time.Duration, f func()) func() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &fakeTimer{at: c.now.Add(d), f: f}
	if d <= 0 {
		go f()
		return func() bool { return false }
	}
	c.timers = append(c.timers, t)
	return func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		was := !t.stopped
		t.stopped = true
		return was
	}
}

// advance moves the clock by d and fires the timers that came due.
func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	var due []func()
	keep := c.timers[:0]
	for _, t := range c.timers {
		switch {
		case t.stopped:
		case !t.at.After(c.now):
			t.stopped = true
			due = append(due, t.f)
		default:
			keep = append(keep, t)
		}
	}
	c.timers = keep
	c.mu.Unlock()
	for _, f := range due {
		go f()
	}
}

// A range waits, on the engine's clock, until the ICMP errors its host's
// single UDP probes drew have been earned back: not a moment before.
func TestRangeWaitsOnTheEnginesClock(t *testing.T) {
	p := &plan.Plan{}
	for range 3 {
		p.Tasks = append(p.Tasks, plan.Task{Target: probes.Target{Host: "h", Transport: "udp"}})
	}
	clock := &fakeClock{now: time.Unix(1e9, 0)}
	g := gateUDP(p, rangeTasks{order: []string{"r"}, groups: map[string][]int{"r": {0}}}, []int{1, 2}, clock)
	closed := probes.Observation{State: probes.Closed, ICMPError: true}
	g.release(1, closed)
	g.release(2, closed)
	started := make(chan struct{})
	go func() {
		g.await(context.Background(), "h")
		close(started)
	}()
	// Two refusals: two intervals to earn back. One and a bit is not enough.
	for _, step := range []time.Duration{udp.ICMPInterval, udp.ICMPInterval / 2} {
		waitTimers(clock, 1)
		clock.advance(step)
		clock.mu.Lock()
		pending := len(clock.timers)
		clock.mu.Unlock()
		select {
		case <-started:
		default:
			if pending == 1 {
				continue
			}
		}
		t.Fatalf("the range started %v after two refusals; want it held for %v", clock.Now().Sub(time.Unix(1e9, 0)), 2*udp.ICMPInterval)
	}
	clock.advance(udp.ICMPInterval / 2)
	<-started
}

// waitTimers returns once the clock has n timers pending.
func waitTimers(c *fakeClock, n int) {
	for {
		c.mu.Lock()
		k := len(c.timers)
		c.mu.Unlock()
		if k >= n {
			return
		}
		time.Sleep(time.Millisecond)
	}
}
