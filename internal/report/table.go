package report

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
)

// TableOptions tune the terminal table.
type TableOptions struct {
	// Color adds ANSI colours to verdicts (only on a terminal).
	Color bool
	// Wide shows every reason in full instead of cut to the terminal.
	Wide bool
}

const reasonWidth = 90

// WriteTable renders r as the table `probe run` prints.
func WriteTable(w io.Writer, r *Report, opt TableOptions) error {
	if r.IsMerged() {
		return writeMatrix(w, r, opt)
	}
	fmt.Fprintf(w, "probe run %s from vantage %q (%s)", r.RunID, r.Vantage.Name, r.Vantage.Established)
	if r.Vantage.PublicAddress != "" {
		fmt.Fprintf(w, ", public address %s via %s", r.Vantage.PublicAddress, r.Vantage.STUNServer)
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	header := "VERDICT"
	if opt.Color {
		header = "\x1b[1;39m" + header + "\x1b[0m"
	}
	fmt.Fprintln(tw, header+"\tID\tTARGET\tPORT\tEXPECTED\tOBSERVED\tREASON")
	for _, res := range r.Results {
		reason := visible(res.Reason)
		if !opt.Wide {
			reason = clip(reason, reasonWidth)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n",
			paint(res.Verdict, opt.Color), res.ID, res.Target, PortLabel(res), res.Expected, res.Observed, reason)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	s := r.Summary
	fmt.Fprintf(w, "\n%d expectations: %d pass, %d fail, %d inconclusive, %d error", s.Total, s.Pass, s.Fail, s.Inconclusive, s.Error)
	if r.Partial {
		fmt.Fprintf(w, " (PARTIAL: %s)", r.PartialReason)
	}
	fmt.Fprintln(w)
	if s.Note != "" {
		fmt.Fprintf(w, "note: %s\n", s.Note)
	}
	fmt.Fprintf(w, "network: %s\n", r.Network.Evidence)
	return nil
}

// PortLabel shows a result's ports and transport: "22/tcp", "80,443/tcp",
// "16384-32768/udp (10 sampled)", "1-65535/tcp (65530 swept by syn)",
// "8021/tcp over ipv6" for a result that names its family;
// "name" for a row that judges a name.
func PortLabel(r Result) string {
	if r.Resolved != nil {
		return "name"
	}
	if r.Range != "" {
		return fmt.Sprintf("%s/%s%s (%s)", r.Range, r.Transport, overFamily(r.Family), rangeNote(r))
	}
	ps := make([]string, len(r.Ports))
	for i, p := range r.Ports {
		ps[i] = strconv.Itoa(p)
	}
	return strings.Join(ps, ",") + "/" + r.Transport + overFamily(r.Family)
}

func paint(verdict string, color bool) string {
	label := strings.ToUpper(verdict)
	if !color {
		return label
	}
	// Every code is four bytes, header's included: tabwriter counts escape
	// bytes as width, and equal counts keep the columns lined up.
	code := map[string]string{"pass": "0;32", "fail": "1;31", "inconclusive": "0;33", "error": "0;35"}[verdict]
	return "\x1b[" + code + "m" + label + "\x1b[0m"
}
