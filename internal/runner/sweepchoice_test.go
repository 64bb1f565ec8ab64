package runner

import (
	"context"
	"fmt"
	"testing"

	"probe/internal/config"
	"probe/internal/testutil"
	"probe/probes/syn"
)

// How a TCP sweep is sent is the file's defaults.tcp_sweep unless the run's
// --tcp-sweep says otherwise, and the report's sweep says which chose it.
// The sweep is of four loopback ports, one of them a listener (the others
// refuse, and are listed as answering).
func TestSweepMethodFollowsTheChoice(t *testing.T) {
	port := testutil.Port(testutil.Greeter(t, "127.0.0.1:0", "").Addr())
	file := func(choice string) *config.File {
		f, err := config.Parse("sweep.toml", fmt.Appendf(nil, `
[defaults]
timeout = "1s"
tcp_sweep = %q
[[vantage]]
name = "internet"
catch_all = true
[[target]]
name = "local"
address = "127.0.0.1"
[[expectation]]
id = "around"
target = "local"
range = "%d-%d"
transport = "tcp"
probe = "tcp"
expect = { internet = "not_open" }
`, choice, port, port+3))
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	cases := []struct {
		file, flag string
		method     string
		reason     string
	}{
		{"connect", "", "connect", "one connect per port (tcp_sweep = connect)"},
		{"auto", "connect", "connect", "one connect per port (--tcp-sweep = connect)"},
		{"connect", "syn", "syn", "half-open SYNs from a raw socket (--tcp-sweep = syn, and the raw socket opened)"},
	}
	for _, c := range cases {
		if c.method == "syn" {
			s, err := syn.Open()
			if err != nil {
				t.Logf("no half-open case: %v", err)
				continue
			}
			s.Close()
		}
		rep, err := Run(context.Background(), file(c.file), Options{
			Vantage:  Located{Name: "internet", Established: "stun-confirmed", NetworkEvidence: "test"},
			TCPSweep: c.flag,
		})
		if err != nil {
			t.Fatalf("tcp_sweep %s, --tcp-sweep %q: %v", c.file, c.flag, err)
		}
		if rep.Partial {
			t.Errorf("tcp_sweep %s, --tcp-sweep %q: partial (%s); want a finished run", c.file, c.flag, rep.PartialReason)
		}
		sw := rep.Results[0].Sweep
		if sw == nil || sw.Method != c.method || sw.MethodReason != c.reason {
			t.Errorf("tcp_sweep %s, --tcp-sweep %q: sweep %+v; want %s: %q", c.file, c.flag, sw, c.method, c.reason)
			continue
		}
		if r := rep.Results[0]; r.Verdict != "fail" || len(r.Ports) != 4 || r.Evidence[0].Port != port || r.Evidence[0].Observation.State != "open" {
			t.Errorf("tcp_sweep %s, --tcp-sweep %q: %s on %v; want fail on the listener %d open, the rest answering closed", c.file, c.flag, r.Verdict, r.Ports, port)
		}
	}
}
