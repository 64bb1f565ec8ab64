package report

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestMergeIsAMatrixOfVantages(t *testing.T) {
	m, _ := mergedOf(t, afterAll...)
	if !m.IsMerged() || len(m.Runs) != 4 {
		t.Fatalf("merged report has %d runs; want 4", len(m.Runs))
	}
	want := 0
	for _, n := range afterAll {
		r, _ := load(t, n)
		want += len(r.Results)
	}
	if len(m.Results) != want {
		t.Errorf("%d results; want %d, every input result once", len(m.Results), want)
	}
	seen := map[string]bool{}
	for _, res := range m.Results {
		if res.Vantage == "" {
			t.Errorf("%s: result without its vantage", res.ID)
		}
		k := res.ID + " " + res.Vantage
		if seen[k] {
			t.Errorf("%s twice", k)
		}
		seen[k] = true
	}
	// The internet shards are one vantage again: all of its checks, in
	// the file's order, each expectation's vantages together.
	if got := strings.Join(m.VantageNames(), ","); got != "admin,api,internet" {
		t.Errorf("vantages %s; want admin,api,internet", got)
	}
	if m.Results[0].ID != "api-ssh" || m.Results[len(m.Results)-1].ID != "redis" {
		t.Errorf("results run %s … %s; want the file's order, api-ssh … redis", m.Results[0].ID, m.Results[len(m.Results)-1].ID)
	}
	if m.Partial {
		t.Errorf("partial: %s; every shard is there", m.PartialReason)
	}
}

func TestMergeDoesNotDependOnOrder(t *testing.T) {
	_, a := mergedOf(t, afterAll...)
	_, b := mergedOf(t, afterAll[3], afterAll[1], afterAll[0], afterAll[2])
	if !bytes.Equal(a, b) {
		t.Errorf("merging in another order gave another report")
	}
}

func TestMergeRefuses(t *testing.T) {
	admin, _ := load(t, "after-admin")
	again, _ := load(t, "after2-admin")
	api, _ := load(t, "after-api")
	shard1, _ := load(t, "after-internet-shard1of2")
	whole, _ := load(t, "after-internet")

	otherConfig, _ := load(t, "after-api")
	otherConfig.Config.SHA256 = strings.Repeat("0", 64)

	for _, c := range []struct {
		name string
		reps []*Report
		want error
	}{
		{"two runs of one vantage", []*Report{admin, again}, ErrSameRun},
		{"a shard and the whole vantage", []*Report{shard1, whole}, ErrSameRun},
		{"different expectation tables", []*Report{admin, otherConfig}, ErrConfigDiffers},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Merge(c.reps, MergeOptions{})
			if !errors.Is(err, c.want) {
				t.Fatalf("err = %v; want %v", err, c.want)
			}
			var warned []string
			m, err := Merge(c.reps, MergeOptions{Force: true, Warn: func(s string) { warned = append(warned, s) }})
			if err != nil || len(warned) != 1 {
				t.Fatalf("--force: err %v, warnings %q; want a report and one warning", err, warned)
			}
			seen := map[string]bool{}
			for _, res := range m.Results {
				k := res.ID + " " + res.Vantage
				if seen[k] {
					t.Errorf("--force kept %s twice", k)
				}
				seen[k] = true
			}
		})
	}
	// --force keeps the later run of a vantage.
	m, err := Merge([]*Report{again, admin, api}, MergeOptions{Force: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, run := range m.Runs {
		if run.Vantage.Name == "admin" && run.Superseded != (run.RunID == admin.RunID) {
			t.Errorf("run %s superseded=%v; want only the earlier admin run superseded", run.RunID, run.Superseded)
		}
	}
	if _, err := Merge([]*Report{m, api}, MergeOptions{Force: true}); !errors.Is(err, ErrMergedInput) {
		t.Errorf("merging a merged report: err = %v; want ErrMergedInput", err)
	}
}

func TestMergeSaysWhichShardIsMissing(t *testing.T) {
	admin, _ := load(t, "after-admin")
	shard1, _ := load(t, "after-internet-shard1of2")
	m, err := Merge([]*Report{admin, shard1}, MergeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !m.Partial || !strings.Contains(m.PartialReason, "internet: shard 2/2 is missing") {
		t.Errorf("partial=%v (%q); want partial naming shard 2/2 of internet", m.Partial, m.PartialReason)
	}
}

// An expectation probed over both families is two results of one id and
// vantage: merge keeps both, diff tells them apart, and the table's port
// column names the family.
func TestResultsPerFamily(t *testing.T) {
	r, _ := load(t, afterAll[0])
	r.Results = r.Results[:1]
	v4 := r.Results[0]
	v4.Family = "ipv4"
	v6 := v4
	v6.Family, v6.Address, v6.Verdict = "ipv6", "2001:db8::10", "fail"
	r.Results = []Result{v4, v6}
	m, err := Merge([]*Report{r}, MergeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Results) != 2 || m.Results[0].Family != "ipv4" || m.Results[1].Family != "ipv6" {
		t.Fatalf("merged results %+v; want the ipv4 and the ipv6 result", m.Results)
	}
	old := *r
	old.Results = []Result{v4, v4}
	old.Results[1].Family = "ipv6"
	d := Compare(&old, r)
	if len(d.Changes) != 1 || d.Changes[0].Family != "ipv6" || d.Changes[0].Kind != "verdict-changed" {
		t.Errorf("diff %+v; want one verdict change, over ipv6", d.Changes)
	}
	if got := PortLabel(v6); !strings.HasSuffix(got, " over ipv6") {
		t.Errorf("port label %q; want it to name ipv6", got)
	}
}
