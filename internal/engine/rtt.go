package engine

import (
	"context"
	"sync"
	"time"
)

// Adaptive timeouts. A probe whose timeout bounds one round trip (a bare
// TCP handshake) waits, once the target's round-trip time has been measured
// from real answers, only as long as TCP itself would before declaring a
// segment lost: RFC 6298's RTO = SRTT + max(G, 4·RTTVAR), clamped between
// MinTimeout and the configured timeout. Before the first answer it waits
// the configured timeout in full, so silence is never shortened on a guess.
const (
	// DefaultMinTimeout is the floor of an adaptive timeout: Linux's own
	// minimum RTO (TCP_RTO_MIN, 200 ms). Below it, a target that answers
	// in 0.1 ms but is briefly busy (a full accept queue, a scheduler
	// hiccup) could be mistaken for a firewall; above it, a 65535-port
	// sweep slows for nothing.
	DefaultMinTimeout = 200 * time.Millisecond
	// clockGranularity is RFC 6298's G.
	clockGranularity = time.Millisecond
	// karnLimit: Linux resends an unanswered SYN after 1 s. An answer that
	// took longer may answer the resend (Karn's problem), so it is not a
	// round-trip sample.
	karnLimit = time.Second
)

// estimator is RFC 6298's round-trip estimator for one target.
type estimator struct {
	mu           sync.Mutex
	srtt, rttvar time.Duration
	samples      int
	// inflight are the adaptive probes running against this target, whose
	// deadlines come forward when the estimate shrinks.
	inflight map[*adaptiveCtx]struct{}
}

// sample feeds one measured round trip.
func (e *estimator) sample(r time.Duration, floor, ceiling time.Duration) {
	if r <= 0 || r >= karnLimit {
		return
	}
	e.mu.Lock()
	measured := e.samples > 0
	if !measured {
		e.srtt, e.rttvar = r, r/2
	} else {
		d := (e.srtt - r).Abs()
		e.rttvar = (3*e.rttvar + d) / 4
		e.srtt = (7*e.srtt + r) / 8
	}
	e.samples++
	after, _ := e.rtoLocked(floor, ceiling)
	var shrink []*adaptiveCtx
	// Running probes' deadlines come forward on the first measurement
	// only. A later sample cannot move the RTO by a quarter (SRTT keeps
	// 7/8 of itself, RTTVAR 3/4), so the probes already running keep
	// theirs, and thousands in flight are not walked at every answer.
	if !measured {
		for c := range e.inflight {
			shrink = append(shrink, c)
		}
	}
	e.mu.Unlock()
	for _, c := range shrink {
		c.limit(after)
	}
}

// rto returns the adaptive timeout and whether the target was measured at
// all; unmeasured, it is the ceiling.
func (e *estimator) rto(floor, ceiling time.Duration) (time.Duration, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.rtoLocked(floor, ceiling)
}

func (e *estimator) rtoLocked(floor, ceiling time.Duration) (time.Duration, bool) {
	if e.samples == 0 {
		return ceiling, false
	}
	rto := e.srtt + max(clockGranularity, 4*e.rttvar)
	return min(max(rto, floor), ceiling), true
}

// timeout is the adaptive timeout, ceiling until measured.
func (e *estimator) timeout(floor, ceiling time.Duration) time.Duration {
	d, _ := e.rto(floor, ceiling)
	return d
}

// srttNow returns the smoothed round-trip time and the sample count.
func (e *estimator) srttNow() (time.Duration, int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.srtt, e.samples
}

// start begins an adaptive probe: a context that ends at start+ceiling, or
// at start+RTO once the target is measured (now or while it runs).
func (e *estimator) start(parent context.Context, floor, ceiling time.Duration) *adaptiveCtx {
	c := newAdaptive(parent, time.Now().Add(ceiling))
	e.mu.Lock()
	rto, measured := e.rtoLocked(floor, ceiling)
	if e.inflight == nil {
		e.inflight = map[*adaptiveCtx]struct{}{}
	}
	e.inflight[c] = struct{}{}
	e.mu.Unlock()
	if measured {
		c.limit(rto)
	}
	return c
}

// finish ends an adaptive probe.
func (e *estimator) finish(c *adaptiveCtx) {
	e.mu.Lock()
	delete(e.inflight, c)
	e.mu.Unlock()
	c.release()
}

// adaptiveCtx is a probe's context whose deadline can be brought forward
// (never pushed back). When the deadline passes, Err is
// context.DeadlineExceeded, so the probe sees a timeout, as it would with
// context.WithDeadline; the parent's end is passed through unchanged.
type adaptiveCtx struct {
	context.Context
	started time.Time
	mu      sync.Mutex
	dl      time.Time
	timer   *time.Timer
	done    chan struct{}
	err     error
	stop    func() bool
	// shortened is the timeout in force when it is below the ceiling.
	shortened time.Duration
	// after are the functions AfterFunc registered.
	after []func()
}

func newAdaptive(parent context.Context, deadline time.Time) *adaptiveCtx {
	c := &adaptiveCtx{Context: parent, started: time.Now(), dl: deadline, done: make(chan struct{})}
	c.timer = time.AfterFunc(time.Until(deadline), func() { c.end(context.DeadlineExceeded) })
	c.stop = context.AfterFunc(parent, func() { c.end(parent.Err()) })
	return c
}

func (c *adaptiveCtx) end(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err == nil {
		c.err = err
		close(c.done)
		for _, f := range c.after {
			f()
		}
		c.after = nil
	}
}

// limit brings the deadline forward to started+d, if that is earlier.
func (c *adaptiveCtx) limit(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	dl := c.started.Add(d)
	if c.err != nil || !dl.Before(c.dl) {
		return
	}
	c.dl, c.shortened = dl, d
	c.timer.Reset(time.Until(dl))
}

// timeout returns the timeout in force and whether it was shortened.
func (c *adaptiveCtx) timeout() (time.Duration, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.shortened, c.shortened > 0
}

func (c *adaptiveCtx) release() {
	c.timer.Stop()
	c.stop()
	c.end(context.Canceled)
}

func (c *adaptiveCtx) Deadline() (time.Time, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.dl, true
}

func (c *adaptiveCtx) Done() <-chan struct{} { return c.done }

// AfterFunc lets contexts derived from c (the dialer makes some) register
// their cancellation without a goroutine each: context.WithDeadline looks
// for this method. Thousands of probes in flight would otherwise cost
// thousands of goroutines.
func (c *adaptiveCtx) AfterFunc(f func()) func() bool {
	var once sync.Once
	stopped := make(chan struct{})
	run := func() {
		once.Do(func() {
			select {
			case <-stopped:
			default:
				go f()
			}
		})
	}
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		run()
		return func() bool { return false }
	}
	c.after = append(c.after, run)
	c.mu.Unlock()
	return func() bool {
		select {
		case <-stopped:
			return false
		default:
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.err != nil {
			return false
		}
		close(stopped)
		return true
	}
}

func (c *adaptiveCtx) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// estimators holds one estimator per target address.
type estimators struct {
	mu sync.Mutex
	by map[string]*estimator
}

func (s *estimators) get(host string) *estimator {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.by == nil {
		s.by = map[string]*estimator{}
	}
	e, ok := s.by[host]
	if !ok {
		e = &estimator{}
		s.by[host] = e
	}
	return e
}
