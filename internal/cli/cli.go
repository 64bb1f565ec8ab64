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
	ExitIO           = 4   // the run could not be made, or its report or output could not be written
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
	// Every write to stdout goes through out, which keeps the first error:
	// output that did not arrive (a full disk, a closed pipe) is a failure
	// of its own, whatever the command found.
	out := &checkedWriter{w: env.Stdout}
	env.Stdout = out
	code := dispatch(args, env)
	if out.err != nil {
		fmt.Fprintf(env.Stderr, "probe: writing to stdout: %v\n", out.err)
		return ExitIO
	}
	return code
}

func dispatch(args []string, env Env) int {
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
		run = cmdVersion
	case "help", "-h", "-help", "--help":
		return cmdHelp(rest, env)
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
  probe serve --from VANTAGE [FILE] run the file on a schedule; serve /metrics, /report.json, /
  probe nightly                     one scheduled run and a diff with the last (PROBE_* variables)
  probe completion bash|zsh         shell completion: eval "$(probe completion bash)"
  probe man                         the man page: probe man > probe.1; man -l probe.1
  probe import GROUPS.json          write a draft expectation table from the security groups
  probe drift GROUPS FILE [REPORT...]  where the security groups, the file and the reports disagree
  probe version                     print the version

FILE defaults to ./expectations.toml. "probe help COMMAND" (or "probe COMMAND
--help") shows a command's flags.

Exit codes: 0 all passed; 1 something failed; 2 usage or config error;
3 nothing failed but something was inconclusive or errored; 4 the run could not
be made or its report or output could not be written; 130/143 interrupted by
SIGINT/SIGTERM (a partial report is still written).
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

// newFlags makes a command's flag set. Help asked for (-h, --help) is
// printed on stdout, so it pages and greps; after a flag error it goes to
// stderr with the error. The flag package writes the error before it calls
// Usage, which is how Usage tells the two apart.
func newFlags(name, synopsis string, env Env) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	failed := false
	fs.SetOutput(writerFunc(func(p []byte) (int, error) {
		failed = true
		return env.Stderr.Write(p)
	}))
	fs.Usage = func() {
		w := env.Stdout
		if failed {
			w = env.Stderr
		}
		fs.SetOutput(w)
		fmt.Fprintf(w, "Usage: probe %s\n\n", synopsis)
		fs.PrintDefaults()
	}
	return fs
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// checkedWriter passes writes through and keeps the first error.
type checkedWriter struct {
	w   io.Writer
	err error
}

func (c *checkedWriter) Write(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	n, err := c.w.Write(p)
	if err != nil {
		c.err = err
	}
	return n, err
}

// cmdHelp prints the overview, or a command's own help: "probe help run"
// is "probe run --help".
func cmdHelp(args []string, env Env) int {
	switch len(args) {
	case 0:
		usage(env.Stdout)
		return 0
	case 1:
		if args[0] == "help" {
			usage(env.Stdout)
			return 0
		}
		return dispatch([]string{args[0], "--help"}, env)
	}
	fmt.Fprintln(env.Stderr, "probe help: want at most one COMMAND")
	return ExitUsage
}

func cmdVersion(args []string, env Env) int {
	fs := newFlags("version", "version", env)
	pos, err := parse(fs, args)
	if err != nil {
		return flagErr(err)
	}
	if len(pos) > 0 {
		fmt.Fprintf(env.Stderr, "probe version: takes no arguments, got %s\n", strings.Join(pos, " "))
		return ExitUsage
	}
	fmt.Fprintln(env.Stdout, "probe", probes.Version())
	if b := probes.Build(); b != "" {
		fmt.Fprintln(env.Stdout, b)
	}
	return 0
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
