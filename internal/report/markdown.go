package report

import (
	"fmt"
	"io"
	"strconv"
	"strings"
)

// WriteMarkdown renders r in the style of the deployment's security
// document, ready to paste into the security file: a header, one table per
// server with Port | Protocol | Source | Purpose | Expected | Observed |
// Status, and a summary. Source is the vantage the row was seen from, with
// its CIDRs. Nothing in it depends on the clock: the date is the run's.
func WriteMarkdown(w io.Writer, r *Report) error {
	b := &strings.Builder{}
	fmt.Fprintf(b, "# Network exposure: probe report\n\n")
	if r.IsMerged() {
		fmt.Fprintf(b, "**Report:** `%s` (merged from %d runs)  \n", r.RunID, len(r.Runs))
	} else {
		fmt.Fprintf(b, "**Run:** `%s`", r.RunID)
		if r.Shard != nil {
			fmt.Fprintf(b, " (shard %s)", r.Shard)
		}
		fmt.Fprintf(b, "  \n")
	}
	fmt.Fprintf(b, "**Date:** %s  \n", r.Started.UTC().Format("2006-01-02 15:04 MST"))
	fmt.Fprintf(b, "**Config:** `%s` (sha256 `%.12s`)  \n", codeSpan(r.Config.Path), codeSpan(r.Config.SHA256))
	fmt.Fprintf(b, "**Status:** %s\n", statusLine(r))
	if r.Partial {
		fmt.Fprintf(b, "\n> ⚠️ **Partial:** %s\n", text(r.PartialReason))
	}

	fmt.Fprintf(b, "\n| Vantage | Source | Established | Public address | Run |\n|---------|--------|-------------|----------------|-----|\n")
	for _, run := range vantageRuns(r) {
		v := run.Vantage
		id := "`" + codeSpan(run.RunID) + "`"
		if run.Shard != nil {
			id += " (shard " + run.Shard.String() + ")"
		}
		if run.Superseded {
			id += " (superseded)"
		}
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s |\n", cell(v.Name), cell(sourceCIDRs(v)), cell(v.Established), cell(orDash(v.PublicAddress)), id)
	}

	for _, t := range targetOrder(r) {
		fmt.Fprintf(b, "\n---\n\n## %s (%s)\n\n", text(t.name), text(t.address))
		fmt.Fprintf(b, "| Port | Protocol | Source | Purpose | Expected | Observed | Status |\n")
		fmt.Fprintf(b, "|------|----------|--------|---------|----------|----------|--------|\n")
		for _, res := range r.Results {
			if res.Target != t.name {
				continue
			}
			fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s | %s |\n",
				cell(markdownPorts(res)), strings.ToUpper(res.Transport), cell(source(r, res)),
				cell(orDash(res.Purpose)), cell(res.Expected), cell(res.Observed), statusCell(res))
		}
	}

	fmt.Fprintf(b, "\n---\n\n## Summary\n\n")
	fmt.Fprintf(b, "| Vantage | Checks | ✅ Pass | ❌ Fail | ⚠️ Inconclusive | ⚠️ Error |\n|---------|--------|---------|---------|-----------------|----------|\n")
	names := r.VantageNames()
	for _, v := range names {
		s := Count(resultsFrom(r, v))
		fmt.Fprintf(b, "| %s | %d | %d | %d | %d | %d |\n", cell(v), s.Total, s.Pass, s.Fail, s.Inconclusive, s.Error)
	}
	if len(names) > 1 {
		s := r.Summary
		fmt.Fprintf(b, "| **all** | **%d** | **%d** | **%d** | **%d** | **%d** |\n", s.Total, s.Pass, s.Fail, s.Inconclusive, s.Error)
	}
	list := func(title string, keep func(Result) bool) {
		first := true
		for _, res := range r.Results {
			if !keep(res) {
				continue
			}
			if first {
				fmt.Fprintf(b, "\n### %s\n\n", title)
				first = false
			}
			fmt.Fprintf(b, "- %s **%s** (%s on %s, from %s): %s\n", emoji(res.Verdict), text(res.ID),
				text(PortLabel(res)), text(res.Target), text(r.VantageOf(res)), text(res.Reason))
		}
	}
	list("Failed", func(res Result) bool { return res.Verdict == "fail" })
	list("Not shown (inconclusive or error)", func(res Result) bool { return res.Verdict == "inconclusive" || res.Verdict == "error" })
	first := true
	for _, t := range r.Targets {
		if t.Alive {
			continue
		}
		if first {
			fmt.Fprintf(b, "\n### Liveness not shown\n\n")
			first = false
		}
		from := t.Vantage
		if from == "" {
			from = r.Vantage.Name
		}
		fmt.Fprintf(b, "- %s (%s) from %s: %s\n", text(t.Name), text(t.Address), text(from), text(t.Evidence))
	}
	if r.Summary.Note != "" {
		fmt.Fprintf(b, "\n**Note:** %s\n", text(r.Summary.Note))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// statusLine is the header's Status, in the document's voice.
func statusLine(r *Report) string {
	s := r.Summary
	switch {
	case s.Total == 0:
		return "⚠️ Nothing was checked"
	case s.Fail > 0:
		return fmt.Sprintf("❌ %d of %d checks failed", s.Fail, s.Total)
	case s.Inconclusive+s.Error > 0:
		return fmt.Sprintf("⚠️ No check failed, but %d of %d could not be shown", s.Inconclusive+s.Error, s.Total)
	}
	return fmt.Sprintf("✅ All %d checks passed", s.Total)
}

func emoji(verdict string) string {
	switch verdict {
	case "pass":
		return "✅"
	case "fail":
		return "❌"
	}
	return "⚠️"
}

func statusCell(res Result) string {
	s := emoji(res.Verdict) + " " + strings.ToUpper(res.Verdict)
	if res.Critical {
		s += " (CRITICAL)"
	}
	return s
}

// markdownPorts is the Port column: "22", "80, 443", "16384-32768 (10
// sampled)"; "name" for a row that judges a name.
func markdownPorts(res Result) string {
	if res.Resolved != nil {
		return "name"
	}
	if res.Range != "" {
		return fmt.Sprintf("%s (%s)", res.Range, rangeNote(res))
	}
	ps := make([]string, len(res.Ports))
	for i, p := range res.Ports {
		ps[i] = strconv.Itoa(p)
	}
	return strings.Join(ps, ", ")
}

// source is the Source column: the vantage and its CIDRs.
func source(r *Report, res Result) string {
	v := r.VantageInfo(r.VantageOf(res))
	return v.Name + " (" + sourceCIDRs(v) + ")"
}

func sourceCIDRs(v Vantage) string {
	if len(v.CIDRs) == 0 {
		return "any other address"
	}
	return strings.Join(v.CIDRs, ", ")
}

type targetRef struct{ name, address string }

// targetOrder lists the targets of r's results in order of first mention.
func targetOrder(r *Report) []targetRef {
	var out []targetRef
	seen := map[string]bool{}
	for _, res := range r.Results {
		if !seen[res.Target] {
			seen[res.Target] = true
			out = append(out, targetRef{res.Target, res.Address})
		}
	}
	return out
}

// vantageRuns is one entry per run (a single report is its own run).
func vantageRuns(r *Report) []Run {
	if r.IsMerged() {
		return r.Runs
	}
	return []Run{{RunID: r.RunID, Vantage: r.Vantage, Shard: r.Shard}}
}

func resultsFrom(r *Report, vantage string) []Result {
	var out []Result
	for _, res := range r.Results {
		if r.VantageOf(res) == vantage {
			out = append(out, res)
		}
	}
	return out
}

// cell makes text safe in a Markdown table cell: "open|filtered" would
// otherwise split the row.
func cell(s string) string {
	return strings.ReplaceAll(text(s), "|", `\|`)
}

// mdEscaper keeps text from a report (a reason that quotes a server's
// banner, a purpose, a name) from being read as markup where it matters:
// raw HTML would be rendered by the page the Markdown lands in
// ($GITHUB_STEP_SUMMARY, a wiki), and brackets would make links and
// images that load from elsewhere. Emphasis characters are left alone: at
// worst they change a font, and escaping them would clutter the raw file
// that goes into the security document.
var mdEscaper = strings.NewReplacer(
	"&", "&amp;", "<", "&lt;", ">", "&gt;", `\`, `\\`, "[", `\[`, "]", `\]`,
)

// text is s on one line, escaped for Markdown.
func text(s string) string {
	return mdEscaper.Replace(oneLine(s))
}

// codeSpan makes s safe inside a code span, where nothing is markup but a
// backtick would end the span.
func codeSpan(s string) string {
	return strings.ReplaceAll(oneLine(s), "`", "'")
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
