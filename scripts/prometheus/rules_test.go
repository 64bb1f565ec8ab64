// Package prometheus holds the alerting rules for probe's metrics; its test
// checks them with promtool against the metrics probe really writes.
package prometheus

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"probe/internal/testutil"
)

func TestRules(t *testing.T) {
	promtool := testutil.RequireBinary(t, "prometheus", "promtool")
	for _, args := range [][]string{
		{"check", "rules", "probe.rules.yml"},
		{"test", "rules", "probe.rules_test.yml"},
	} {
		if out, err := exec.Command(promtool, args...).CombinedOutput(); err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

// Every metric a rule reads is one probe writes: a renamed metric would
// leave an alert that can never fire.
func TestRulesReadMetricsProbeWrites(t *testing.T) {
	rules, err := os.ReadFile("probe.rules.yml")
	if err != nil {
		t.Fatal(err)
	}
	var written strings.Builder
	goldens, _ := filepath.Glob(filepath.Join("..", "..", "internal", "report", "testdata", "golden", "*.prom"))
	if len(goldens) == 0 {
		t.Fatal("no golden Prometheus renderings")
	}
	for _, g := range goldens {
		b, err := os.ReadFile(g)
		if err != nil {
			t.Fatal(err)
		}
		written.Write(b)
	}
	for _, line := range strings.Split(string(rules), "\n") {
		if !strings.Contains(line, "expr:") {
			continue
		}
		for _, name := range regexp.MustCompile(`probe_[a-z_]+`).FindAllString(line, -1) {
			if !strings.Contains(written.String(), "# TYPE "+name+" ") {
				t.Errorf("a rule reads %s, which no rendering of probe's reports has", name)
			}
		}
	}
}
