package report

import (
	"bytes"
	"strings"
	"testing"
)

// A row that judges a name has no ports: it round-trips through the
// schema check on read, and the table and Markdown show "name" where a
// port would be.
func TestResolveRowRendersAndDecodes(t *testing.T) {
	r, _ := load(t, "after-api")
	r.Results = append(r.Results, Result{
		ID: "database-name", Target: "database", Address: "db.example", At: "private", Ports: []int{},
		Probe: "resolve", Expected: "private", Observed: "public", Verdict: "fail",
		Reason:   "expected every address to be private; db.example resolves to 198.51.100.7 (public)",
		Resolved: &Resolved{Name: "db.example", Addresses: []string{"198.51.100.7"}}, Evidence: []PortEvidence{},
	})
	r.Summary = Count(r.Results)
	raw, err := r.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	back, err := Decode(raw)
	if err != nil {
		t.Fatalf("the schema refused a resolve row: %v", err)
	}
	got := back.Results[len(back.Results)-1]
	if got.Resolved == nil || got.Resolved.Addresses[0] != "198.51.100.7" {
		t.Errorf("resolved read back as %+v", got.Resolved)
	}
	var table, md bytes.Buffer
	if err := WriteTable(&table, back, TableOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := WriteMarkdown(&md, back); err != nil {
		t.Fatal(err)
	}
	for name, out := range map[string]string{"table": table.String(), "markdown": md.String()} {
		line := ""
		for _, l := range strings.Split(out, "\n") {
			if strings.Contains(l, "database-name") {
				line = l
			}
		}
		if !strings.Contains(line, "name") || strings.Contains(line, " /") || !strings.Contains(line, "198.51.100.7") {
			t.Errorf("%s row %q; want the name column and the address", name, line)
		}
	}
}
