package runner

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	sipmsg "github.com/emiago/sipgo/sip"

	"probe/internal/config"
	"probe/internal/testutil"
	"probe/probes"
)

// sipListener answers SIP OPTIONS on a loopback UDP port with 200 and a
// FreeSWITCH User-Agent, and ignores every other datagram.
func sipListener(t *testing.T) int {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 65535)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			msg, err := sipmsg.ParseMessage(buf[:n])
			req, ok := msg.(*sipmsg.Request)
			if err != nil || !ok {
				continue
			}
			res := sipmsg.NewResponseFromRequest(req, 200, "OK", nil)
			res.AppendHeader(sipmsg.NewHeader("User-Agent", "FreeSWITCH-mod_sofia/1.10.12-release"))
			_, _ = pc.WriteTo([]byte(res.String()), from)
		}
	}()
	return pc.LocalAddr().(*net.UDPAddr).Port
}

// A UDP sweep on loopback, with the real engine and probes: the port a SIP
// server listens on fails the sweep, with what it said; a port bound by a
// socket that never answers is counted silent, not listed; the closed
// ports (loopback sends every port unreachable: it is exempt from the ICMP
// rate limit) are listed as refusals that conform. A sweep of the same
// range without the SIP server passes.
func TestUDPSweepOnLoopback(t *testing.T) {
	alive := testutil.Greeter(t, "127.0.0.1:0", "")
	alivePort := testutil.Port(alive.Addr())
	sipPort := sipListener(t)
	// The silent port beside the SIP one, so the sweep's range is short.
	var silent net.PacketConn
	for p := sipPort + 1; silent == nil && p < sipPort+50 && p <= 65535; p++ {
		silent, _ = net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", p))
	}
	if silent == nil {
		t.Fatal("no free UDP port beside the SIP listener's")
	}
	defer silent.Close()
	silentPort := silent.LocalAddr().(*net.UDPAddr).Port

	sweep := func(t *testing.T, lo, hi int) (*config.File, error) {
		// 3 s: a SIP fake that answers late on a loaded machine must
		// still answer within the wait, or its port reads silent.
		return config.Parse("udp.toml", fmt.Appendf(nil, `
[defaults]
timeout = "3s"
[[vantage]]
name = "internet"
catch_all = true
[[target]]
name = "host"
address = "127.0.0.1"
[[expectation]]
id = "alive"
target = "host"
port = %d
transport = "tcp"
probe = "tcp"
expect = { internet = "open" }
[[expectation]]
id = "udp-nothing-else"
target = "host"
range = "%d-%d"
except_declared = true
transport = "udp"
probe = "udp"
expect = { internet = "not_open" }
`, alivePort, lo, hi))
	}
	lo, hi := min(sipPort, silentPort)-5, max(sipPort, silentPort)+5
	f, err := sweep(t, lo, hi)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rep, err := Run(ctx, f, Options{Vantage: Located{Name: "internet", Established: "stun-confirmed", NetworkEvidence: "test"}})
	if err != nil {
		t.Fatal(err)
	}
	r := rep.Results[1]
	if r.Verdict != "fail" || !slices.Contains(r.Ports, sipPort) || slices.Contains(r.Ports, silentPort) {
		t.Fatalf("verdict %s, %d ports: want fail, naming the SIP port %d, not the silent %d\n%s", r.Verdict, len(r.Ports), sipPort, silentPort, r.Reason)
	}
	if want := "SIP/2.0 200 OK; User-Agent: FreeSWITCH-mod_sofia/1.10.12-release"; !strings.Contains(r.Reason, want) {
		t.Errorf("reason %q; want it to say what the port said: %q", r.Reason, want)
	}
	for _, e := range r.Evidence {
		switch {
		case e.Port == sipPort && (e.Verdict != "fail" || e.Observation.State != probes.Open):
			t.Errorf("SIP port %d: %s, %s; want fail, open", e.Port, e.Verdict, e.Observation.State)
		case e.Port != sipPort && e.Observation.State != probes.Closed:
			t.Errorf("port %d listed as %s (%s); only the SIP port and refusals belong in the evidence", e.Port, e.Observation.State, e.Reason)
		}
	}
	sw := r.Sweep
	if sw == nil || sw.Probed != hi-lo+1 || sw.States["open"] != 1 || sw.States["open|filtered"] < 1 || sw.Sent == "" || sw.Silence == "" {
		t.Errorf("sweep %+v; want %d probed, 1 open, the silent port open|filtered, what was sent and what silence means", sw, hi-lo+1)
	}

	// Without the SIP server in range: nothing answers, the sweep passes.
	f, err = sweep(t, silentPort, silentPort)
	if err != nil {
		t.Fatal(err)
	}
	rep, err = Run(ctx, f, Options{Vantage: Located{Name: "internet", Established: "stun-confirmed", NetworkEvidence: "test"}})
	if err != nil {
		t.Fatal(err)
	}
	if r := rep.Results[1]; r.Verdict != "pass" || len(r.Evidence) != 0 {
		t.Errorf("a sweep of the silent port alone: %s, %d evidence (%s); want pass, none", r.Verdict, len(r.Evidence), r.Reason)
	}
}
