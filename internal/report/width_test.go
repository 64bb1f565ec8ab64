package report

import (
	"bytes"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestClip(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		cols     int
		want     string
	}{
		{"fits", "refused", 10, "refused"},
		{"ascii cut", "connection refused", 10, "connectio…"},
		{"accented cut between characters", "éééééé", 4, "ééé…"},
		{"wide characters take two columns", "接続が拒否されました", 7, "接続が…"},
		{"a wide character that would straddle the edge is left out", "a接続", 4, "a接…"},
		{"combining marks take none", "e\u0301e\u0301e\u0301", 3, "e\u0301e\u0301e\u0301"},
		{"escape sequences shown, not sent", "banner \x1b[2J", 0, `banner \x1b[2J`},
		{"tabs and newlines cannot break a column", "a\tb\nc", 0, `a\x09b\x0ac`},
		{"invalid UTF-8 shown as bytes", "ab\xffc", 0, `ab\xffc`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := clip(tc.in, tc.cols)
			if got != tc.want {
				t.Errorf("clip(%q, %d) = %q; want %q", tc.in, tc.cols, got, tc.want)
			}
			if !utf8.ValidString(got) {
				t.Errorf("clip(%q, %d) = %q: invalid UTF-8", tc.in, tc.cols, got)
			}
			if tc.cols > 0 && displayWidth(got) > tc.cols {
				t.Errorf("clip(%q, %d) = %q is %d columns wide", tc.in, tc.cols, got, displayWidth(got))
			}
		})
	}
}

// A long reason in a script of multi-byte characters leaves the table and
// the matrix valid UTF-8, cut to the reason column.
func TestTableCutsReasonsByCharacter(t *testing.T) {
	rep, err := Read("testdata/run-after-internet.json")
	if err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("ポートは閉じています。", 20)
	rep.Results[0].Reason = long
	var b bytes.Buffer
	if err := WriteTable(&b, rep, TableOptions{}); err != nil {
		t.Fatal(err)
	}
	if !utf8.Valid(b.Bytes()) {
		t.Fatal("the table is not valid UTF-8")
	}
	line := ""
	for _, l := range strings.Split(b.String(), "\n") {
		if strings.Contains(l, "ポート") {
			line = l
		}
	}
	reason := line[strings.Index(line, "ポート"):]
	if !strings.HasSuffix(reason, "…") || displayWidth(reason) > reasonWidth {
		t.Errorf("reason cell %q (%d columns); want it cut to %d with …", reason, displayWidth(reason), reasonWidth)
	}

	merged, err := Read("testdata/run-after-admin.json")
	if err != nil {
		t.Fatal(err)
	}
	m, err := Merge([]*Report{merged, rep}, MergeOptions{Tool: "probe test"})
	if err != nil {
		t.Fatal(err)
	}
	for i := range m.Results {
		if m.Results[i].Reason == long {
			m.Results[i].Verdict = "fail" // the matrix lists reasons of what did not pass
		}
	}
	b.Reset()
	if err := WriteTable(&b, m, TableOptions{}); err != nil {
		t.Fatal(err)
	}
	if !utf8.Valid(b.Bytes()) || !strings.Contains(b.String(), "ポート") {
		t.Errorf("the matrix is not valid UTF-8 or lacks the reason:\n%s", b.String())
	}
}

// A row asked at the public address from one vantage and at the private
// one from another shows, in the matrix, which each cell is; a row asked
// at one address everywhere shows none.
func TestMatrixSaysTheAddressWhenVantagesDiffer(t *testing.T) {
	api, _ := load(t, "after-api")
	admin, _ := load(t, "after-admin")
	for i := range api.Results {
		api.Results[i].At = "private"
	}
	for i := range admin.Results {
		admin.Results[i].At = "public"
	}
	shared := api.Results[0].ID
	m, err := Merge([]*Report{api, admin}, MergeOptions{Tool: "probe test"})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := writeMatrix(&b, m, TableOptions{}); err != nil {
		t.Fatal(err)
	}
	var row string
	for _, l := range strings.Split(b.String(), "\n") {
		if strings.HasPrefix(l, shared+" ") {
			row = l
		}
	}
	if !strings.Contains(row, "(private)") || !strings.Contains(row, "(public)") {
		t.Errorf("row %q; want each cell to say its address\n%s", row, b.String())
	}
	for i := range admin.Results {
		admin.Results[i].At = "private"
	}
	m, _ = Merge([]*Report{api, admin}, MergeOptions{Tool: "probe test"})
	b.Reset()
	_ = writeMatrix(&b, m, TableOptions{})
	if strings.Contains(b.String(), "(private)") {
		t.Errorf("one address everywhere, yet the cells name it:\n%s", b.String())
	}
}
