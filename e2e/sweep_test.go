//go:build testbed

package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"probe/internal/testutil"
)

// sweepReport is the part of a report the sweep test reads: per row, the
// ports it found open or closed, and how it was sent.
type sweepReport struct {
	Results []struct {
		ID, Verdict string
		Sweep       *struct {
			Probed       int    `json:"probed"`
			Method       string `json:"method"`
			MethodReason string `json:"method_reason"`
		} `json:"sweep"`
		Evidence []struct {
			Port        int `json:"port"`
			Observation struct {
				State, Sent string
			} `json:"observation"`
		} `json:"evidence"`
	} `json:"results"`
}

// findings are a row's ports that answered: "8080/open", "9000/closed".
func (r sweepReport) findings(id string) []string {
	var out []string
	for _, res := range r.Results {
		if res.ID != id {
			continue
		}
		for _, e := range res.Evidence {
			if s := e.Observation.State; s == "open" || s == "closed" {
				out = append(out, fmt.Sprintf("%d/%s", e.Port, s))
			}
		}
	}
	slices.Sort(out)
	return out
}

// plant opens ports on a server for the length of the test: a listener on
// each open port (started in the server's namespace, killed at the end),
// and an accept rule in its security group for the open and the closed
// ones (so the closed ones answer RST instead of being dropped). The
// security group is restored by re-applying the profile.
func plant(t *testing.T, server string, open, closed []int) {
	t.Helper()
	for _, p := range open {
		// It says "listening" once it listens: a sweep started before
		// that would find the port closed (python starts slowly under load).
		cmd := exec.Command(bed.Script, "exec", server, "--", "python3", "-c",
			fmt.Sprintf("import socket,time\ns=socket.socket()\ns.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)\ns.bind(('',%d))\ns.listen(64)\nprint('listening',flush=True)\ntime.sleep(900)", p))
		cmd.Env = append(os.Environ(), "TESTBED_PREFIX="+bed.Prefix)
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		if line, err := bufio.NewReader(stdout).ReadString('\n'); err != nil || line != "listening\n" {
			t.Fatalf("the listener on %s:%d did not start: %q, %v", server, p, line, err)
		}
	}
	var ports []string
	for _, p := range append(slices.Clone(open), closed...) {
		ports = append(ports, fmt.Sprint(p))
	}
	if out, err := bed.Run("exec", server, "--", "nft", "insert", "rule", "inet", "sg", "input", "tcp", "dport",
		"{ "+strings.Join(ports, ", ")+" }", "accept"); err != nil {
		t.Fatalf("planting %v on %s: %v\n%s", ports, server, err, out)
	}
}

// tcpRows are sweep.toml's TCP rows: each server's declared ports and its
// sweep of the rest. (Its UDP rows are the UDP sweep's, tested apart.)
const tcpRows = "api-declared-open,api-declared-closed,api-nothing-else," +
	"freeswitch-declared-open,freeswitch-declared-closed,freeswitch-nothing-else"

// TestTCPSweepSYNAndConnectAgree runs sweep.toml's TCP rows, both servers'
// 65535 TCP ports, from the internet runner twice: half-open (syn) and with
// connects. With ports planted open and closed on each server, both runs
// must find exactly the planted ports, open and closed alike, and each
// report must say which method ran.
func TestTCPSweepSYNAndConnectAgree(t *testing.T) {
	profile(t, "after")
	t.Cleanup(func() { profile(t, "after") }) // removes the planted accept rules
	planted := map[string][2][]int{
		"api":        {{8080, 31337}, {9000, 40000}},
		"freeswitch": {{9090, 50000}, {7000, 60000}},
	}
	for server, p := range planted {
		plant(t, server, p[0], p[1])
	}
	file := filepath.Join(bed.Root, "sweep.toml")
	found := map[string]map[string][]string{}
	for _, method := range []string{"syn", "connect"} {
		out := filepath.Join(t.TempDir(), "report.json")
		stdout, stderr, code := testutil.Run(t, bed.CommandFile("internet", out, file, sweepOverrides(),
			"--from", "internet", "--only", tcpRows, "--tcp-sweep", method, "--deadline", "600s", "--quiet"))
		bed.Finished("internet")
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatalf("%s: no report (exit %d): %v\n%s%s", method, code, err, stdout, stderr)
		}
		testutil.ValidateReport(t, b)
		var r sweepReport
		if err := json.Unmarshal(b, &r); err != nil {
			t.Fatal(err)
		}
		// The planted open ports fail "nothing else is open"; the rest pass.
		if code != 1 {
			t.Errorf("%s: exit %d; want 1 (the planted open ports)\n%s%s", method, code, stdout, stderr)
		}
		found[method] = map[string][]string{}
		for server, p := range planted {
			id := server + "-nothing-else"
			var want []string
			for _, port := range p[0] {
				want = append(want, fmt.Sprintf("%d/open", port))
			}
			for _, port := range p[1] {
				want = append(want, fmt.Sprintf("%d/closed", port))
			}
			slices.Sort(want)
			got := r.findings(id)
			found[method][server] = got
			if !slices.Equal(got, want) {
				t.Errorf("%s: %s found %v; want the planted %v", method, id, got, want)
			}
			for _, res := range r.Results {
				if res.ID == id && (res.Sweep == nil || res.Sweep.Method != method || res.Sweep.MethodReason == "" || res.Sweep.Probed != 65530) {
					t.Errorf("%s: %s's sweep %+v; want method %s with its reason, 65530 ports probed", method, id, res.Sweep, method)
				}
				if res.ID == id && res.Verdict != "fail" {
					t.Errorf("%s: %s is %s; want fail (ports planted open)", method, id, res.Verdict)
				}
				if res.ID != id && strings.HasPrefix(res.ID, server+"-declared") && res.Verdict != "pass" {
					t.Errorf("%s: %s is %s; want pass", method, res.ID, res.Verdict)
				}
			}
		}
	}
	for server := range planted {
		if !slices.Equal(found["syn"][server], found["connect"][server]) {
			t.Errorf("%s: syn found %v, connect %v; want the same", server, found["syn"][server], found["connect"][server])
		}
	}
}
