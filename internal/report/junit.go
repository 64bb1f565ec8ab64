package report

import (
	"encoding/xml"
	"fmt"
	"io"
	"strings"
	"time"
)

// The JUnit XML shape CI test tabs read (Jenkins, GitLab, GitHub actions
// that publish test results): <testsuites> of <testsuite>, one per vantage,
// of <testcase>, one per expectation and vantage.
//
// A fail is a <failure>. An inconclusive verdict and an error are both an
// <error> (type "inconclusive" or "error"), never a <skipped>: most test
// tabs show skipped tests as harmless, and a check that could not be shown
// is not harmless (no false green).
type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name       string          `xml:"name,attr"`
	Tests      int             `xml:"tests,attr"`
	Failures   int             `xml:"failures,attr"`
	Errors     int             `xml:"errors,attr"`
	Skipped    int             `xml:"skipped,attr"`
	Time       string          `xml:"time,attr"`
	Timestamp  string          `xml:"timestamp,attr"`
	Hostname   string          `xml:"hostname,attr,omitempty"`
	Properties []junitProperty `xml:"properties>property"`
	Cases      []junitCase     `xml:"testcase"`
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitProblem `xml:"failure"`
	Error     *junitProblem `xml:"error"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitProblem struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Body    string `xml:",chardata"`
}

// WriteJUnit renders r as JUnit XML: a suite per vantage, a test case per
// expectation and vantage named "ID from VANTAGE" (unique in a report), its
// class the target, its failure or error message the verdict's reason and
// its body the evidence of each port.
func WriteJUnit(w io.Writer, r *Report) error {
	all := junitSuites{Name: "probe " + r.RunID}
	var total time.Duration
	for _, name := range r.VantageNames() {
		suite := junitSuite{Name: "probe from " + name}
		var start, end time.Time
		for _, run := range vantageRuns(r) {
			if run.Vantage.Name != name || run.Superseded {
				continue
			}
			if r.IsMerged() {
				if start.IsZero() || run.Started.Before(start) {
					start = run.Started
				}
				if run.Finished.After(end) {
					end = run.Finished
				}
			} else {
				start, end = r.Started, r.Finished
			}
			suite.Hostname = run.Vantage.PublicAddress
			suite.Properties = append(suite.Properties, junitProperty{"run_id", run.RunID})
			if run.Shard != nil {
				suite.Properties = append(suite.Properties, junitProperty{"shard", run.Shard.String()})
			}
			suite.Properties = append(suite.Properties, junitProperty{"established", run.Vantage.Established})
		}
		suite.Properties = append(suite.Properties, junitProperty{"config_sha256", r.Config.SHA256})
		suite.Timestamp = start.UTC().Format("2006-01-02T15:04:05")
		suite.Time = seconds(end.Sub(start))
		total += end.Sub(start)
		for _, res := range r.Results {
			if r.VantageOf(res) != name {
				continue
			}
			c := junitCase{
				Name:      fmt.Sprintf("%s%s from %s", res.ID, overFamily(res.Family), name),
				Classname: "probe." + res.Target,
				Time:      seconds(time.Duration(res.DurationMS) * time.Millisecond),
				SystemOut: evidenceText(res),
			}
			msg := fmt.Sprintf("expected %s, observed %s: %s", res.Expected, res.Observed, oneLine(res.Reason))
			switch res.Verdict {
			case "pass":
			case "fail":
				c.Failure = &junitProblem{Message: msg, Type: "fail", Body: c.SystemOut}
				c.SystemOut = "" // the evidence is the failure's body
				suite.Failures++
			default:
				c.Error = &junitProblem{Message: msg, Type: res.Verdict, Body: c.SystemOut}
				c.SystemOut = ""
				suite.Errors++
			}
			suite.Cases = append(suite.Cases, c)
			suite.Tests++
		}
		all.Tests += suite.Tests
		all.Failures += suite.Failures
		all.Errors += suite.Errors
		all.Suites = append(all.Suites, suite)
	}
	all.Time = seconds(total)
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(all); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

// evidenceText is one line per probed port.
func evidenceText(res Result) string {
	var b strings.Builder
	for _, e := range res.Evidence {
		ctl := ""
		if e.Control {
			ctl = " (control)"
		}
		fmt.Fprintf(&b, "%d/%s%s: %s: %s\n", e.Port, res.Transport, ctl, e.Verdict, oneLine(e.Reason))
		for _, c := range e.Checks {
			ok := "ok"
			if !c.Pass {
				ok = "FAILED"
			}
			fmt.Fprintf(&b, "  %s %s: expected %s, observed %s\n", ok, c.Name, oneLine(c.Expected), oneLine(c.Observed))
		}
	}
	return b.String()
}

func seconds(d time.Duration) string {
	return fmt.Sprintf("%.3f", d.Seconds())
}
