package cli

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"probe/internal/report"
	"probe/internal/testutil"
)

// Two targets on loopback, so --shard 1/2 and 2/2 each take one; each
// shard's run writes its renderings, and merge puts the two back together.
func TestRunFormatsAndShards(t *testing.T) {
	port := testutil.Port(testutil.Greeter(t, "127.0.0.1:0", "").Addr())
	dir := t.TempDir()
	cfg := filepath.Join(dir, "expectations.toml")
	body := fmt.Sprintf(`
[defaults]
timeout = "500ms"
deadline = "20s"

[[vantage]]
name = "local"
cidrs = ["127.0.0.0/8"]

[[target]]
name = "a"
address = "127.0.0.1"

[[target]]
name = "b"
address = "127.0.0.1"

[[expectation]]
id = "a-open"
target = "a"
port = %d
transport = "tcp"
probe = "tcp"
expect = { local = "open" }

[[expectation]]
id = "b-open"
target = "b"
port = %d
transport = "tcp"
probe = "tcp"
expect = { local = "open" }
`, port, port)
	if err := os.WriteFile(cfg, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	stunAddr := testutil.STUNResponder(t)
	var paths []string
	for i, tty := range []bool{false, true} {
		out := filepath.Join(dir, fmt.Sprintf("shard%d.json", i+1))
		paths = append(paths, out)
		var stdout, stderr bytes.Buffer
		code := Main([]string{"run", "--from", "local", "--stun", stunAddr, "--out", out,
			"--shard", fmt.Sprintf("%d/2", i+1), "--format", "junit", "--format", "markdown=-", cfg},
			Env{Stdout: &stdout, Stderr: &stderr, StderrTTY: tty, Getenv: func(string) string { return "" }})
		if code != 0 {
			t.Fatalf("shard %d: exit %d\n%s", i+1, code, stderr.String())
		}
		if !strings.HasPrefix(stdout.String(), "# Network exposure") || strings.Contains(stdout.String(), "VERDICT") {
			t.Errorf("shard %d: stdout should carry the Markdown alone:\n%s", i+1, stdout.String())
		}
		if _, err := os.Stat(strings.TrimSuffix(out, ".json") + ".junit.xml"); err != nil {
			t.Errorf("shard %d: no JUnit beside the report: %v", i+1, err)
		}
		// The progress line is drawn only on a terminal.
		if drew := strings.Contains(stderr.String(), "probing:"); drew != tty {
			t.Errorf("shard %d: stderr a terminal = %v, progress drawn = %v", i+1, tty, drew)
		}
		r, err := report.Read(out)
		if err != nil {
			t.Fatal(err)
		}
		if r.Shard == nil || r.Shard.Index != i+1 || r.Shard.Count != 2 || len(r.Results) != 1 {
			t.Errorf("shard %d: report shard %v with %d results; want %d/2 with one", i+1, r.Shard, len(r.Results), i+1)
		}
	}
	merged := filepath.Join(dir, "merged.json")
	if _, errs, code := call("merge", "--out", merged, paths[0], paths[1]); code != 0 {
		t.Fatalf("merge: exit %d: %s", code, errs)
	}
	m, err := report.Read(merged)
	if err != nil {
		t.Fatal(err)
	}
	if m.Partial || m.Summary.Total != 2 || m.Summary.Pass != 2 {
		t.Errorf("merged shards: partial %v, summary %+v; want both results, passing", m.Partial, m.Summary)
	}
	if _, errs, code := call("run", "--from", "local", "--shard", "3/2", cfg); code != ExitUsage || !strings.Contains(errs, "--shard") {
		t.Errorf("--shard 3/2: exit %d, %q; want 2", code, errs)
	}
}
