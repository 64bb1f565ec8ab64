package engine

import (
	"context"
	"errors"
	"net"
	"os"
	"slices"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"probe/internal/kinds"
	"probe/internal/plan"
	"probe/probes"
	"probe/probes/syn"
	"probe/probes/tcp"
)

// sweepPlan is a sweep of ports of 127.0.0.1 by the tcp kind, as the plan
// makes one: one half-open task for the row, or a task per port (Identify
// set); and one declared port beside it, the last task.
func sweepPlan(ports []int, declared int, halfOpen bool) *plan.Plan {
	p := &plan.Plan{}
	row := plan.Row{ID: "lo-sweep", Sweep: true}
	lo := probes.Target{Name: "lo", Host: "127.0.0.1", Transport: "tcp"}
	params := kinds.Params{Timeout: time.Second}
	if halfOpen {
		p.Tasks = append(p.Tasks, plan.Task{Kind: "tcp", Identify: true, Whole: true, Target: lo, Params: params})
	}
	for _, port := range ports {
		if !halfOpen {
			t := lo
			t.Port = port
			p.Tasks = append(p.Tasks, plan.Task{Kind: "tcp", Identify: true, Target: t, Params: params})
		}
		row.Ports = append(row.Ports, plan.PortTask{Port: port, Task: len(p.Tasks) - 1})
	}
	p.Rows = []plan.Row{row}
	d := lo
	d.Port = declared
	p.Tasks = append(p.Tasks, plan.Task{Kind: "tcp", Target: d, Params: params})
	return p
}

// A sweep sent half-open finds the same open and closed ports as the same
// sweep sent as connects, on real listeners of 127.0.0.1; its open ports
// still get the second look that says what answered (a banner), and the
// declared port beside it is still a connect.
func TestHalfOpenSweepMatchesConnects(t *testing.T) {
	s, err := syn.Open()
	if errors.Is(err, os.ErrPermission) || errors.Is(err, unix.EPERM) {
		t.Skipf("needs CAP_NET_RAW (root) for raw sockets: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var ports, open []int
	for range 2 {
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
				c.Write([]byte("SSH-2.0-fake\r\n"))
				c.Close()
			}
		}()
		open = append(open, ln.Addr().(*net.TCPAddr).Port)
	}
	ports = append(ports, open...)
	for range 20 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
		ln.Close()
	}
	slices.Sort(ports)
	declared := open[0]

	hp, cp := sweepPlan(ports, declared, true), sweepPlan(ports, declared, false)
	half := (&Engine{Concurrency: 64, RatePerTarget: 2000, HalfOpen: s}).Run(context.Background(), hp)
	conn := (&Engine{Concurrency: 64, RatePerTarget: 2000}).Run(context.Background(), cp)
	if len(hp.Tasks) != 2 || len(half.Swept) != 1 || half.Swept[0] == nil {
		t.Fatalf("half-open: %d tasks, swept %v; want the sweep's one task and the declared port, the first swept", len(hp.Tasks), half.Swept)
	}
	if len(conn.Swept) != 0 {
		t.Errorf("connects: swept %v; want none", conn.Swept)
	}
	if !half.Ran[0] {
		t.Errorf("the half-open task did not run: %+v", half.Observations[0])
	}
	for i, port := range ports {
		h, c := half.PortObservation(0, port), conn.PortObservation(i, port)
		if h.State != c.State {
			t.Errorf("port %d: half-open %s (%s); connect %s (%s)", port, h.State, h.Outcome, c.State, c.Outcome)
		}
		if slices.Contains(open, port) {
			f, _ := h.Facts.(*tcp.Facts)
			if h.State != probes.Open || f == nil || f.Banner == "" {
				t.Errorf("open port %d: %s, facts %+v; want open with its banner read by the second look", port, h.State, h.Facts)
			}
		} else if h.Sent != "TCP SYN (half-open)" {
			t.Errorf("closed port %d: sent %q; want the half-open SYN", port, h.Sent)
		}
	}
	if d := half.Observations[1]; d.State != probes.Open || d.Sent == "TCP SYN (half-open)" {
		t.Errorf("declared port: %s, sent %q; want open, by a connect", d.State, d.Sent)
	}
}
