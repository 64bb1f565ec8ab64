// Package serve keeps probe running as a service: it makes the run of one
// expectation table on a schedule, keeps the last report, and serves it to
// Prometheus (/metrics), to programs (/report.json) and to a person (/, an
// HTML page). It probes nothing but the run it is given: no request names a
// target, so a scrape cannot turn the prober against another address.
package serve

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"probe/internal/report"
)

// RunFunc makes one run of the file and returns its report. ctx ends the
// run early (shutdown); the run's own deadline is the RunFunc's business.
type RunFunc func(ctx context.Context) (*report.Report, error)

// Server holds the last run and serves it.
type Server struct {
	run      RunFunc
	interval time.Duration
	logf     func(format string, args ...any)
	now      func() time.Time

	mu       sync.Mutex
	last     *report.Report
	lastJSON []byte
	families []*dto.MetricFamily // the last report's metrics, parsed once
	lastErr  error
	lastEnd  time.Time
	next     time.Time
	running  bool

	reg      *prometheus.Registry
	runs     *prometheus.CounterVec
	inFlight prometheus.Gauge
}

// New makes a Server that runs run every interval. logf gets one line per
// run.
func New(run RunFunc, interval time.Duration, logf func(string, ...any)) *Server {
	s := &Server{run: run, interval: interval, logf: logf, now: time.Now}
	s.runs = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "probe_serve_runs_total",
		Help: "Runs made by probe serve, by outcome: pass, fail, inconclusive (nothing failed, something not shown), error (no report).",
	}, []string{"outcome"})
	for _, o := range []string{"pass", "fail", "inconclusive", "error"} {
		s.runs.WithLabelValues(o)
	}
	s.inFlight = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "probe_serve_run_in_progress",
		Help: "1 while a run is being made.",
	})
	intervalGauge := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "probe_serve_interval_seconds",
		Help: "How often probe serve runs the file.",
	})
	intervalGauge.Set(interval.Seconds())
	s.reg = prometheus.NewRegistry()
	s.reg.MustRegister(s.runs, s.inFlight, intervalGauge,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return s
}

// Loop runs the file now and then every interval until ctx ends. A run
// that outlasts the interval delays the next one; runs never overlap.
func (s *Server) Loop(ctx context.Context) {
	for {
		s.RunOnce(ctx)
		s.mu.Lock()
		s.next = s.now().Add(s.interval)
		s.mu.Unlock()
		t := time.NewTimer(s.interval)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// RunOnce makes one run and keeps its report.
func (s *Server) RunOnce(ctx context.Context) {
	s.mu.Lock()
	s.running = true
	s.mu.Unlock()
	s.inFlight.Set(1)
	rep, err := s.run(ctx)
	s.inFlight.Set(0)
	var raw []byte
	var fams []*dto.MetricFamily
	if err == nil {
		raw, err = rep.Marshal()
	}
	if err == nil {
		fams, err = metricFamilies(rep)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.running = false
	s.lastEnd = s.now()
	if err != nil {
		s.lastErr = err
		s.runs.WithLabelValues("error").Inc()
		s.logf("run failed: %v", err)
		return
	}
	s.last, s.lastJSON, s.families, s.lastErr = rep, raw, fams, nil
	sum := rep.Summary
	s.runs.WithLabelValues(outcome(sum)).Inc()
	s.logf("run %s: %d pass, %d fail, %d inconclusive, %d error", rep.RunID, sum.Pass, sum.Fail, sum.Inconclusive, sum.Error)
}

func outcome(s report.Summary) string {
	switch {
	case s.Fail > 0:
		return "fail"
	case s.Inconclusive > 0 || s.Error > 0:
		return "inconclusive"
	}
	return "pass"
}

// metricFamilies is the report's Prometheus rendering, the same families
// `probe report --format prometheus` writes, parsed for the registry.
func metricFamilies(rep *report.Report) ([]*dto.MetricFamily, error) {
	var buf bytes.Buffer
	if err := report.WritePrometheus(&buf, rep); err != nil {
		return nil, err
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	m, err := p.TextToMetricFamilies(&buf)
	if err != nil {
		return nil, fmt.Errorf("the report's metrics: %w", err)
	}
	out := make([]*dto.MetricFamily, 0, len(m))
	for _, f := range m {
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].GetName() < out[j].GetName() })
	return out, nil
}

// Handler serves /metrics, /report.json, / and /healthz.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	last := prometheus.GathererFunc(func() ([]*dto.MetricFamily, error) {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.families, nil
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(prometheus.Gatherers{s.reg, last}, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /report.json", s.serveJSON)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /{$}", s.servePage)
	return mux
}

func (s *Server) serveJSON(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	raw, err := s.lastJSON, s.lastErr
	s.mu.Unlock()
	if raw == nil {
		msg := "no run has finished yet"
		if err != nil {
			msg = "no report: " + err.Error()
		}
		http.Error(w, msg, http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(raw)
}
