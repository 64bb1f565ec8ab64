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

// The estimate after a second answer, by RFC 6298 (2.3): RTTVAR = 3/4
// RTTVAR + 1/4 |SRTT - R|, SRTT = 7/8 SRTT + 1/8 R, RTO = SRTT + 4 RTTVAR,
// the floor and ceiling far away. The first answer is 100 ms: SRTT 100 ms,
// RTTVAR 50 ms.
func TestEstimatorSecondSample(t *testing.T) {
	floor, ceiling := time.Millisecond, 10*time.Second
	for _, c := range []struct {
		second, srtt, rto time.Duration
	}{
		// slower: RTTVAR (150+100)/4 = 62.5, SRTT (700+200)/8 = 112.5
		{200 * time.Millisecond, 112500 * time.Microsecond, 362500 * time.Microsecond},
		// faster: RTTVAR (150+80)/4 = 57.5, SRTT (700+20)/8 = 90
		{20 * time.Millisecond, 90 * time.Millisecond, 320 * time.Millisecond},
		// the same: RTTVAR 150/4 = 37.5, SRTT 100
		{100 * time.Millisecond, 100 * time.Millisecond, 250 * time.Millisecond},
		// 999 ms is still a sample: RTTVAR (150+899)/4 = 262.25, SRTT
		// (700+999)/8 = 212.375; 1 s may answer the SYN's resend (Karn)
		{999 * time.Millisecond, 212375 * time.Microsecond, 1261375 * time.Microsecond},
		{time.Second, 100 * time.Millisecond, 300 * time.Millisecond},
	} {
		var e estimator
		e.sample(100*time.Millisecond, floor, ceiling)
		e.sample(c.second, floor, ceiling)
		srtt, _ := e.srttNow()
		if rto, _ := e.rto(floor, ceiling); srtt != c.srtt || rto != c.rto {
			t.Errorf("100 ms, then %v: SRTT %v, RTO %v; want %v, %v", c.second, srtt, rto, c.srtt, c.rto)
		}
	}
}

// A probe already running keeps its deadline when a later answer lowers
// the estimate; a probe started after that gets the lower one.
func TestRunningProbesKeepTheirDeadlineAfterTheFirstMeasurement(t *testing.T) {
	var e estimator
	floor, ceiling := time.Millisecond, time.Minute
	e.sample(100*time.Millisecond, floor, ceiling) // RTO 300 ms
	running := e.start(context.Background(), floor, ceiling)
	defer e.finish(running)
	e.sample(100*time.Millisecond, floor, ceiling) // RTO 250 ms
	later := e.start(context.Background(), floor, ceiling)
	defer e.finish(later)
	if d, _ := running.timeout(); d != 300*time.Millisecond {
		t.Errorf("the running probe's timeout %v; want the 300 ms it started with", d)
	}
	if d, _ := later.timeout(); d != 250*time.Millisecond {
		t.Errorf("the later probe's timeout %v; want 250 ms", d)
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

// The report's round-trip estimate per target: measured from the TCP
// answers only (a refusal is an answer; a silence and a UDP answer are
// not), its timeout the floor when the target answers fast (the default
// floor unless the engine sets one), and no entry for a target never
// measured over TCP.
func TestRunReportsEachTargetsRoundTrip(t *testing.T) {
	for _, c := range []struct {
		floor, want time.Duration
	}{
		{0, DefaultMinTimeout},
		{50 * time.Millisecond, 50 * time.Millisecond},
	} {
		setScripts(map[string][]string{"a:1": {"open"}, "a:2": {"closed"}, "a:3": {"silent"}, "b:1": {"open"}})
		p := scriptedPlan(300*time.Millisecond, "a 1", "a 2", "a 3", "b 1")
		p.Tasks[3].Target.Transport = "udp"
		res := (&Engine{Concurrency: 1, MinTimeout: c.floor}).Run(context.Background(), p)
		// Two answers of 1 ms: SRTT 1 ms, RTTVAR 0.375 ms, RTO 2.5 ms,
		// below the floor.
		if got := res.RTT["a"]; got != (RTT{SRTT: time.Millisecond, Samples: 2, Timeout: c.want}) {
			t.Errorf("floor %v: target a's RTT %+v; want 2 samples of 1 ms, timeout %v", c.floor, got, c.want)
		}
		if got, ok := res.RTT["b"]; ok {
			t.Errorf("floor %v: target b, answered over UDP only, has an RTT: %+v", c.floor, got)
		}
	}
}

// The adaptive context keeps context.AfterFunc's promise to the contexts
// derived from it (the dialer's): a stop before the end prevents the
// function and says so; after the end, the function runs and a stop says
// it was too late.
func TestAdaptiveContextAfterFuncStop(t *testing.T) {
	var e estimator
	c := e.start(context.Background(), time.Millisecond, time.Minute)
	stopped := c.AfterFunc(func() { t.Error("a function stopped before the end ran") })
	if !stopped() {
		t.Error("stop before the end: false; want true, the function will not run")
	}
	ran := make(chan struct{})
	late := c.AfterFunc(func() { close(ran) })
	e.finish(c)
	<-ran
	if late() {
		t.Error("stop after the end: true; want false, the function already ran")
	}
	if after := c.AfterFunc(func() {}); after() {
		t.Error("stop of a function registered after the end: true; want false")
	}
}

// A target's TCP answers tell its ICMP budget how long an ICMP error to
// one of its UDP sends would take to come back (the TCP timeout, until
// its UDP sends measure their own); a target answered only over UDP
// gives no such hint.
func TestTCPAnswersHintTheUDPWindow(t *testing.T) {
	setScripts(map[string][]string{"a:1": {"open"}, "b:1": {"open"}})
	p := scriptedPlan(time.Second, "a 1", "b 1")
	p.Tasks[1].Target.Transport = "udp"
	r := (&Engine{Concurrency: 1, MinTimeout: 50 * time.Millisecond}).start(context.Background(), p)
	r.run()
	if w := r.budgets.get("a").Window(); w != 50*time.Millisecond {
		t.Errorf("target a's answer window %v; want its TCP timeout, the 50 ms floor", w)
	}
	if w := r.budgets.get("b").Window(); w != 0 {
		t.Errorf("target b's answer window %v; want none: nothing answered it over TCP", w)
	}
}
