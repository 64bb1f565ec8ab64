package drift

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// Formats are the renderings of a Result.
var Formats = []string{"table", "markdown", "json"}

// Write renders res in format.
func Write(w io.Writer, res *Result, format string) error {
	switch format {
	case "table":
		return writeText(w, res)
	case "markdown":
		return writeMarkdown(w, res)
	case "json":
		b, err := json.MarshalIndent(res, "", "  ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "%s\n", b)
		return err
	}
	return fmt.Errorf("no such format %q (want one of %s)", format, strings.Join(Formats, ", "))
}

func writeText(w io.Writer, res *Result) error {
	b := &strings.Builder{}
	fmt.Fprintf(b, "groups: %s\nfile:   %s\n", res.Groups, res.Config)
	for _, r := range res.Reports {
		fmt.Fprintf(b, "report: %s\n", r)
	}
	if len(res.Findings) == 0 {
		b.WriteString("\nno drift: the groups, the file and the reports agree\n")
		_, err := io.WriteString(w, b.String())
		return err
	}
	b.WriteString("\n")
	for _, f := range res.Findings {
		mark := "!"
		if !f.Matters {
			mark = " "
		}
		fmt.Fprintf(b, "%s %s: %s\n", mark, f.Kind, f.Message)
	}
	fmt.Fprintf(b, "\n%d findings, %d that matter (marked !)\n", len(res.Findings), res.Matters)
	_, err := io.WriteString(w, b.String())
	return err
}

func writeMarkdown(w io.Writer, res *Result) error {
	b := &strings.Builder{}
	b.WriteString("# Drift: security groups, expectations and observations\n\n")
	fmt.Fprintf(b, "**Groups:** `%s`  \n**Expectations:** `%s`  \n", res.Groups, res.Config)
	if len(res.Reports) > 0 {
		fmt.Fprintf(b, "**Reports:** %s  \n", "`"+strings.Join(res.Reports, "`, `")+"`")
	}
	if len(res.Findings) == 0 {
		b.WriteString("**Status:** ✅ no drift: the groups, the file and the reports agree\n")
		_, err := io.WriteString(w, b.String())
		return err
	}
	fmt.Fprintf(b, "**Status:** ❌ %d findings, %d that matter\n\n", len(res.Findings), res.Matters)
	b.WriteString("| | Finding | Target | Vantage | Ports | Rule | Expectation | What it means |\n")
	b.WriteString("|-|---------|--------|---------|-------|------|-------------|---------------|\n")
	for _, f := range res.Findings {
		mark := "❌"
		if !f.Matters {
			mark = "ℹ️"
		}
		ports := f.Ports
		if ports != "" {
			ports += "/" + f.Transport
		}
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s | %s | %s |\n", mark, f.Kind, cell(f.Target), cell(f.Vantage),
			cell(ports), cell(f.Rule), cell(f.Expectation), cell(f.Message))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// cell escapes a Markdown table cell; an empty one is a dash.
func cell(s string) string {
	if s == "" {
		return "–"
	}
	s = strings.ReplaceAll(s, "|", `\|`)
	return strings.ReplaceAll(s, "\n", " ")
}
