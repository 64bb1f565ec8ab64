package serve

import (
	"html/template"
	"net/http"
	"time"

	"probe/internal/report"
)

// page is the last report for a person: what a Grafana board would show,
// without one. html/template escapes every value, so a banner or a reason
// from a server reaches the page as text.
var page = template.Must(template.New("page").Funcs(template.FuncMap{
	"port": report.PortLabel,
	"when": func(t time.Time) string {
		if t.IsZero() {
			return "-"
		}
		return t.UTC().Format("2006-01-02 15:04:05 UTC")
	},
}).Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="refresh" content="60">
<title>probe: {{if .Report}}{{.Status}}{{else}}no report yet{{end}}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin-top: 1em; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.6em; text-align: left; vertical-align: top; }
th { background: #f2f2f2; }
.verdict { font-weight: bold; }
.pass { background: #e3f6e3; }
.fail { background: #fbe0e0; }
.inconclusive, .error { background: #fff3d6; }
.problem { color: #a00; }
dl { display: grid; grid-template-columns: max-content auto; gap: 0.2em 1em; }
dt { font-weight: bold; }
</style>
</head>
<body>
<h1>probe: {{if .Report}}<span id="status">{{.Status}}</span>{{else}}no report yet{{end}}</h1>
{{if .Err}}<p class="problem" id="error">The last run made no report: {{.Err}}</p>{{end}}
{{with .Report}}
<dl>
<dt>Run</dt><dd id="run">{{.RunID}}</dd>
<dt>Vantage</dt><dd id="vantage">{{.Vantage.Name}} ({{.Vantage.Established}}{{with .Vantage.PublicAddress}}, public address {{.}}{{end}})</dd>
<dt>Started</dt><dd>{{when .Started}}</dd>
<dt>Finished</dt><dd>{{when .Finished}}</dd>
<dt>Config</dt><dd>{{.Config.Path}} (sha256 {{printf "%.12s" .Config.SHA256}})</dd>
<dt>Network</dt><dd>{{.Network.Evidence}}</dd>
{{if .Partial}}<dt>Partial</dt><dd class="problem">{{.PartialReason}}</dd>{{end}}
</dl>
<p id="summary">{{.Summary.Total}} expectations: {{.Summary.Pass}} pass, {{.Summary.Fail}} fail, {{.Summary.Inconclusive}} inconclusive, {{.Summary.Error}} error</p>
{{with .Summary.Note}}<p class="problem">{{.}}</p>{{end}}
<table id="results">
<thead><tr><th>Verdict</th><th>ID</th><th>Target</th><th>Port</th><th>Expected</th><th>Observed</th><th>Reason</th></tr></thead>
<tbody>
{{range .Results}}<tr class="{{.Verdict}}"><td class="verdict">{{.Verdict}}</td><td>{{.ID}}</td><td>{{.Target}} ({{.Address}})</td><td>{{port .}}</td><td>{{.Expected}}</td><td>{{.Observed}}</td><td>{{.Reason}}</td></tr>
{{end}}</tbody>
</table>
{{end}}
<p>Next run: {{when .Next}}{{if .Running}} (a run is in progress){{end}}. Also: <a href="report.json">report.json</a>, <a href="metrics">metrics</a>.</p>
</body>
</html>
`))

type pageData struct {
	Report  *report.Report
	Status  string
	Err     error
	Next    time.Time
	Running bool
}

func (s *Server) servePage(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	d := pageData{Report: s.last, Err: s.lastErr, Next: s.next, Running: s.running}
	s.mu.Unlock()
	if d.Report != nil {
		d.Status = outcome(d.Report.Summary)
		if d.Report.Partial {
			d.Status += " (partial)"
		}
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := page.Execute(w, d); err != nil {
		s.logf("rendering the page: %v", err)
	}
}
