package syn

import (
	"errors"
	"slices"
	"syscall"
	"testing"
	"time"

	"probe/probes"
)

// Each answer reads as the TCP connect probe would have stated it: the
// state, whether an ICMP error came, and the attempts.
func TestResultObservation(t *testing.T) {
	start := time.Now()
	r := newResult(target, []int{1, 2, 3, 4, 5, 6, 7, 8}, start)
	at := start.Add(time.Millisecond)
	for port := range 9 {
		r.noteSent(uint16(port), start)
	}
	r.noteSent(6, at) // resent: silent the first time
	r.note(1, synAck, at)
	r.note(2, reset, at)
	r.note(3, icmpUnreachable+3, at)
	r.note(4, icmpUnreachable+13, at)
	r.note(5, icmpUnreachable+0, at)
	r.noteFailed(8, syscall.EPERM)
	r.note(1, reset, at.Add(time.Millisecond)) // a second answer changes nothing
	r.finish([]time.Duration{200 * time.Millisecond, 300 * time.Millisecond})
	cases := []struct {
		port     int
		state    probes.State
		err      probes.ErrorClass
		icmp     bool
		attempts int
	}{
		{1, probes.Open, "", false, 1},
		{2, probes.Closed, "", false, 1},
		{3, probes.Closed, "", true, 1},    // ICMP port unreachable: ECONNREFUSED to a connect
		{4, probes.Filtered, "", true, 1},  // admin prohibited
		{5, probes.Filtered, "", true, 1},  // net unreachable, from a router
		{6, probes.Filtered, "", false, 2}, // silent twice
		{7, probes.Filtered, "", false, 1}, // silent once (the scan waited once)
		{8, probes.NoState, probes.ErrLocal, false, 1},
		{9, probes.NoState, probes.ErrInternal, false, 0}, // not in the scan
	}
	for _, c := range cases {
		o := r.Observation(c.port)
		if o.State != c.state || o.Error != c.err || o.ICMPError != c.icmp || o.Attempts != c.attempts {
			t.Errorf("port %d: %s %q icmp %v attempts %d (%s); want %s %q icmp %v attempts %d",
				c.port, o.State, o.Error, o.ICMPError, o.Attempts, o.Outcome, c.state, c.err, c.icmp, c.attempts)
		}
		if o.Outcome == "" {
			t.Errorf("port %d: no outcome", c.port)
		}
	}
	if o := r.Observation(1); o.RTT != time.Millisecond {
		t.Errorf("open port's RTT %s; want 1ms, from its SYN to its SYN-ACK", o.RTT)
	}
	if got, want := r.Observation(6).Outcome, "no answer to 2 SYNs, waited 200ms then 300ms"; got != want {
		t.Errorf("silent port: %q; want %q", got, want)
	}
	if got := r.Answered(); !slices.Equal(got, []int{1, 2, 3}) {
		t.Errorf("Answered %v; want [1 2 3]", got)
	}
	if got := r.ICMP(); !slices.Equal(got, []int{3, 4, 5}) {
		t.Errorf("ICMP %v; want [3 4 5]", got)
	}
	if got := r.Open(); !slices.Equal(got, []int{1}) {
		t.Errorf("Open %v; want [1]", got)
	}

	// A scan whose raw socket stopped being read heard nothing after:
	// its unanswered ports are the prober's failure, not a filter; the
	// answers it had heard stand.
	r.deaf(errors.New("read ip4 0.0.0.0: bad file descriptor"))
	if o := r.Observation(7); o.State != probes.NoState || o.Error != probes.ErrLocal {
		t.Errorf("silent port of a deaf scan: %s %q (%s); want the prober's local error", o.State, o.Error, o.Outcome)
	}
	if o := r.Observation(1); o.State != probes.Open {
		t.Errorf("open port of a deaf scan: %s; want open, as heard", o.State)
	}

	// A scan cut short: what did not answer is not run, not silent.
	cut := newResult(target, []int{1, 2}, start)
	cut.noteSent(1, start)
	cut.noteSent(2, start)
	cut.note(2, reset, at)
	if o := cut.Observation(1); o.Error != probes.ErrCanceled {
		t.Errorf("unanswered port of an unfinished scan: %s %q; want canceled", o.State, o.Error)
	}
	if o := cut.Observation(2); o.State != probes.Closed {
		t.Errorf("answered port of an unfinished scan: %s; want closed", o.State)
	}
}

// A send that failed for want of a route is the prober's: no route, never
// the target's filter.
func TestSendFailure(t *testing.T) {
	for _, c := range []struct {
		err  error
		want probes.ErrorClass
	}{
		{syscall.ENETUNREACH, probes.ErrNoRoute},
		{syscall.EHOSTUNREACH, probes.ErrNoRoute},
		{syscall.EPERM, probes.ErrLocal},
		{syscall.ENOBUFS, probes.ErrLocal},
		{errors.New("odd"), probes.ErrInternal},
	} {
		if got := sendFailure(c.err); got.Error != c.want || got.State != probes.NoState {
			t.Errorf("%v: %+v; want error %s, no state", c.err, got, c.want)
		}
	}
}
