package report

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"probe/internal/testutil"
)

// Every golden Prometheus rendering passes promtool's lint (metric names,
// base units, help texts), as a Prometheus operator would check it.
func TestPrometheusPassesPromtool(t *testing.T) {
	promtool := testutil.RequireBinary(t, "prometheus", "promtool")
	files, err := filepath.Glob(filepath.Join("testdata", "golden", "*.prom"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden .prom files: %v", err)
	}
	for _, f := range files {
		in, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(promtool, "check", "metrics")
		cmd.Stdin = in
		out, err := cmd.CombinedOutput()
		in.Close()
		if err != nil {
			t.Errorf("promtool check metrics < %s: %v\n%s", f, err, out)
		}
	}
}
