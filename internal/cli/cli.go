// Package cli turns the command line into calls of the other packages and
// their results into output and an exit code. It judges nothing itself.
package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"probe/probes"
)

// Exit codes, as the README documents them.
const (
	ExitPass         = 0   // every verdict passed
	ExitFail         = 1   // at least one verdict failed (diff: something changed)
	ExitUsage        = 2   // usage or configuration error
	ExitInconclusive = 3   // nothing failed, but something was inconclusive or errored
	ExitInterrupted  = 130 // stopped by SIGINT (143 for SIGTERM); the partial report is written
)

// DefaultFile is the expectation table read when none is named.
const DefaultFile = "expectations.toml"

// Env is the process's world, injectable for tests.
type Env struct {
	Stdout, Stderr io.Writer
	// IsTerminal reports whether stdout (and, for progress, stderr) is a
	// terminal.
	StdoutTTY, StderrTTY bool
	Getenv               func(string) string
}

// Main runs the command line args (without the program name).
func Main(args []string, env Env) int {
	if env.Getenv == nil {
		env.Getenv = os.Getenv
	}
	if len(args) == 0 {
		usage(env.Stderr)
		return ExitUsage
	}
	cmd, rest := args[0], args[1:]
	var run func([]string, Env) int
	switch cmd {
	case "validate":
		run = cmdValidate
	case "plan":
		run = cmdPlan
	case "run":
		run = cmdRun
	case "version", "--version":
		fmt.Fprintln(env.Stdout, "probe", probes.Version())
		return 0
	case "help", "-h", "-help", "--help":
		usage(env.Stdout)
		return 0
	default:
		if c, ok := extra[cmd]; ok {
			run = c
			break
		}
		fmt.Fprintf(env.Stderr, "probe: unknown command %q\n\n", cmd)
		usage(env.Stderr)
		return ExitUsage
	}
	return run(rest, env)
}

// extra holds commands registered by other files of this package.
var extra = map[string]func([]string, Env) int{}

func usage(w io.Writer) {
	fmt.Fprint(w, `probe proves a deployment's network exposure with real traffic.

Usage:
  probe validate [FILE]             check an expectation table; all problems at once
  probe plan --from VANTAGE [FILE]  show what a run would send, sending nothing
  probe run --from VANTAGE [FILE]   probe, judge, print a table, write the JSON report
  probe report --format F REPORT    render a saved report (table, markdown, junit, prometheus, json)
  probe merge REPORT...             combine reports from several vantages or shards
  probe diff OLD NEW                what changed between two runs
  probe drift GROUPS FILE [REPORT...]  where the security groups, the file and the reports disagree
  probe version                     print the version

FILE defaults to ./expectations.toml. Run "probe COMMAND -h" for a command's flags.

Exit codes: 0 all passed; 1 something failed; 2 usage or config error;
3 nothing failed but something was inconclusive or errored; 130/143 interrupted
by SIGINT/SIGTERM (a partial report is still written).
`)
}

// parse parses flags that may come before or after positional arguments.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

func newFlags(name, synopsis string, env Env) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	fs.Usage = func() {
		fmt.Fprintf(env.Stderr, "Usage: probe %s\n\n", synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// flagErr reports a flag problem: help asked for is exit 0.
func flagErr(err error) int {
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	return ExitUsage
}

func fileArg(pos []string, env Env, cmd string) (string, bool) {
	switch len(pos) {
	case 0:
		return DefaultFile, true
	case 1:
		return pos[0], true
	}
	fmt.Fprintf(env.Stderr, "probe %s: one FILE at most, got %s\n", cmd, strings.Join(pos, " "))
	return "", false
}

// multi is a repeatable string flag.
type multi []string

func (m *multi) String() string     { return strings.Join(*m, ",") }
func (m *multi) Set(s string) error { *m = append(*m, s); return nil }
