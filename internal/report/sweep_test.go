package report

import (
	"bytes"
	"strings"
	"testing"
)

// withSweep is the kept api report with one sweep row added, its method
// as given ("" leaves it out, as reports from before it did).
func withSweep(t *testing.T, method any) []byte {
	return edit(t, "run-after-api.json", func(d map[string]any) {
		sweep := map[string]any{"probed": 65530, "conforming": 65530, "states": map[string]any{"filtered": 65530},
			"method_reason": "half-open SYNs from a raw socket (tcp_sweep = auto, and the raw socket opened)"}
		if method != nil {
			sweep["method"] = method
		}
		rs := d["results"].([]any)
		row := map[string]any{}
		for k, v := range rs[0].(map[string]any) {
			row[k] = v
		}
		row["id"], row["range"], row["ports"], row["evidence"], row["sweep"] = "api-nothing-else", "1-65535", []any{}, []any{}, sweep
		row["expected"], row["observed"], row["verdict"], row["reason"] = "not_open", "filtered", "pass", "every port filtered"
		d["results"] = append(rs, row)
	})
}

// The report says how a sweep was sent: the JSON's sweep.method, checked
// by the schema, and the port label of the table and the Markdown. A
// report from before the method was recorded still reads.
func TestSweepMethod(t *testing.T) {
	for _, tc := range []struct {
		method any
		label  string // "" when the report must be refused
	}{
		{"syn", "1-65535/tcp (65530 swept by syn)"},
		{"connect", "1-65535/tcp (65530 swept by connect)"},
		{nil, "1-65535/tcp (65530 swept)"},
		{"half-open", ""},
		{true, ""},
	} {
		r, err := Decode(withSweep(t, tc.method))
		if tc.label == "" {
			if err == nil || !strings.Contains(err.Error(), "method") {
				t.Errorf("method %v: accepted (err %v); want the schema to refuse it", tc.method, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("method %v: %v", tc.method, err)
		}
		last := r.Results[len(r.Results)-1]
		if got := PortLabel(last); got != tc.label {
			t.Errorf("method %v: table label %q; want %q", tc.method, got, tc.label)
		}
		var md bytes.Buffer
		if err := WriteMarkdown(&md, r); err != nil {
			t.Fatal(err)
		}
		// Markdown's Port column is the range and the note, without the
		// transport (it has a column of its own).
		if want := "| 1-65535 " + strings.TrimPrefix(tc.label, "1-65535/tcp ") + " | TCP |"; !strings.Contains(md.String(), want) {
			t.Errorf("method %v: the Markdown lacks %q:\n%s", tc.method, want, md.String())
		}
	}
}
