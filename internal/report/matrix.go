package report

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// writeMatrix renders a merged report as a matrix: a row per expectation,
// a column per vantage with its verdict ("-" where the expectation says
// nothing for that vantage), then every verdict that is not a pass with
// its reason.
func writeMatrix(w io.Writer, r *Report, opt TableOptions) error {
	vantages := r.VantageNames()
	fmt.Fprintf(w, "probe merged report %s: %d runs from %s, config sha256 %.12s\n",
		r.RunID, len(r.Runs), strings.Join(vantages, ", "), r.Config.SHA256)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprint(tw, "ID\tTARGET\tPORT")
	for _, v := range vantages {
		fmt.Fprintf(tw, "\t%s", strings.ToUpper(v))
	}
	fmt.Fprintln(tw)
	type row struct {
		id, target, port string
		cells            map[string]string
		ats              map[string]string // vantage -> the address probed (public, private, loopback)
	}
	var rows []*row
	byID := map[string]*row{}
	for _, res := range r.Results {
		rw := byID[res.ID+"\x00"+res.Family] // a row per family
		if rw == nil {
			rw = &row{id: res.ID, target: res.Target, port: PortLabel(res), cells: map[string]string{}, ats: map[string]string{}}
			byID[res.ID+"\x00"+res.Family] = rw
			rows = append(rows, rw)
		}
		rw.cells[r.VantageOf(res)] = paint(res.Verdict, opt.Color)
		rw.ats[r.VantageOf(res)] = res.At
	}
	for _, rw := range rows {
		// A row asked at different addresses from different vantages
		// (the public one from outside, the private one from inside)
		// says which each cell is: they are different facts.
		ats := map[string]bool{}
		for _, at := range rw.ats {
			ats[at] = true
		}
		if len(ats) > 1 {
			for v, at := range rw.ats {
				if at != "" {
					rw.cells[v] += " (" + at + ")"
				}
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s", rw.id, rw.target, rw.port)
		for _, v := range vantages {
			c, ok := rw.cells[v]
			if !ok {
				c = "-"
				if opt.Color {
					c = "\x1b[0;90m-\x1b[0m" // escapes as long as paint's
				}
			}
			fmt.Fprintf(tw, "\t%s", c)
		}
		fmt.Fprintln(tw)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	first := true
	for _, res := range r.Results {
		if res.Verdict == "pass" {
			continue
		}
		if first {
			fmt.Fprintln(w)
			first = false
		}
		reason := visible(oneLine(res.Reason))
		if !opt.Wide {
			reason = clip(reason, reasonWidth)
		}
		fmt.Fprintf(w, "%s %s from %s: expected %s, observed %s: %s\n",
			paint(res.Verdict, opt.Color), res.ID, r.VantageOf(res), res.Expected, res.Observed, reason)
	}
	s := r.Summary
	fmt.Fprintf(w, "\n%d results: %d pass, %d fail, %d inconclusive, %d error", s.Total, s.Pass, s.Fail, s.Inconclusive, s.Error)
	if r.Partial {
		fmt.Fprintf(w, " (PARTIAL: %s)", r.PartialReason)
	}
	fmt.Fprintln(w)
	if s.Note != "" {
		fmt.Fprintf(w, "note: %s\n", s.Note)
	}
	for _, run := range r.Runs {
		label := run.Vantage.Name
		if run.Shard != nil {
			label += " shard " + run.Shard.String()
		}
		extra := ""
		if run.Superseded {
			extra = " (superseded)"
		}
		fmt.Fprintf(w, "run %s: %s (%s)%s, network: %s\n", label, run.RunID, run.Vantage.Established, extra, run.Network.Evidence)
	}
	return nil
}
