package cli

import (
	"bytes"
	"fmt"
	"net/netip"
	"strings"

	"probe/internal/config"
	"probe/internal/draft"
	"probe/internal/report"
	"probe/internal/secgroups"
)

func init() { extra["import"] = cmdImport }

// cmdImport writes a draft expectation table from the security groups (and
// the instances) as the AWS CLI prints them. The draft is validated before
// anything is written: bad input, or a draft that would not load, writes
// nothing.
func cmdImport(args []string, env Env) int {
	fs := newFlags("import", "import [--instances INSTANCES.json] [--vantage NAME=CIDR]... [--out PATH] GROUPS.json", env)
	instances := fs.String("instances", "", "the output of `aws ec2 describe-instances` (`FILE`): targets with their addresses, and a runner per instance")
	out := fs.String("out", "-", "write the table to `PATH` (atomically) instead of stdout")
	var names multi
	fs.Var(&names, "vantage", "name the vantage of a CIDR the rules allowlist: `NAME=CIDR` (repeatable), e.g. admin=73.6.78.238/32")
	pos, err := parse(fs, args)
	if err != nil {
		return flagErr(err)
	}
	if len(pos) != 1 {
		fmt.Fprintln(env.Stderr, "probe import: want one GROUPS.json (the output of aws ec2 describe-security-groups)")
		return ExitUsage
	}
	opt := draft.Options{Names: map[string]string{}}
	for _, s := range names {
		n, c, ok := strings.Cut(s, "=")
		p, err := netip.ParsePrefix(c)
		if !ok || n == "" || err != nil {
			fmt.Fprintf(env.Stderr, "probe import: --vantage %q: want NAME=CIDR\n", s)
			return ExitUsage
		}
		opt.Names[p.Masked().String()] = n
	}
	set, err := secgroups.ReadFile(pos[0])
	if err != nil {
		fmt.Fprintln(env.Stderr, "probe import:", err)
		return ExitUsage
	}
	var ins []secgroups.Instance
	source := pos[0]
	if *instances != "" {
		if ins, err = secgroups.ReadInstancesFile(*instances); err != nil {
			fmt.Fprintln(env.Stderr, "probe import:", err)
			return ExitUsage
		}
		source += " and " + *instances
	}
	d := draft.Make(set, ins, opt)
	var buf bytes.Buffer
	if err := d.Write(&buf, source); err != nil {
		fmt.Fprintln(env.Stderr, "probe import:", err)
		return ExitUsage
	}
	name := *out
	if name == "-" {
		name = "the draft"
	}
	if len(d.Expectations) == 0 {
		fmt.Fprintf(env.Stderr, "probe import: %s: no ingress rule of a group applies to an instance; nothing to state\n", pos[0])
		return ExitUsage
	}
	if _, err := config.Parse(name, buf.Bytes()); err != nil {
		fmt.Fprintln(env.Stderr, "probe import: the draft does not validate (a bug in import; nothing was written):")
		printConfigError(env, err)
		return ExitUsage
	}
	if *out == "-" {
		if _, err := env.Stdout.Write(buf.Bytes()); err != nil {
			return ExitIO // Main reports the write error
		}
	} else if err := report.WriteFile(*out, buf.Bytes()); err != nil {
		fmt.Fprintln(env.Stderr, "probe import:", err)
		return ExitIO
	} else {
		fmt.Fprintf(env.Stderr, "%s: %d vantages, %d targets, %d expectations\n", *out, len(d.Vantages), len(d.Targets), len(d.Expectations))
	}
	return ExitPass
}
