package cli

import (
	"errors"
	"fmt"

	"probe/internal/report"
	"probe/probes"
)

func init() { extra["merge"] = cmdMerge }

// cmdMerge combines reports of one config from several vantages and shards
// into one report, a matrix of expectation × vantage.
func cmdMerge(args []string, env Env) int {
	fs := newFlags("merge", "merge [--out PATH] [--force] [--format FMT[=PATH]]... REPORT...", env)
	out := fs.String("out", "-", "write the merged JSON report to `PATH`: a file in an existing directory, or a directory (merged-<run id>.json in it); - is stdout")
	force := fs.Bool("force", false, "merge reports of different configs, and let a later run of a vantage and shard replace an earlier one")
	var formats multi
	fs.Var(&formats, "format", "also render the merged report: `FMT[=PATH]` (repeatable; PATH defaults to beside --out, - is stdout)")
	pos, err := parse(fs, args)
	if err != nil {
		return flagErr(err)
	}
	if len(pos) == 0 {
		fmt.Fprintln(env.Stderr, "probe merge: want one or more REPORTs")
		return ExitUsage
	}
	outs, err := parseOutputs(formats)
	if err != nil {
		fmt.Fprintln(env.Stderr, "probe merge:", err)
		return ExitUsage
	}
	if err := checkOutputDirs(outs); err != nil {
		fmt.Fprintln(env.Stderr, "probe merge:", err)
		return ExitUsage
	}
	dest, err := resolveOut("--out", *out)
	if err != nil {
		fmt.Fprintln(env.Stderr, "probe merge:", err)
		return ExitUsage
	}
	if dest.stdout && (toStdout(outs) || hasBeside(outs)) {
		fmt.Fprintln(env.Stderr, "probe merge: with the JSON on stdout, give every --format its own file path")
		return ExitUsage
	}
	var reps []*report.Report
	for _, p := range pos {
		r, err := report.Read(p)
		if err != nil {
			fmt.Fprintln(env.Stderr, "probe merge:", err)
			return ExitUsage
		}
		reps = append(reps, r)
	}
	m, err := report.Merge(reps, report.MergeOptions{
		Force: *force,
		Tool:  "probe " + probes.Version(),
		Warn:  func(s string) { fmt.Fprintln(env.Stderr, "probe merge: warning:", s) },
	})
	if err != nil {
		fmt.Fprintln(env.Stderr, "probe merge:", err)
		if errors.Is(err, report.ErrConfigDiffers) || errors.Is(err, report.ErrSameRun) {
			fmt.Fprintln(env.Stderr, "probe merge: refusing; --force merges them anyway")
		}
		return ExitUsage
	}
	data, err := m.Marshal()
	if err != nil {
		fmt.Fprintln(env.Stderr, "probe merge:", err)
		return ExitUsage
	}
	if !dest.stdout {
		*out, err = dest.path("merged-" + m.RunID + ".json")
	}
	if dest.stdout {
		if _, err := env.Stdout.Write(data); err != nil {
			return ExitIO // Main reports the write error
		}
	} else if err == nil {
		err = report.WriteFile(*out, data)
	}
	if err != nil {
		fmt.Fprintln(env.Stderr, "probe merge:", err)
		return ExitIO
	} else if !dest.stdout {
		fmt.Fprintf(env.Stderr, "merged: %s (%d runs, %d results)\n", *out, len(m.Runs), len(m.Results))
	}
	if err := writeOutputs(outs, m, data, *out, env, report.RenderOptions{}); err != nil {
		fmt.Fprintln(env.Stderr, "probe merge:", err)
		return ExitIO
	}
	return 0
}

func hasBeside(outs []output) bool {
	for _, o := range outs {
		if o.path == "" {
			return true
		}
	}
	return false
}
