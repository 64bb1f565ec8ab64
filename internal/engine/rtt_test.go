package engine

import (
	"context"
	"errors"
	"net"
	"strconv"
	"testing"
	"time"

	"probe/internal/config"
	"probe/internal/plan"
)

func TestEstimatorFollowsRFC6298(t *testing.T) {
	var e estimator
	floor, ceiling := 200*time.Millisecond, 3*time.Second
	if rto, measured := e.rto(floor, ceiling); measured || rto != ceiling {
		t.Fatalf("unmeasured: rto %v measured %v; want the ceiling %v, unmeasured", rto, measured, ceiling)
	}
	e.sample(100*time.Millisecond, floor, ceiling)
	// First sample: SRTT = R, RTTVAR = R/2, RTO = R + 4·R/2 = 3R.
	if rto, _ := e.rto(floor, ceiling); rto != 300*time.Millisecond {
		t.Errorf("after one 100ms sample: rto %v; want 300ms", rto)
	}
	for range 50 {
		e.sample(time.Millisecond, floor, ceiling)
	}
	if rto, _ := e.rto(floor, ceiling); rto != floor {
		t.Errorf("after many 1ms samples: rto %v; want the floor %v", rto, floor)
	}
	e.sample(2*time.Second, floor, ceiling) // may answer the SYN's resend: Karn
	if _, n := e.srttNow(); n != 51 {
		t.Errorf("samples %d; want 51 (a sample over 1s is ambiguous and dropped)", n)
	}
	var slow estimator
	slow.sample(900*time.Millisecond, floor, 2*time.Second) // RTO 2.7s is over the ceiling
	if rto, _ := slow.rto(floor, 2*time.Second); rto != 2*time.Second {
		t.Errorf("slow path: rto %v; want the ceiling 2s", rto)
	}
}

func TestAdaptiveDeadlineOnlyComesForward(t *testing.T) {
	var e estimator
	floor, ceiling := 20*time.Millisecond, 5*time.Second
	c := e.start(context.Background(), floor, ceiling)
	defer e.finish(c)
	if _, short := c.timeout(); short {
		t.Fatal("an unmeasured target's probe was shortened; it must wait the full timeout")
	}
	e.sample(time.Millisecond, floor, ceiling) // the first answer arrives mid-flight
	select {
	case <-c.Done():
	case <-time.After(ceiling):
		t.Fatal("the deadline did not come forward after the target was measured")
	}
	if !errors.Is(c.Err(), context.DeadlineExceeded) {
		t.Errorf("Err %v; want context.DeadlineExceeded, so a probe sees a timeout", c.Err())
	}
	if d, short := c.timeout(); !short || d != floor {
		t.Errorf("timeout %v (shortened %v); want the floor %v", d, short, floor)
	}
}

func TestAdaptiveContextPassesTheParentsEnd(t *testing.T) {
	var e estimator
	parent, cancel := context.WithCancel(context.Background())
	c := e.start(parent, time.Millisecond, time.Minute)
	defer e.finish(c)
	child, stop := context.WithTimeout(c, time.Hour) // as the dialer derives one
	defer stop()
	cancel()
	<-child.Done()
	if !errors.Is(c.Err(), context.Canceled) || !errors.Is(child.Err(), context.Canceled) {
		t.Errorf("Err %v, child %v; want context.Canceled from the parent", c.Err(), child.Err())
	}
}

// The engine learns a target's round-trip time from real answers: a
// handshake and a RST on loopback.
func TestEngineMeasuresRTTFromAnswers(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	open := ln.Addr().(*net.TCPAddr).Port
	closed := freePort(t)
	f, err := config.Parse("t.toml", []byte(`
[[vantage]]
name = "here"
catch_all = true
[[target]]
name = "lo"
address = "127.0.0.1"
[[expectation]]
id = "ports"
target = "lo"
ports = [`+itoa(open)+`, `+itoa(closed)+`]
transport = "tcp"
probe = "tcp"
expect = { here = "reachable" }
`))
	if err != nil {
		t.Fatal(err)
	}
	p, err := plan.Make(f, "here", plan.Options{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	res := (&Engine{Concurrency: 4, RatePerTarget: 100}).Run(context.Background(), p)
	rtt, ok := res.RTT["127.0.0.1"]
	if !ok || rtt.Samples != 2 {
		t.Fatalf("RTT %+v (found %v); want 2 samples, from the handshake and the RST", rtt, ok)
	}
	for i, o := range res.Observations {
		if o.RTT <= 0 {
			t.Errorf("task %d (%s): RTT %v; want the measured handshake time", i, o.State, o.RTT)
		}
	}
	if res.Concurrency != 4 {
		t.Errorf("concurrency %d; want 4 (far below the fd limit)", res.Concurrency)
	}
}

func TestFDConcurrencyStaysUnderTheLimit(t *testing.T) {
	if got := FDConcurrency(1 << 30); got <= 0 || got >= 1<<30 {
		t.Errorf("FDConcurrency(huge) = %d; want a positive count below the descriptor limit", got)
	}
	if got := FDConcurrency(8); got != 8 {
		t.Errorf("FDConcurrency(8) = %d; want 8", got)
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	return port
}

func itoa(n int) string { return strconv.Itoa(n) }
