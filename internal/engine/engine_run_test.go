package engine

import (
	"context"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"probe/internal/kinds"
	"probe/internal/plan"
	"probe/probes"
)

func init() {
	// A kind declared but not implemented, as a new protocol is before it
	// lands.
	kinds.Register(&kinds.Kind{Name: "future", Transports: []string{"tcp"}})
	// A kind that counts how many of its probes run at once.
	kinds.Register(&kinds.Kind{Name: "counting", Transports: []string{"tcp"}, Run: counting})
	// A kind whose first packet is always lost, as on a lossy path.
	kinds.Register(&kinds.Kind{Name: "lossy", Transports: []string{"tcp"}, Run: lossy})
}

var lossyCalls atomic.Int32

func lossy(ctx context.Context, t probes.Target, p kinds.Params) probes.Observation {
	o := probes.Start("SYN")
	if lossyCalls.Add(1)%2 == 1 {
		return o.Settle(t, context.DeadlineExceeded)
	}
	return o.Settle(t, nil)
}

func TestASilenceWhereAnAnswerIsOwedIsAskedAgain(t *testing.T) {
	for _, owed := range []bool{true, false} {
		lossyCalls.Store(0)
		p := tasks("lossy", 1)
		p.Tasks[0].AnswerOwed = owed
		res := (&Engine{Concurrency: 1}).Run(context.Background(), p)
		o := res.Observations[0]
		switch {
		case owed && (o.State != probes.Open || o.Attempts != 2):
			t.Errorf("answer owed: %+v; want open after a second attempt", o)
		case !owed && (o.State != probes.Filtered || lossyCalls.Load() != 1):
			t.Errorf("no answer owed: %+v after %d calls; want the silence kept, asked once", o, lossyCalls.Load())
		}
	}
}

var inFlight, peak atomic.Int32

func counting(ctx context.Context, t probes.Target, p kinds.Params) probes.Observation {
	n := inFlight.Add(1)
	defer inFlight.Add(-1)
	for {
		old := peak.Load()
		if n <= old || peak.CompareAndSwap(old, n) {
			break
		}
	}
	select {
	case <-time.After(20 * time.Millisecond):
	case <-ctx.Done():
	}
	o := probes.Start("nothing")
	return o.Settle(t, nil)
}

func tasks(kind string, n int) *plan.Plan {
	p := &plan.Plan{}
	for i := range n {
		p.Tasks = append(p.Tasks, plan.Task{
			Kind:   kind,
			Target: probes.Target{Name: "t", Host: "127.0.0.1", Port: 1000 + i, Transport: "tcp"},
			Params: kinds.Params{Timeout: time.Second},
		})
	}
	return p
}

func TestUnimplementedKindIsAnErrorNotASkip(t *testing.T) {
	res := (&Engine{Concurrency: 4}).Run(context.Background(), tasks("future", 1))
	o := res.Observations[0]
	if !res.Ran[0] || o.Error != probes.ErrInternal || o.Outcome != "probe kind future is not implemented yet" {
		t.Errorf("ran %v, observation %+v; want an internal error saying the kind is not implemented yet", res.Ran[0], o)
	}
}

func TestConcurrencyLimitHolds(t *testing.T) {
	peak.Store(0)
	res := (&Engine{Concurrency: 3}).Run(context.Background(), tasks("counting", 12))
	if got := peak.Load(); got > 3 || got < 1 {
		t.Errorf("peak probes in flight = %d; want 1-3", got)
	}
	for i, ran := range res.Ran {
		if !ran {
			t.Errorf("task %d did not run", i)
		}
	}
}

func TestCanceledRunMarksTasksNotRun(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res := (&Engine{Concurrency: 2}).Run(ctx, tasks("counting", 5))
	if !res.Interrupted {
		t.Errorf("a canceled run is not marked interrupted")
	}
	for i, o := range res.Observations {
		if res.Ran[i] || o.Error != probes.ErrCanceled {
			t.Errorf("task %d: ran %v, %+v; want not run", i, res.Ran[i], o)
		}
	}
}

func TestRecheckFindsATargetStillAlive(t *testing.T) {
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
	p := &plan.Plan{Tasks: []plan.Task{{
		Kind:   "tcp",
		Target: probes.Target{Name: "box", Host: "127.0.0.1", Port: ln.Addr().(*net.TCPAddr).Port, Transport: "tcp"},
		Params: kinds.Params{Timeout: time.Second},
	}}}
	res := (&Engine{Concurrency: 1}).Run(context.Background(), p)
	rc, ok := res.Recheck["box"]
	if !ok || rc.Obs.State != probes.Open {
		t.Errorf("closing re-check = %+v (present %v); want an open answer from box", rc, ok)
	}
}
