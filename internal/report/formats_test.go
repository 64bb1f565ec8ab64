package report

import (
	"bytes"
	"encoding/xml"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// junitAllowed is testdata/junit.xsd's element structure, for the strict
// walk below that runs where xmllint does not: each element's allowed
// children and attributes, and the attributes it must have.
var junitAllowed = map[string]struct{ children, attrs, required []string }{
	"testsuites": {[]string{"testsuite"}, []string{"name", "tests", "failures", "errors", "time"}, []string{"tests", "failures", "errors"}},
	"testsuite": {[]string{"properties", "testcase"}, []string{"name", "tests", "failures", "errors", "skipped", "time", "timestamp", "hostname"},
		[]string{"name", "tests", "failures", "errors"}},
	"properties": {[]string{"property"}, nil, nil},
	"property":   {nil, []string{"name", "value"}, []string{"name", "value"}},
	"testcase":   {[]string{"failure", "error", "skipped", "system-out", "system-err"}, []string{"name", "classname", "time"}, []string{"name", "classname"}},
	"failure":    {nil, []string{"message", "type"}, []string{"message", "type"}},
	"error":      {nil, []string{"message", "type"}, []string{"message", "type"}},
	"system-out": {nil, nil, nil},
}

// checkJUnit walks doc strictly: every element and attribute is one the
// schema allows, counts agree with the test cases, names are unique, and a
// test case has at most one of failure and error.
func checkJUnit(t *testing.T, doc []byte) (cases, failures, errs int) {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(doc))
	var stack []string
	names := map[string]bool{}
	type counts struct{ tests, failures, errors int }
	var suite, declared counts
	var total counts
	problems := 0
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed XML: %v", err)
		}
		switch el := tok.(type) {
		case xml.StartElement:
			name := el.Name.Local
			rule, ok := junitAllowed[name]
			if !ok {
				t.Fatalf("element <%s> is not in the schema", name)
			}
			if len(stack) == 0 && name != "testsuites" {
				t.Fatalf("root is <%s>; want <testsuites>", name)
			}
			if len(stack) > 0 {
				parent := junitAllowed[stack[len(stack)-1]]
				if !contains(parent.children, name) {
					t.Fatalf("<%s> inside <%s> is not allowed", name, stack[len(stack)-1])
				}
			}
			attrs := map[string]string{}
			for _, a := range el.Attr {
				if !contains(rule.attrs, a.Name.Local) {
					t.Errorf("<%s %s=...>: attribute not in the schema", name, a.Name.Local)
				}
				attrs[a.Name.Local] = a.Value
			}
			for _, r := range rule.required {
				if _, ok := attrs[r]; !ok {
					t.Errorf("<%s> lacks required attribute %s", name, r)
				}
			}
			if v, ok := attrs["time"]; ok {
				if f, err := strconv.ParseFloat(v, 64); err != nil || f < 0 {
					t.Errorf("<%s time=%q>: not a duration in seconds", name, v)
				}
			}
			atoi := func(k string) int { n, _ := strconv.Atoi(attrs[k]); return n }
			switch name {
			case "testsuites":
				total = counts{atoi("tests"), atoi("failures"), atoi("errors")}
			case "testsuite":
				suite, declared = counts{}, counts{atoi("tests"), atoi("failures"), atoi("errors")}
			case "testcase":
				if names[attrs["name"]] {
					t.Errorf("test case name %q is not unique", attrs["name"])
				}
				names[attrs["name"]] = true
				suite.tests++
				cases++
				problems = 0
			case "failure", "error":
				problems++
				if problems > 1 {
					t.Errorf("a test case has more than one failure or error")
				}
				if strings.TrimSpace(attrs["message"]) == "" {
					t.Errorf("<%s> without a message", name)
				}
				if name == "failure" {
					suite.failures++
					failures++
				} else {
					suite.errors++
					errs++
				}
			}
			stack = append(stack, name)
		case xml.EndElement:
			if el.Name.Local == "testsuite" && suite != declared {
				t.Errorf("suite declares %+v; its test cases count %+v", declared, suite)
			}
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 0 && junitAllowed[stack[len(stack)-1]].children != nil && strings.TrimSpace(string(el)) != "" {
				t.Errorf("text inside <%s>", stack[len(stack)-1])
			}
		}
	}
	if (total != counts{cases, failures, errs}) {
		t.Errorf("testsuites declares %+v; the test cases count %d, %d, %d", total, cases, failures, errs)
	}
	return cases, failures, errs
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestJUnitMatchesSchemaAndReport(t *testing.T) {
	for _, c := range goldenCases(t) {
		t.Run(c.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := WriteJUnit(&buf, c.rep); err != nil {
				t.Fatal(err)
			}
			cases, failures, errs := checkJUnit(t, buf.Bytes())
			s := c.rep.Summary
			if cases != s.Total || failures != s.Fail || errs != s.Inconclusive+s.Error {
				t.Errorf("junit has %d cases, %d failures, %d errors; the report has %d results, %d fail, %d inconclusive or error",
					cases, failures, errs, s.Total, s.Fail, s.Inconclusive+s.Error)
			}
			xmllint(t, buf.Bytes())
		})
	}
}

// An inconclusive verdict is an <error>, never a <skipped> a CI tab would
// show as harmless.
func TestJUnitInconclusiveIsAnError(t *testing.T) {
	r, _ := load(t, "after-api")
	r.Results[0].Verdict, r.Results[0].Reason = "inconclusive", "the target was not shown alive"
	r.Summary = Count(r.Results)
	var buf bytes.Buffer
	if err := WriteJUnit(&buf, r); err != nil {
		t.Fatal(err)
	}
	doc := buf.String()
	if strings.Contains(doc, "<skipped") || !strings.Contains(doc, `type="inconclusive"`) || !strings.Contains(doc, "the target was not shown alive") {
		t.Errorf("inconclusive not written as an error with its reason:\n%s", doc)
	}
	if _, _, errs := checkJUnit(t, buf.Bytes()); errs != 1 {
		t.Errorf("%d errors; want 1", errs)
	}
}

// xmllint validates against testdata/junit.xsd where it is installed
// (Debian: libxml2-utils); the strict walk above runs everywhere.
func xmllint(t *testing.T, doc []byte) {
	t.Helper()
	path, err := exec.LookPath("xmllint")
	if err != nil {
		t.Log("xmllint not installed: checked by the strict walk only")
		return
	}
	f := filepath.Join(t.TempDir(), "junit.xml")
	if err := os.WriteFile(f, doc, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(path, "--noout", "--schema", filepath.Join("testdata", "junit.xsd"), f).CombinedOutput()
	if err != nil {
		t.Errorf("xmllint: %v\n%s", err, out)
	}
}

func TestPrometheusParsesAndAgrees(t *testing.T) {
	for _, c := range goldenCases(t) {
		t.Run(c.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := WritePrometheus(&buf, c.rep); err != nil {
				t.Fatal(err)
			}
			p := expfmt.NewTextParser(model.LegacyValidation)
			fams, err := p.TextToMetricFamilies(bytes.NewReader(buf.Bytes()))
			if err != nil {
				t.Fatalf("expfmt: %v\n%s", err, buf.String())
			}
			for name, f := range fams {
				if f.GetType().String() != "GAUGE" || f.GetHelp() == "" {
					t.Errorf("%s: type %s, help %q; want a gauge with help", name, f.GetType(), f.GetHelp())
				}
				for _, m := range f.GetMetric() {
					if m.TimestampMs != nil {
						t.Errorf("%s has a timestamp: the textfile collector refuses those", name)
					}
				}
			}
			// The one-hot verdict says each result's verdict, once.
			verdict := map[string]string{}
			for _, m := range fams["probe_expectation_verdict"].GetMetric() {
				l := labels(m.GetLabel())
				key := l["id"] + " from " + l["vantage"]
				if m.GetGauge().GetValue() == 1 {
					if verdict[key] != "" {
						t.Errorf("%s: two verdicts set", key)
					}
					verdict[key] = l["verdict"]
				}
			}
			if len(verdict) != len(c.rep.Results) {
				t.Errorf("%d results with a verdict series; want %d", len(verdict), len(c.rep.Results))
			}
			for _, res := range c.rep.Results {
				if got := verdict[res.ID+" from "+c.rep.VantageOf(res)]; got != res.Verdict {
					t.Errorf("%s from %s: metric says %q; report says %q", res.ID, c.rep.VantageOf(res), got, res.Verdict)
				}
			}
			for _, want := range []string{"probe_port_state", "probe_expectation_duration_seconds", "probe_run_timestamp_seconds", "probe_run_partial", "probe_target_alive"} {
				if fams[want] == nil {
					t.Errorf("no %s", want)
				}
			}
			ts := fams["probe_run_timestamp_seconds"].GetMetric()
			if len(ts) == 0 || int64(ts[0].GetGauge().GetValue()) <= 0 {
				t.Errorf("probe_run_timestamp_seconds missing or zero")
			}
		})
	}
}

// The certificate's days left come from the http probe's facts (the
// testbed's nginx on 443).
func TestPrometheusCertificateDaysLeft(t *testing.T) {
	r, _ := load(t, "after-internet")
	var buf bytes.Buffer
	if err := WritePrometheus(&buf, r); err != nil {
		t.Fatal(err)
	}
	p := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := p.TextToMetricFamilies(&buf)
	if err != nil {
		t.Fatal(err)
	}
	want := -1.0
	for _, res := range r.Results {
		if res.ID == "api-https" {
			tls := res.Evidence[0].Observation.Facts.(map[string]any)["tls"].(map[string]any)
			na, err := time.Parse(time.RFC3339, tls["not_after"].(string))
			if err != nil {
				t.Fatal(err)
			}
			want = float64(na.Unix())
		}
	}
	// Time left is in seconds, at query time (not_after - time()): a
	// family in days fails promtool's lint.
	for name := range fams {
		if strings.Contains(name, "days") {
			t.Errorf("%s is written; Prometheus's base unit is seconds", name)
		}
	}
	ms := fams["probe_tls_certificate_not_after_timestamp_seconds"].GetMetric()
	if len(ms) != 1 || ms[0].GetGauge().GetValue() != want || labels(ms[0].GetLabel())["id"] != "api-https" {
		t.Errorf("probe_tls_certificate_not_after_timestamp_seconds = %v; want one series for api-https with %v", ms, want)
	}
}

func labels(ls []*dto.LabelPair) map[string]string {
	m := map[string]string{}
	for _, l := range ls {
		m[l.GetName()] = l.GetValue()
	}
	return m
}

func TestReportsMatchSchema(t *testing.T) {
	c := jsonschema.NewCompiler()
	sch, err := c.Compile(filepath.Join("..", "..", "reports", "report.schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	valid := func(doc []byte) error {
		inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
		if err != nil {
			return err
		}
		return sch.Validate(inst)
	}
	runs, _ := filepath.Glob(filepath.Join("testdata", "run-*.json"))
	if len(runs) == 0 {
		t.Fatal("no testdata reports")
	}
	for _, p := range runs {
		raw, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := valid(raw); err != nil {
			t.Errorf("%s: %v", p, err)
		}
	}
	for _, c := range goldenCases(t) {
		if err := valid(c.raw); err != nil {
			t.Errorf("%s: %v", c.name, err)
		}
	}
	// A merged report must not also claim one run's vantage.
	m, _ := mergedOf(t, afterAll...)
	m.Vantage = Vantage{Name: "admin", Declared: "admin", Established: "stun-confirmed"}
	raw, _ := m.Marshal()
	if valid(raw) == nil {
		t.Errorf("a merged report with a top-level vantage passed the schema")
	}
	// A run's report must have its vantage.
	r, _ := load(t, "after-api")
	r.Vantage = Vantage{}
	raw, _ = r.Marshal()
	if valid(raw) == nil {
		t.Errorf("a run's report without a vantage passed the schema")
	}
}
