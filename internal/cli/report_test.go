package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"probe/internal/report"
)

// testdata reports: real testbed runs kept by the report package.
func td(name string) string { return filepath.Join("..", "report", "testdata", "run-"+name+".json") }

func call(args ...string) (stdout, stderr string, code int) {
	var out, errb bytes.Buffer
	code = Main(args, Env{Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }})
	return out.String(), errb.String(), code
}

func TestReportCommandRendersEachFormat(t *testing.T) {
	for _, f := range report.Formats {
		t.Run(f.Name, func(t *testing.T) {
			out, errs, code := call("report", "--format", f.Name, td("after-internet"))
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errs)
			}
			want, err := os.ReadFile(filepath.Join("..", "report", "testdata", "golden", "run-after-internet"+f.Ext))
			if err != nil {
				t.Fatal(err)
			}
			if out != string(want) {
				t.Errorf("probe report --format %s differs from the report package's golden", f.Name)
			}
		})
	}
	out, _, code := call("report", "--format", "json", "--compact", td("after-api"))
	if code != 0 || strings.Count(out, "\n") != 1 {
		t.Errorf("--compact: exit %d, %d lines; want one line", code, strings.Count(out, "\n"))
	}
	for _, args := range [][]string{
		{"report", "--format", "yaml", td("after-api")},
		{"report", td("after-api"), td("after-admin")},
		{"report", "no-such-report.json"},
	} {
		if _, errs, code := call(args...); code != ExitUsage || errs == "" {
			t.Errorf("%v: exit %d, stderr %q; want 2 with a message", args, code, errs)
		}
	}
}

func TestMergeCommand(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "merged.json")
	md := filepath.Join(dir, "evidence.md")
	_, errs, code := call("merge", "--out", out, "--format", "markdown="+md,
		td("after-admin"), td("after-api"), td("after-internet-shard1of2"), td("after-internet-shard2of2"))
	if code != 0 {
		t.Fatalf("merge: exit %d: %s", code, errs)
	}
	m, err := report.Read(out)
	if err != nil {
		t.Fatal(err)
	}
	if !m.IsMerged() || len(m.Runs) != 4 || m.Summary.Total != 36 {
		t.Errorf("merged: %d runs, %d results; want 4 runs, 36 results", len(m.Runs), m.Summary.Total)
	}
	if b, err := os.ReadFile(md); err != nil || !strings.Contains(string(b), "| Port | Protocol | Source | Purpose | Expected | Observed | Status |") {
		t.Errorf("--format markdown=PATH: %v", err)
	}

	_, errs, code = call("merge", td("after-admin"), td("after2-admin"))
	if code != ExitUsage || !strings.Contains(errs, "same vantage and shard") || !strings.Contains(errs, "--force") {
		t.Errorf("two admin runs: exit %d, %q; want 2, naming the clash and --force", code, errs)
	}
	stdout, errs, code := call("merge", "--force", td("after-admin"), td("after2-admin"))
	if code != 0 || !strings.Contains(errs, "warning") || !json.Valid([]byte(stdout)) {
		t.Errorf("--force: exit %d, stderr %q; want 0, a warning and JSON on stdout", code, errs)
	}
	if _, _, code := call("merge", out, td("after-api")); code != ExitUsage {
		t.Errorf("merging a merged report: exit %d; want 2", code)
	}
}

func TestDiffCommandExitCodes(t *testing.T) {
	if out, _, code := call("diff", td("after-internet"), td("after-internet")); code != 0 || !strings.Contains(out, "no changes") {
		t.Errorf("same report: exit %d, %q; want 0, no changes", code, out)
	}
	out, _, code := call("diff", td("after-internet"), td("before-internet"))
	if code != 1 || !strings.Contains(out, "api-ssh from internet: 22/tcp opened: filtered → open") {
		t.Errorf("after → before: exit %d; want 1 naming the opened port:\n%s", code, out)
	}
	out, _, code = call("diff", "--json", td("after-admin"), td("after2-admin"))
	var d report.Diff
	if err := json.Unmarshal([]byte(out), &d); err != nil || code != 1 || !d.Matters {
		t.Errorf("--json: exit %d, %v, matters %v; want 1 and a Diff that matters", code, err, d.Matters)
	}
	if _, _, code := call("diff", td("after-admin")); code != ExitUsage {
		t.Errorf("one report: exit %d; want 2", code)
	}
	if _, _, code := call("diff", td("after-admin"), "missing.json"); code != ExitUsage {
		t.Errorf("a missing report: exit %d; want 2", code)
	}
}

func TestParseOutputs(t *testing.T) {
	outs, err := parseOutputs([]string{"junit", "markdown=-", "prometheus=/tmp/x.prom"})
	if err != nil || len(outs) != 3 || outs[0].path != "" || outs[1].path != "-" || !toStdout(outs) {
		t.Errorf("parseOutputs = %+v, %v", outs, err)
	}
	for _, bad := range [][]string{{"xml"}, {"junit=-", "markdown=-"}, {"junit="}} {
		if _, err := parseOutputs(bad); err == nil {
			t.Errorf("parseOutputs(%q) accepted", bad)
		}
	}
	if got := report.BesidePath("reports/r-admin.json", outs[0].format); got != "reports/r-admin.junit.xml" {
		t.Errorf("beside path %q; want reports/r-admin.junit.xml", got)
	}
}

func TestProgressOnlyDrawsWhenAsked(t *testing.T) {
	var errb bytes.Buffer
	p := progress(Env{Stderr: &errb})
	p(1, 3)
	p(3, 3)
	if !strings.HasSuffix(errb.String(), "\r\x1b[Kprobing: 3/3") {
		t.Errorf("progress wrote %q; want it to end on probing: 3/3", errb.String())
	}
}

// The schema beside the reports is no report: merge refuses it by name,
// with a message that says what it is, and writes nothing.
func TestMergeRefusesTheSchema(t *testing.T) {
	schema := filepath.Join("..", "..", "reports", "report.schema.json")
	out := filepath.Join(t.TempDir(), "merged.json")
	stdout, errs, code := call("merge", "--out", out, td("after-admin"), schema, td("after-api"))
	if code != ExitUsage || !strings.Contains(errs, schema) || !strings.Contains(errs, "JSON Schema") || stdout != "" {
		t.Errorf("exit %d, stderr %q; want 2 naming %s as a JSON Schema", code, errs, schema)
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("a merged report was written all the same")
	}
}

// A report with parts missing is refused, not rendered as a clean table.
func TestReportRefusesAnIncompleteReport(t *testing.T) {
	b, err := os.ReadFile(td("after-api"))
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	delete(doc, "results")
	b, _ = json.Marshal(doc)
	path := filepath.Join(t.TempDir(), "cut.json")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, cmd := range [][]string{{"report", path}, {"merge", path}, {"diff", td("after-api"), path}} {
		stdout, errs, code := call(cmd...)
		if code != ExitUsage || !strings.Contains(errs, "results") || strings.Contains(stdout, "pass") {
			t.Errorf("%v: exit %d, stdout %.80q, stderr %q; want 2 naming the missing results", cmd, code, stdout, errs)
		}
	}
}
