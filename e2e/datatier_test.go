//go:build testbed

package e2e

import (
	"strings"
	"testing"
)

// dataTierFaults are the testbed's profiles where the data tier itself is
// wrong (scripts/testbed.d/server-database.bash), each with the row of the
// reference file it must fail, the assertion that fails it, and whether the
// failure is critical.
var dataTierFaults = []struct {
	profile, row, assertion string
	critical                bool
}{
	{"pg-plaintext", "database-postgres", "plaintext_rejected", false},
	{"redis-nopass", "redis", "auth_required", true},
	{"redis-notls", "redis", "tls", false},
}

// From inside the VPC (both servers' runners), each way the data tier can be
// wrong fails exactly its row of the reference file, for the reason the
// document's promise names, and the other data-tier row still passes.
func TestDataTierProfilesFailTheirRow(t *testing.T) {
	defer profile(t, "after")
	for _, f := range dataTierFaults {
		t.Run(f.profile, func(t *testing.T) {
			profile(t, f.profile)
			for _, runner := range []string{"api", "freeswitch"} {
				r, code, out := probe(t, runner, "--from", runner, "--only", "database-postgres,redis")
				if got := r.with("fail"); len(got) != 1 || got[0] != f.row {
					t.Errorf("from %s: failed rows %v; want exactly [%s]\n%s\n%s", runner, got, f.row, r.table(), out)
					continue
				}
				if code != 1 {
					t.Errorf("from %s: exit %d; want 1", runner, code)
				}
				for _, res := range r.Results {
					switch {
					case res.ID == f.row && !strings.Contains(res.Reason, f.assertion+": "):
						t.Errorf("from %s: %s fails for %q; want the %s assertion", runner, f.row, res.Reason, f.assertion)
					case res.ID == f.row && strings.HasPrefix(res.Reason, "CRITICAL") != f.critical:
						t.Errorf("from %s: %s: critical = %v; want %v (%s)", runner, f.row, !f.critical, f.critical, res.Reason)
					case res.ID != f.row && res.Verdict != "pass":
						t.Errorf("from %s: %s is %s; want pass\n%s", runner, res.ID, res.Verdict, r.table())
					}
				}
			}
		})
	}
}
