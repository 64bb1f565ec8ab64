//go:build testbed

package e2e

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// sweepOverrides are the testbed's overrides that apply to sweep.toml: its
// two servers' public addresses, the vantages' CIDRs and the STUN server.
func sweepOverrides() []string {
	var out []string
	for i := 0; i+1 < len(bed.Overrides); i += 2 {
		flag, val := bed.Overrides[i], bed.Overrides[i+1]
		if strings.Contains(val, ".private=") || strings.HasPrefix(val, "database.") ||
			strings.HasPrefix(val, "redis.") || strings.HasPrefix(val, "freeswitch=") {
			continue
		}
		out = append(out, flag, val)
	}
	return out
}

// sweepResult is the verdict and reason of the result id.
func sweepResult(r Report, id string) (verdict, reason string) {
	for _, res := range r.Results {
		if res.ID == id {
			return res.Verdict, res.Reason
		}
	}
	return "", ""
}

// FreeSWITCH's stock external SIP profile listens on 5080/udp. The healthy
// security group drops it, and the UDP sweep of sweep.toml passes; with the
// group letting it in (profile sip-5080), the UDP sweep fails naming 5080
// and what it said, while the TCP sweep of the same server passes: it
// cannot see a UDP listener.
func TestUDPSweepFindsTheUndeclaredSIPListener(t *testing.T) {
	file := filepath.Join(bed.Root, "sweep.toml")
	udpOnly := "freeswitch-declared-open,freeswitch-declared-sip-udp,freeswitch-nothing-else-udp"

	profile(t, "after")
	r, code, out, ok := probeFile(t, "internet", file, sweepOverrides(), "--from", "internet", "--only", udpOnly)
	if !ok || code != 0 || r.Summary.Pass != 3 {
		t.Fatalf("healthy testbed: exit %d, summary %+v; want the UDP sweep and its two declared rows to pass\n%s\n%s", code, r.Summary, r.table(), out)
	}

	profile(t, "sip-5080")
	defer profile(t, "after")
	r, code, out, ok = probeFile(t, "internet", file, sweepOverrides(), "--from", "internet",
		"--only", udpOnly+",freeswitch-declared-closed,freeswitch-nothing-else")
	if !ok {
		t.Fatalf("no report (exit %d)\n%s", code, out)
	}
	verdict, reason := sweepResult(r, "freeswitch-nothing-else-udp")
	want := "port 5080: expected not_open, but it is open (SIP/2.0 200 OK; User-Agent: FreeSWITCH-mod_sofia/"
	if verdict != "fail" || !strings.Contains(reason, want) {
		t.Errorf("UDP sweep: %s (%s); want fail with %q", verdict, reason, want)
	}
	if got := r.with("fail"); !slices.Equal(got, []string{"freeswitch-nothing-else-udp"}) || code != 1 {
		t.Errorf("exit %d, failed rows %v; want 1, the UDP sweep alone (the TCP sweep cannot see 5080/udp)\n%s", code, got, r.table())
	}
	if v, _ := sweepResult(r, "freeswitch-nothing-else"); v != "pass" {
		t.Errorf("TCP sweep: %s; want pass\n%s", v, r.table())
	}
}
