package engine

import (
	"context"
	"errors"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"probe/internal/kinds"
	"probe/internal/plan"
	"probe/internal/testutil"
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

// rawScanner opens the half-open scanner, or skips the test where raw
// sockets are not allowed (CI runs as root, so it runs there).
func rawScanner(t *testing.T) *syn.Scanner {
	t.Helper()
	s, err := syn.Open()
	if errors.Is(err, os.ErrPermission) || errors.Is(err, unix.EPERM) {
		t.Skipf("needs CAP_NET_RAW (root) for raw sockets: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// closedPorts are n loopback ports of network (tcp or udp) that nothing
// listens on: each bound, then let go.
func closedPorts(t *testing.T, network string, n int) []int {
	t.Helper()
	var ports []int
	for range n {
		var port int
		if network == "udp" {
			pc, err := net.ListenPacket("udp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			port = pc.LocalAddr().(*net.UDPAddr).Port
			pc.Close()
		} else {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			port = ln.Addr().(*net.TCPAddr).Port
			ln.Close()
		}
		ports = append(ports, port)
	}
	return ports
}

// A sweep sent half-open finds the same open and closed ports as the same
// sweep sent as connects, on real listeners of 127.0.0.1; its open ports
// still get the second look that says what answered (a banner), and the
// declared port beside it is still a connect.
func TestHalfOpenSweepMatchesConnects(t *testing.T) {
	s := rawScanner(t)
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
	ports = append(ports, closedPorts(t, "tcp", 20)...)
	slices.Sort(ports)
	declared := open[0]

	hp, cp := sweepPlan(ports, declared, true), sweepPlan(ports, declared, false)
	// The half-open run has no rate limit (RatePerTarget 0): the sweep
	// is then paced by nothing but the scanner.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second) // a sweep that stalls is cut, and fails
	defer cancel()
	half := (&Engine{Concurrency: 64, HalfOpen: s}).Run(ctx, hp)
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

// countingLimiter is a host's limiter that lets every token go at once and
// counts them.
type countingLimiter struct {
	mu    sync.Mutex
	taken int
}

func (l *countingLimiter) Wait(ctx context.Context) error { return l.WaitN(ctx, 1) }

func (l *countingLimiter) WaitN(_ context.Context, n int) error {
	l.mu.Lock()
	l.taken += n
	l.mu.Unlock()
	return nil
}

func (l *countingLimiter) Burst() int { return 20000 }

// The half-open sweep, the connects beside it and the second looks at
// what it found open take their tokens from the host's one limiter, so
// together they keep to rate_per_target: every SYN, every connect and
// every second look of the run took a token of it, and nothing else paced
// them.
func TestHalfOpenSweepSharesTheHostsRate(t *testing.T) {
	s := rawScanner(t)
	open := testutil.Port(testutil.Greeter(t, "127.0.0.1:0", "SSH-2.0-fake\r\n").Addr())
	ports := closedPorts(t, "tcp", 30)
	swept := append([]int{open}, ports[:20]...)
	slices.Sort(swept)
	p := sweepPlan(swept, ports[20], true)
	for _, port := range ports[21:] {
		d := p.Tasks[len(p.Tasks)-1]
		d.Target.Port = port
		p.Tasks = append(p.Tasks, d)
	}
	r := (&Engine{Concurrency: 64, RatePerTarget: 2000, HalfOpen: s}).start(context.Background(), p)
	lim := &countingLimiter{}
	r.limiters.by["127.0.0.1"] = lim
	res := r.run()
	syns, connects := 0, 0
	for _, port := range swept {
		o := res.Swept[0].scan.Observation(port)
		if want := map[bool]probes.State{true: probes.Open, false: probes.Closed}[port == open]; o.State != want {
			t.Fatalf("swept port %d: %s (%s); want %s", port, o.State, o.Outcome, want)
		}
		syns += o.Attempts
	}
	if f, _ := res.PortObservation(0, open).Facts.(*tcp.Facts); f == nil || f.Banner == "" {
		t.Fatalf("the open port's second look read no banner: %+v", res.PortObservation(0, open))
	}
	for i := 1; i < len(p.Tasks); i++ {
		connects += res.Observations[i].Attempts
	}
	// The closing re-check connects once to the open port, which answers.
	if rc := res.Recheck["lo"]; rc.Port != open || rc.Obs.State != probes.Open {
		t.Fatalf("closing re-check %+v; want one connect to the open port %d", rc, open)
	}
	if connects != 10 || syns != 21 || lim.taken != syns+connects+2 {
		t.Errorf("%d tokens taken of the host's limiter for %d SYNs, %d connects, a second look and the closing re-check; want one for each of the 21 SYNs, 10 connects, the look and the re-check", lim.taken, syns, connects)
	}
}

// The closing re-check of a target whose ports a half-open sweep found:
// a port only the sweep found open is re-checked when nothing declared
// answered over TCP (the declared port closed, or open only over UDP); a
// declared TCP port that answered is re-checked itself; a target with
// nothing open anywhere is not re-checked.
func TestHalfOpenSweepOpenPortIsRechecked(t *testing.T) {
	s := rawScanner(t)
	open := testutil.Port(testutil.Greeter(t, "127.0.0.1:0", "").Addr())
	declaredOpen := testutil.Port(testutil.Greeter(t, "127.0.0.1:0", "").Addr())
	closed := closedPorts(t, "tcp", 6)
	udpPort := closedPorts(t, "udp", 1)[0]
	for _, c := range []struct {
		name      string
		swept     []int
		declared  int
		udp       bool // the declared port is a UDP probe that answers
		port      int  // re-checked; 0: none
		transport string
	}{
		{"declared closed", append([]int{open}, closed[:5]...), closed[5], false, open, "tcp"},
		{"declared open", append([]int{open}, closed[:5]...), declaredOpen, false, declaredOpen, "tcp"},
		{"declared open over UDP", append([]int{open}, closed[:5]...), udpPort, true, open, "tcp"},
		{"nothing open", closed[:5], closed[5], false, 0, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			swept := slices.Sorted(slices.Values(c.swept))
			p := sweepPlan(swept, c.declared, true)
			if c.udp {
				d := &p.Tasks[len(p.Tasks)-1]
				d.Kind, d.Target.Transport = "scripted", "udp"
				setScripts(map[string][]string{"127.0.0.1:" + itoa(c.declared): {"open"}})
			}
			res := (&Engine{Concurrency: 16, RatePerTarget: 2000, HalfOpen: s}).Run(context.Background(), p)
			rc, ok := res.Recheck["lo"]
			switch {
			case c.port == 0 && ok:
				t.Errorf("re-check %+v; want none: nothing answered open", rc)
			case c.port != 0 && (!ok || rc.Port != c.port || rc.Transport != c.transport || rc.Obs.State != probes.Open):
				t.Errorf("re-check %+v (made: %v); want a connect to %d/%s, open", rc, ok, c.port, c.transport)
			}
		})
	}
}

// A half-open sweep task the run cannot send is the prober's error on
// every port of it, and says why: no raw socket was given, or its host is
// a name, not the IP address a raw socket sends to.
func TestHalfOpenSweepThatCannotBeSent(t *testing.T) {
	for _, tc := range []struct{ host, want string }{
		{"127.0.0.1", "without a raw socket"},
		{"localhost", `needs an IP address, and "localhost" is none`},
	} {
		t.Run(tc.host, func(t *testing.T) {
			p := sweepPlan(closedPorts(t, "tcp", 2), closedPorts(t, "tcp", 1)[0], true)
			p.Tasks[0].Target.Host = tc.host
			res := (&Engine{Concurrency: 4}).Run(context.Background(), p)
			for _, pt := range p.Rows[0].Ports {
				if o := res.PortObservation(pt.Task, pt.Port); o.Error != probes.ErrInternal || !strings.Contains(o.Outcome, tc.want) {
					t.Errorf("port %d: %s/%s (%s); want the prober's error, saying %q", pt.Port, o.State, o.Error, o.Outcome, tc.want)
				}
			}
		})
	}
}
