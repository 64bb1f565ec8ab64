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
// makes one (a task per port, Identify set), and one declared port that
// is not part of the sweep.
func sweepPlan(ports []int, declared int) *plan.Plan {
	p := &plan.Plan{}
	for _, port := range ports {
		p.Tasks = append(p.Tasks, plan.Task{Kind: "tcp", Identify: true,
			Target: probes.Target{Name: "lo", Host: "127.0.0.1", Port: port, Transport: "tcp"},
			Params: kinds.Params{Timeout: time.Second}})
	}
	p.Tasks = append(p.Tasks, plan.Task{Kind: "tcp",
		Target: probes.Target{Name: "lo", Host: "127.0.0.1", Port: declared, Transport: "tcp"},
		Params: kinds.Params{Timeout: time.Second}})
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

	half := (&Engine{Concurrency: 64, RatePerTarget: 2000, HalfOpen: s}).Run(context.Background(), sweepPlan(ports, declared))
	conn := (&Engine{Concurrency: 64, RatePerTarget: 2000}).Run(context.Background(), sweepPlan(ports, declared))
	if got := half.HalfOpen; !slices.Equal(got, []string{"127.0.0.1"}) {
		t.Errorf("HalfOpen = %v; want [127.0.0.1]", got)
	}
	if len(conn.HalfOpen) != 0 {
		t.Errorf("without a scanner, HalfOpen = %v; want none", conn.HalfOpen)
	}
	for i, port := range ports {
		h, c := half.Observations[i], conn.Observations[i]
		if !half.Ran[i] || h.State != c.State {
			t.Errorf("port %d: half-open %s (%s, ran %v); connect %s (%s)", port, h.State, h.Outcome, half.Ran[i], c.State, c.Outcome)
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
	if d := half.Observations[len(ports)]; d.State != probes.Open || d.Sent == "TCP SYN (half-open)" {
		t.Errorf("declared port: %s, sent %q; want open, by a connect", d.State, d.Sent)
	}
}
