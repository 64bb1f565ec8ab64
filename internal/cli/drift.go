package cli

import (
	"bytes"
	"fmt"
	"strings"

	"probe/internal/config"
	"probe/internal/drift"
	"probe/internal/report"
	"probe/internal/secgroups"
)

func init() { extra["drift"] = cmdDrift }

// cmdDrift holds the security groups, the expectation table and reports
// against each other. Like diff: exit 0 when they agree, 1 when something
// that matters disagrees, 2 on a usage error or input it cannot read.
func cmdDrift(args []string, env Env) int {
	fs := newFlags("drift", "drift [--format table|markdown|json] [--out PATH] [--target NAME=ADDR]... [--vantage-cidrs NAME=CIDR]... GROUPS.json EXPECTATIONS.toml [REPORT...]", env)
	format := fs.String("format", "table", "the rendering: "+strings.Join(drift.Formats, ", "))
	out := fs.String("out", "-", "write to `PATH` (atomically) instead of stdout")
	var af addressFlags
	af.register(fs)
	pos, err := parse(fs, args)
	if err != nil {
		return flagErr(err)
	}
	if len(pos) < 2 {
		fmt.Fprintln(env.Stderr, "probe drift: want GROUPS.json (aws ec2 describe-security-groups) and EXPECTATIONS.toml, then any reports")
		return ExitUsage
	}
	if !validFormat(*format) {
		fmt.Fprintf(env.Stderr, "probe drift: --format %s: no such format (want one of %s)\n", *format, strings.Join(drift.Formats, ", "))
		return ExitUsage
	}
	groups, err := secgroups.ReadFile(pos[0])
	if err != nil {
		fmt.Fprintln(env.Stderr, "probe drift:", err)
		return ExitUsage
	}
	o, err := af.overrides()
	if err != nil {
		fmt.Fprintln(env.Stderr, "probe drift:", err)
		return ExitUsage
	}
	f, err := config.Load(pos[1])
	if err != nil {
		printConfigError(env, err)
		return ExitUsage
	}
	// The file's addresses, replaced as a run's were: the groups and the
	// reports are then held against the copy of the deployment they
	// describe (the testbed's, say).
	if err := o.Apply(f); err != nil {
		fmt.Fprintln(env.Stderr, "probe drift:", err)
		return ExitUsage
	}
	in := drift.Input{GroupsPath: pos[0], Groups: groups, File: f}
	for _, p := range pos[2:] {
		rep, err := report.Read(p)
		if err != nil {
			fmt.Fprintf(env.Stderr, "probe drift: %s: %v\n", p, err)
			return ExitUsage
		}
		in.Reports, in.ReportPaths = append(in.Reports, rep), append(in.ReportPaths, p)
	}
	res := drift.Compare(in)
	if res.Compared == 0 && res.Matters == 0 {
		// No finding here is no agreement: nothing was held against
		// anything (a target that names a group the JSON lacks is a
		// finding of its own).
		fmt.Fprintf(env.Stderr, "probe drift: no target of %s carries a group of %s (%s), so nothing can be compared: give each target its groups (security_groups = [\"sg-...\"]), or start the file from probe import\n",
			pos[1], pos[0], groupLabels(groups))
		return ExitUsage
	}
	var buf bytes.Buffer
	if err := drift.Write(&buf, res, *format); err != nil {
		fmt.Fprintln(env.Stderr, "probe drift:", err)
		return ExitUsage
	}
	if *out == "-" {
		if _, err := env.Stdout.Write(buf.Bytes()); err != nil {
			return ExitIO // Main reports the write error
		}
	} else if err := report.WriteFile(*out, buf.Bytes()); err != nil {
		fmt.Fprintln(env.Stderr, "probe drift:", err)
		return ExitIO
	}
	if res.Matters > 0 {
		return ExitFail
	}
	return ExitPass
}

func validFormat(name string) bool {
	for _, f := range drift.Formats {
		if f == name {
			return true
		}
	}
	return false
}

// groupLabels names the groups of s, the first few of them.
func groupLabels(s *secgroups.Set) string {
	const most = 4
	var names []string
	for i := range s.Groups {
		if i == most {
			names = append(names, fmt.Sprintf("and %d more", len(s.Groups)-most))
			break
		}
		names = append(names, s.Groups[i].Label())
	}
	if len(names) == 0 {
		return "it holds none"
	}
	return strings.Join(names, ", ")
}
