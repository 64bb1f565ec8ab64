package serve

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"testing"
	"time"

	"probe/internal/report"
	"probe/internal/testutil"
)

// kept is a real testbed run from the report package's testdata.
func kept(t *testing.T, name string) *report.Report {
	t.Helper()
	r, err := report.Read("../report/testdata/run-" + name + ".json")
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

func TestServeLastReport(t *testing.T) {
	rep := kept(t, "before-internet")
	var fail bool
	s := New(func(ctx context.Context) (*report.Report, error) {
		if fail {
			return nil, errors.New("--from auto needs a STUN answer, and none came")
		}
		return rep, nil
	}, time.Hour, t.Logf)
	hs := httptest.NewServer(s.Handler())
	defer hs.Close()

	if code, body := get(t, hs.URL+"/report.json"); code != http.StatusServiceUnavailable || !strings.Contains(body, "no run") {
		t.Errorf("/report.json before any run: %d %q; want 503", code, body)
	}
	if code, body := get(t, hs.URL+"/"); code != 200 || !strings.Contains(body, "no report yet") {
		t.Errorf("/ before any run: %d %q", code, body)
	}

	s.RunOnce(context.Background())
	code, body := get(t, hs.URL+"/report.json")
	if code != 200 {
		t.Fatalf("/report.json: %d", code)
	}
	testutil.ValidateReport(t, []byte(body))
	got, err := report.Decode([]byte(body))
	if err != nil || got.RunID != rep.RunID {
		t.Errorf("/report.json is not the last run: %v", err)
	}

	_, metrics := get(t, hs.URL+"/metrics")
	for _, want := range []string{
		`probe_expectation_verdict{id="api-ssh",target="api",vantage="internet",verdict="fail"} 1`,
		`probe_serve_runs_total{outcome="fail"} 1`,
		`probe_serve_interval_seconds 3600`,
		"go_goroutines",
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}

	// A run that makes no report keeps the last one and says why.
	fail = true
	s.RunOnce(context.Background())
	_, metrics = get(t, hs.URL+"/metrics")
	if !strings.Contains(metrics, `probe_serve_runs_total{outcome="error"} 1`) || !strings.Contains(metrics, "probe_expectation_verdict") {
		t.Errorf("after a failed run, /metrics lacks the error count or the last report's series")
	}
	_, page := get(t, hs.URL+"/")
	if !strings.Contains(page, "none came") || !strings.Contains(page, rep.RunID) {
		t.Errorf("the page does not show the failed run's error and the last report")
	}
}

// What Prometheus scrapes passes promtool's own lint.
func TestMetricsPassPromtool(t *testing.T) {
	promtool := testutil.RequireBinary(t, "prometheus", "promtool")
	for _, name := range []string{"after-internet", "before-internet", "after-admin", "before-api"} {
		t.Run(name, func(t *testing.T) {
			rep := kept(t, name)
			s := New(func(context.Context) (*report.Report, error) { return rep, nil }, time.Minute, t.Logf)
			s.RunOnce(context.Background())
			hs := httptest.NewServer(s.Handler())
			defer hs.Close()
			_, metrics := get(t, hs.URL+"/metrics")
			cmd := exec.Command(promtool, "check", "metrics")
			cmd.Stdin = strings.NewReader(metrics)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("promtool check metrics: %v\n%s", err, out)
			}
		})
	}
}
