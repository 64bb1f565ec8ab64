package report

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// edit loads a kept report as a generic document, applies change and
// returns the JSON.
func edit(t *testing.T, name string, change func(map[string]any)) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	change(doc)
	out, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestDecodeChecksTheSchema(t *testing.T) {
	kept, err := filepath.Glob(filepath.Join("testdata", "run-*.json"))
	if err != nil || len(kept) == 0 {
		t.Fatalf("no kept reports: %v", err)
	}
	for _, p := range kept {
		if _, err := Read(p); err != nil {
			t.Errorf("a kept report is refused: %v", err)
		}
	}
	schema, err := os.ReadFile(filepath.Join("..", "..", "reports", "report.schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		doc  []byte
		want []string // each must be in the error
	}{
		{"results removed", edit(t, "run-after-api.json", func(d map[string]any) { delete(d, "results") }),
			[]string{"at /:", "'results'"}},
		{"summary of the wrong type", edit(t, "run-after-api.json", func(d map[string]any) { d["summary"].(map[string]any)["pass"] = "15" }),
			[]string{"at /summary/pass:", "integer"}},
		{"two problems at once", edit(t, "run-after-api.json", func(d map[string]any) {
			delete(d, "targets")
			d["partial"] = "no"
		}), []string{"'targets'", "at /partial:"}},
		{"the schema itself", schema, []string{"JSON Schema", "not a probe report"}},
		{"a newer schema", edit(t, "run-after-api.json", func(d map[string]any) { d["schema_version"] = SchemaVersion + 1 }),
			[]string{"newer than this probe understands"}},
		{"no schema_version", []byte(`{"results": []}`), []string{"no schema_version"}},
		{"not JSON", []byte("schema_version = 1"), []string{"not a probe report"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := Decode(tc.doc)
			if err == nil {
				t.Fatalf("Decode accepted it: %d results", len(r.Results))
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestLoadIsBounded(t *testing.T) {
	_, _, err := Load("/dev/zero")
	if err == nil || !strings.Contains(err.Error(), "/dev/zero") || !strings.Contains(err.Error(), "too large") {
		t.Errorf("Load(/dev/zero) = %v; want a too-large error naming it", err)
	}
}
