//go:build testbed

// Package e2e runs the built probe binary inside the testbed (scripts/testbed):
// the security document's deployment in network namespaces, with real
// servers, security groups as nftables rules, and a NAT in front of the admin
// runner. The root expectations.toml itself is run, with its addresses,
// vantage CIDRs and STUN server overridden to the testbed's.
//
// Run as root: go test -tags testbed ./e2e/  (scripts/test does).
package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"probe/e2e/testbed"
	"probe/internal/testutil"
)

// bed is this package's testbed, named apart from a demo's or a
// developer's.
var bed = &testbed.Bed{Prefix: "e2e"}

func TestMain(m *testing.M) {
	os.Exit(bed.Main(m))
}

// profile switches the testbed's security groups.
func profile(t *testing.T, name string) {
	t.Helper()
	if out, err := bed.Run("up", "--profile", name); err != nil {
		t.Fatalf("testbed up --profile %s: %v\n%s", name, err, out)
	}
}

// Report is the part of the JSON report these tests read.
type Report struct {
	Partial bool `json:"partial"`
	Vantage struct {
		Name, Declared, Established string
		PublicAddress               string `json:"public_address"`
	} `json:"vantage"`
	Network struct {
		Working  bool
		Evidence string
	} `json:"network"`
	Targets []struct {
		Name             string
		Alive            bool
		StoppedAnswering bool `json:"stopped_answering"`
	} `json:"targets"`
	Results []struct {
		ID, Verdict, Observed, Reason, Expected string
		Address, Family, Target                 string
	} `json:"results"`
	NotRun  []string `json:"not_run"`
	Summary struct {
		Total, Pass, Fail, Inconclusive, Error int
		Note                                   string
	} `json:"summary"`
}

func (r Report) verdicts() map[string]string {
	m := map[string]string{}
	for _, res := range r.Results {
		m[res.ID] = res.Verdict
	}
	return m
}

func (r Report) with(verdict string) []string {
	var ids []string
	for _, res := range r.Results {
		if res.Verdict == verdict {
			ids = append(ids, res.ID)
		}
	}
	sort.Strings(ids)
	return ids
}

func (r Report) table() string {
	var b strings.Builder
	for _, res := range r.Results {
		fmt.Fprintf(&b, "  %-13s %-20s expected %-11s observed %-22s %s\n", res.Verdict, res.ID, res.Expected, res.Observed, res.Reason)
	}
	return b.String()
}

// probe runs the binary as runner (a testbed vantage) with the testbed's
// overrides and args, and returns its report and exit code.
func probe(t *testing.T, runner string, args ...string) (Report, int, string) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "report.json")
	stdout, stderr, code := testutil.Run(t, bed.Command(runner, out, args...))
	bed.Finished(runner)
	var r Report
	if b, err := os.ReadFile(out); err == nil {
		testutil.ValidateReport(t, b)
		if err := json.Unmarshal(b, &r); err != nil {
			t.Fatal(err)
		}
	}
	return r, code, stdout + stderr
}
