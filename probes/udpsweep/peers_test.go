package udpsweep

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"probe/internal/testutil"
	"probe/probes"
)

// The sweep's probe against a real STUN server, coturn as the testbed runs
// it: on a port that is no payload's well-known one, the generic set goes,
// and the STUN binding request is what coturn answers.
func TestProbeCoturn(t *testing.T) {
	port, logPath := testutil.Coturn(t)
	tg := probes.Target{Name: "coturn", Host: "127.0.0.1", Port: port, Transport: "udp"}
	var obs probes.Observation
	// coturn refuses until it has bound its port.
	for start := time.Now(); time.Since(start) < 15*time.Second; time.Sleep(100 * time.Millisecond) {
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		obs = Probe(ctx, tg)
		cancel()
		if obs.State == probes.Open {
			break
		}
	}
	f, _ := obs.Facts.(*Facts)
	if obs.State != probes.Open || f == nil || f.Answered != STUNBinding.Name {
		log, _ := os.ReadFile(logPath)
		t.Fatalf("coturn: %s (%s), facts %+v; want open, answered by the STUN binding request\n%s", obs.State, obs.Outcome, f, log)
	}
	if !strings.HasPrefix(f.Said, "STUN binding success, mapped address 127.0.0.1:") || !strings.Contains(f.Said, "SOFTWARE: Coturn") {
		t.Errorf("coturn said %q; want a binding success with loopback mapped and its SOFTWARE", f.Said)
	}
}
