//go:build testbed

package e2e

import (
	"slices"
	"strings"
	"testing"
)

// runners are the four vantages: two outside the VPC, one on each server.
var runners = []string{"internet", "admin", "api", "freeswitch"}

// TestAfterProfileEverythingPasses runs the reference file from each runner
// against the fixed deployment: every verdict must pass.
func TestAfterProfileEverythingPasses(t *testing.T) {
	profile(t, "after")
	for _, runner := range runners {
		t.Run(runner, func(t *testing.T) {
			r, code, out := probe(t, runner, "--from", runner)
			if code != 0 || r.Summary.Pass != r.Summary.Total || r.Summary.Total == 0 {
				t.Fatalf("exit %d, summary %+v; want exit 0 and every verdict pass\n%s\n%s", code, r.Summary, r.table(), out)
			}
			if r.Vantage.Name != runner || r.Vantage.Established != "stun-confirmed" {
				t.Errorf("vantage %+v; want %s, stun-confirmed", r.Vantage, runner)
			}
			if runner == "admin" && r.Vantage.PublicAddress != bed.Info["ADMIN_ADDR"] {
				t.Errorf("admin's public address %q; want the NAT's %q", r.Vantage.PublicAddress, bed.Info["ADMIN_ADDR"])
			}
		})
	}
}

// beforeFailures is what the security document's "Before" list implies,
// row by row, for each runner: one shared security group for both servers,
// SSH open to the world, SIP and RTP open on the API server too (and the
// shared group's web ports reaching a FreeSWITCH server that runs no web
// server, so they answer RST instead of being dropped).
var beforeFailures = map[string][]string{
	"internet": {
		"api-ssh",        // SSH open to 0.0.0.0/0 on the API server
		"freeswitch-ssh", // ... and on the FreeSWITCH server
		"api-sip-tcp",    // SIP 5060/tcp passes the API server's group
		"api-sip-udp",    // SIP 5060/udp passes it too
		"api-rtp",        // RTP 16384-32768/udp passes it too
		"freeswitch-web", // 80/443 of the shared group reach FreeSWITCH
	},
	"admin": {
		"api-sip-tcp",
		"api-sip-udp",
		"api-rtp",
		"freeswitch-web",
	},
	// From inside the VPC, the shared group's SSH rule (0.0.0.0/0) lets
	// each server reach the other's SSH by its private address.
	"api":        {"freeswitch-ssh"},
	"freeswitch": {"api-ssh"},
}

func TestBeforeProfileFailsExactlyTheDocumentsRows(t *testing.T) {
	profile(t, "before")
	defer profile(t, "after")
	for _, runner := range runners {
		t.Run(runner, func(t *testing.T) {
			r, code, out := probe(t, runner, "--from", runner)
			want := beforeFailures[runner]
			slices.Sort(want)
			got := r.with("fail")
			if !slices.Equal(got, want) {
				t.Errorf("failed rows %v; want exactly %v\n%s\n%s", got, want, r.table(), out)
			}
			wantCode := 1
			if len(want) == 0 {
				wantCode = 0
			}
			if code != wantCode {
				t.Errorf("exit %d; want %d\n%s", code, wantCode, r.table())
			}
			if others := append(r.with("inconclusive"), r.with("error")...); len(others) > 0 {
				t.Errorf("inconclusive or error rows %v; the testbed is healthy, so every row must be decided\n%s", others, r.table())
			}
		})
	}
}

func TestVantageIsCheckedNotBelieved(t *testing.T) {
	profile(t, "after")
	t.Run("admin_claimed_from_the_internet_runner", func(t *testing.T) {
		_, code, out := probe(t, "internet", "--from", "admin")
		if code != 2 || !strings.Contains(out, bed.Info["INTERNET_ADDR"]) || !strings.Contains(out, bed.Info["ADMIN_CIDR"]) {
			t.Errorf("exit %d; want 2 with a message showing %s and %s\n%s", code, bed.Info["INTERNET_ADDR"], bed.Info["ADMIN_CIDR"], out)
		}
	})
	// A runner on a server is also held against the server: it must hold
	// that server's private address. Claimed from the other server, with
	// the CIDRs pointed at that server so STUN alone would believe it:
	t.Run("api_claimed_on_the_freeswitch_server", func(t *testing.T) {
		_, code, out := probe(t, "freeswitch", "--from", "api", "--vantage-cidrs", "api="+bed.Info["FREESWITCH_CIDR"])
		want := "no interface here holds its private address " + bed.Info["API_PRIVATE"]
		if code != 2 || !strings.Contains(out, want) {
			t.Errorf("exit %d; want 2 and %q\n%s", code, want, out)
		}
	})
	for _, runner := range runners {
		t.Run("auto_from_"+runner, func(t *testing.T) {
			only := "freeswitch-sip-udp,freeswitch-sip-tcp"
			if runner == "freeswitch" {
				only = "database-postgres,redis" // it asks nothing of its own SIP but at loopback
			}
			r, code, out := probe(t, runner, "--from", "auto", "--only", only)
			if r.Vantage.Name != runner || r.Vantage.Established != "stun-auto" {
				t.Errorf("--from auto found %q (%s); want %q\n%s", r.Vantage.Name, r.Vantage.Established, runner, out)
			}
			if code != 0 {
				t.Errorf("exit %d; want 0\n%s", code, r.table())
			}
		})
	}
}
