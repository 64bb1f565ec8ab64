package cli

import (
	"fmt"
	"path/filepath"

	"probe/internal/report"
)

func init() { extra["report"] = cmdReport }

// cmdReport renders a saved report (a run's or a merged one).
func cmdReport(args []string, env Env) int {
	fs := newFlags("report", "report [--format FORMAT] [flags] REPORT", env)
	format := fs.String("format", "table", "the rendering: "+report.FormatNames())
	out := fs.String("out", "-", "write to `PATH` (atomically) instead of stdout: a file in an existing directory, or a directory (the report's name with the format's extension in it)")
	compact := fs.Bool("compact", false, "json: one line instead of indented")
	noColor := fs.Bool("no-color", false, "table: no colour (also: NO_COLOR set, or stdout not a terminal)")
	wide := fs.Bool("wide", false, "table: show reasons in full")
	pos, err := parse(fs, args)
	if err != nil {
		return flagErr(err)
	}
	if len(pos) != 1 {
		fmt.Fprintln(env.Stderr, "probe report: want exactly one REPORT (a JSON report from run or merge)")
		return ExitUsage
	}
	f, ok := report.LookupFormat(*format)
	if !ok {
		fmt.Fprintf(env.Stderr, "probe report: --format %s: no such format (want one of %s)\n", *format, report.FormatNames())
		return ExitUsage
	}
	dest, err := resolveOut("--out", *out)
	if err != nil {
		fmt.Fprintln(env.Stderr, "probe report:", err)
		return ExitUsage
	}
	if !dest.stdout && dest.file == "" {
		*out = filepath.Join(dest.dir, filepath.Base(report.BesidePath(pos[0], f)))
	}
	rep, raw, err := report.Load(pos[0])
	if err != nil {
		fmt.Fprintln(env.Stderr, "probe report:", err)
		return ExitUsage
	}
	color := *out == "-" && env.StdoutTTY && !*noColor && env.Getenv("NO_COLOR") == ""
	opt := report.RenderOptions{Color: color, Wide: *wide, Compact: *compact}
	if err := writeOutputs([]output{{format: f, path: *out}}, rep, raw, pos[0], env, opt); err != nil {
		fmt.Fprintln(env.Stderr, "probe report:", err)
		return ExitIO
	}
	return 0
}
