package cli

import (
	"encoding/json"
	"fmt"

	"probe/internal/report"
)

func init() { extra["diff"] = cmdDiff }

// cmdDiff says what changed between two reports. Like ndiff: exit 0 when
// nothing that matters changed, 1 when something did, 2 on a usage error.
func cmdDiff(args []string, env Env) int {
	fs := newFlags("diff", "diff [--json] OLD NEW", env)
	asJSON := fs.Bool("json", false, "write the changes as JSON")
	pos, err := parse(fs, args)
	if err != nil {
		return flagErr(err)
	}
	if len(pos) != 2 {
		fmt.Fprintln(env.Stderr, "probe diff: want two reports, OLD and NEW")
		return ExitUsage
	}
	var reps [2]*report.Report
	for i, p := range pos {
		if reps[i], err = report.Read(p); err != nil {
			fmt.Fprintln(env.Stderr, "probe diff:", err)
			return ExitUsage
		}
	}
	d := report.Compare(reps[0], reps[1])
	if *asJSON {
		b, err := json.MarshalIndent(d, "", "  ")
		if err != nil {
			fmt.Fprintln(env.Stderr, "probe diff:", err)
			return ExitUsage
		}
		fmt.Fprintf(env.Stdout, "%s\n", b)
	} else if err := report.WriteDiff(env.Stdout, d); err != nil {
		return ExitIO // Main reports the write error
	}
	if d.Matters {
		return ExitFail
	}
	return ExitPass
}
