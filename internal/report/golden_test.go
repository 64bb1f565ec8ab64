package report

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The goldens are rendered from real reports: runs of expectations.toml
// against the testbed (scripts/testbed, prefix "rep"), from every vantage,
// in the "after" and "before" profiles, internet's "after" also as two
// shards, and admin again after the testbed was rebuilt (new host keys
// and certificates). They hold only the testbed's documentation
// addresses. Regenerate the goldens with: go test ./internal/report -update
var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

func load(t *testing.T, name string) (*Report, []byte) {
	t.Helper()
	r, raw, err := Load(filepath.Join("testdata", "run-"+name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	return r, raw
}

// mergedOf merges testdata reports as `probe merge` would; Tool is fixed
// so the golden does not name the build.
func mergedOf(t *testing.T, names ...string) (*Report, []byte) {
	t.Helper()
	var reps []*Report
	for _, n := range names {
		r, _ := load(t, n)
		reps = append(reps, r)
	}
	m, err := Merge(reps, MergeOptions{Tool: "probe test"})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return m, raw
}

var afterAll = []string{"after-admin", "after-api", "after-internet-shard1of2", "after-internet-shard2of2"}
var beforeAll = []string{"before-admin", "before-api", "before-internet"}

type goldenCase struct {
	name string
	rep  *Report
	raw  []byte
}

func goldenCases(t *testing.T) []goldenCase {
	var cs []goldenCase
	for _, n := range []string{"after-internet", "before-internet", "after-internet-shard2of2"} {
		r, raw := load(t, n)
		cs = append(cs, goldenCase{"run-" + n, r, raw})
	}
	m, raw := mergedOf(t, afterAll...)
	cs = append(cs, goldenCase{"merged-after", m, raw})
	m, raw = mergedOf(t, beforeAll...)
	cs = append(cs, goldenCase{"merged-before", m, raw})
	return cs
}

func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/report -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (go test ./internal/report -update rewrites it); got:\n%s", path, firstDiff(string(want), string(got)))
	}
}

// firstDiff shows the first differing line, not two whole documents.
func firstDiff(want, got string) string {
	wl, gl := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < len(wl) || i < len(gl); i++ {
		var w, g string
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if w != g {
			return "line " + strconv.Itoa(i+1) + ":\n  want: " + w + "\n  got:  " + g
		}
	}
	return "(same lines, different bytes)"
}

func TestGoldenFormats(t *testing.T) {
	for _, c := range goldenCases(t) {
		for _, f := range Formats {
			t.Run(c.name+"/"+f.Name, func(t *testing.T) {
				var buf bytes.Buffer
				if err := f.Render(&buf, c.rep, c.raw, RenderOptions{}); err != nil {
					t.Fatal(err)
				}
				checkGolden(t, c.name+f.Ext, buf.Bytes())
				// Rendering twice gives the same bytes: nothing depends on
				// the clock or on map order.
				var again bytes.Buffer
				if err := f.Render(&again, c.rep, c.raw, RenderOptions{}); err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(buf.Bytes(), again.Bytes()) {
					t.Errorf("%s: a second rendering differs from the first", f.Name)
				}
			})
		}
	}
}

func TestGoldenCompactJSON(t *testing.T) {
	r, raw := load(t, "after-api")
	var buf bytes.Buffer
	if err := writeJSON(&buf, r, raw, RenderOptions{Compact: true}); err != nil {
		t.Fatal(err)
	}
	if n := bytes.Count(buf.Bytes(), []byte("\n")); n != 1 {
		t.Errorf("compact JSON has %d lines; want 1", n)
	}
	var pretty bytes.Buffer
	if err := writeJSON(&pretty, r, buf.Bytes(), RenderOptions{}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(pretty.Bytes(), raw) {
		t.Errorf("compact then pretty is not the report as written")
	}
}

func TestGoldenDiffs(t *testing.T) {
	afterInternet, _ := load(t, "after-internet")
	beforeInternet, _ := load(t, "before-internet")
	admin, _ := load(t, "after-admin")
	rebuilt, _ := load(t, "after2-admin")
	ma, _ := mergedOf(t, afterAll...)
	mb, _ := mergedOf(t, beforeAll...)
	for _, c := range []struct {
		name     string
		old, new *Report
	}{
		{"diff-after-before-internet", afterInternet, beforeInternet},
		{"diff-admin-rebuilt", admin, rebuilt},
		{"diff-merged-after-before", ma, mb},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := Compare(c.old, c.new)
			var buf bytes.Buffer
			if err := WriteDiff(&buf, d); err != nil {
				t.Fatal(err)
			}
			checkGolden(t, c.name+".txt", buf.Bytes())
		})
	}
}
