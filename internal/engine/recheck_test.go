package engine

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"probe/internal/testutil"
	"probe/probes"
)

// The closing re-check of a target that answered over TCP is a bare
// connect to the port that answered, whatever the port's own probe was: a
// real listener answers it, though the port's probe (scripted) would now
// hear nothing. A target that answered only over UDP is asked again by the
// same probe, up to three times while it hears nothing, and the outcome
// says how many times it asked.
func TestRecheckAsksEachTargetTheWayItAnswered(t *testing.T) {
	ln := testutil.Greeter(t, "127.0.0.1:0", "")
	open := testutil.Port(ln.Addr())
	udpPort := closedPorts(t, "udp", 1)[0]
	for _, c := range []struct {
		name      string
		transport string
		port      int
		words     []string
		calls     int // of the scripted probe, the first pass's included
		state     probes.State
		outcome   string
	}{
		{"tcp, alive", "tcp", open, []string{"open", "silent"}, 1, probes.Open, "handshake completed"},
		{"udp, alive", "udp", udpPort, []string{"open"}, 2, probes.Open, "answered"},
		{"udp, silent since", "udp", udpPort, []string{"open", "silent"}, 1 + recheckAttempts, probes.Filtered,
			"no answer before the timeout, 3 connects"},
	} {
		t.Run(c.name, func(t *testing.T) {
			setScripts(map[string][]string{"127.0.0.1:" + itoa(c.port): c.words})
			p := scriptedPlan(200*time.Millisecond, "127.0.0.1 "+itoa(c.port))
			p.Tasks[0].Target.Transport = c.transport
			res := (&Engine{Concurrency: 2}).Run(context.Background(), p)
			rc, ok := res.Recheck["127.0.0.1"]
			s := scriptOf(p.Tasks[0].Target)
			if !ok || rc.Port != c.port || rc.Transport != c.transport || rc.Obs.State != c.state || rc.Obs.Outcome != c.outcome {
				t.Errorf("re-check %+v (made: %v); want %d/%s %s, %q", rc, ok, c.port, c.transport, c.state, c.outcome)
			}
			if s.calls != c.calls {
				t.Errorf("the port's own probe ran %d times; want %d", s.calls, c.calls)
			}
		})
	}
}

// A target that answered over TCP is re-checked over TCP, though a UDP
// probe of it answered first; a target with no open port is not
// re-checked at all.
func TestRecheckPrefersTCP(t *testing.T) {
	ln := testutil.Greeter(t, "127.0.0.1:0", "")
	open := testutil.Port(ln.Addr())
	udpPort := closedPorts(t, "udp", 1)[0]
	setScripts(map[string][]string{
		"127.0.0.1:" + itoa(udpPort): {"open"},
		"127.0.0.1:" + itoa(open):    {"open"},
		"127.0.0.2:1":                {"closed"},
	})
	p := scriptedPlan(200*time.Millisecond, "127.0.0.1 "+itoa(udpPort), "127.0.0.1 "+itoa(open), "127.0.0.2 1")
	p.Tasks[0].Target.Transport = "udp"
	res := (&Engine{Concurrency: 1}).Run(context.Background(), p)
	if rc := res.Recheck["127.0.0.1"]; rc.Port != open || rc.Transport != "tcp" || rc.Obs.State != probes.Open {
		t.Errorf("re-check %+v; want a connect to %d/tcp", rc, open)
	}
	if rc, ok := res.Recheck["127.0.0.2"]; ok {
		t.Errorf("a target that never answered open was re-checked: %+v", rc)
	}
}

// A re-check the rate per target leaves no time for is not made, and says
// so: never read as a target still alive.
func TestRecheckWithoutATokenSaysSo(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := testutil.Port(ln.Addr())
	setScripts(map[string][]string{"127.0.0.1:" + itoa(port): {"open"}})
	p := scriptedPlan(200*time.Millisecond, "127.0.0.1 "+itoa(port))
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	// One token a minute: the first pass takes the only one.
	res := (&Engine{Concurrency: 1, RatePerTarget: 1.0 / 60}).Run(ctx, p)
	rc := res.Recheck["127.0.0.1"]
	if rc.Obs.Error != probes.ErrCanceled || !strings.Contains(rc.Obs.Outcome, "not re-checked") {
		t.Errorf("re-check %+v; want not made, saying the rate left no time", rc)
	}
}
