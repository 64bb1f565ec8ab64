package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"probe/internal/config"
	"probe/internal/plan"
	"probe/internal/report"
	"probe/internal/runner"
	"probe/internal/vantage"
)

// errInterrupted is the cause a signal gives the run's context.
type errInterrupted struct{ sig os.Signal }

func (e errInterrupted) Error() string { return fmt.Sprintf("interrupted by %s", e.sig) }

func cmdRun(args []string, env Env) int {
	fs := newFlags("run", "run --from VANTAGE|auto [flags] [FILE]", env)
	var tf targetFlags
	tf.register(fs)
	out := fs.String("out", "", "write the JSON report to `PATH`: a file in an existing directory, a directory (the default name in it), or - for stdout (default reports/<run id>-<vantage>[-shardIofN].json)")
	trust := fs.Bool("trust-vantage", false, "if no STUN server answers, believe --from (the report records it)")
	deadline := fs.Duration("deadline", 0, "bound the whole run (default: the file's defaults.deadline)")
	only := fs.String("only", "", "run only these expectation `IDS` (comma-separated)")
	noColor := fs.Bool("no-color", false, "no colour in the table (also: NO_COLOR set, or stdout not a terminal)")
	wide := fs.Bool("wide", false, "show reasons in full in the table")
	quiet := fs.Bool("quiet", false, "print only the summary line, not the table")
	var formats multi
	fs.Var(&formats, "format", "also write a rendering: `FMT[=PATH]`, FMT one of "+report.FormatNames()+
		" (repeatable; PATH defaults to beside the JSON report, - is stdout instead of the table)")
	tcpSweep := fs.String("tcp-sweep", "", "send TCP sweeps as `HOW`: auto (half-open SYNs where the process has CAP_NET_RAW, else connects), syn or connect (default: the file's defaults.tcp_sweep)")
	shardSpec := fs.String("shard", "", "run only part `I/N` of this vantage's checks, split by target across N runners; merge puts them together")
	pos, err := parse(fs, args)
	if err != nil {
		return flagErr(err)
	}
	path, ok := fileArg(pos, env, "run")
	if !ok {
		return ExitUsage
	}
	if tf.from == "" {
		fmt.Fprintln(env.Stderr, "probe run: --from VANTAGE is required (a vantage named in the file, or \"auto\")")
		return ExitUsage
	}
	f, overrides, ok := tf.load(path, env)
	if !ok {
		return ExitUsage
	}
	if tf.from != "auto" && f.Vantage(tf.from) == nil {
		fmt.Fprintf(env.Stderr, "probe run: --from %s: the file has no such vantage\n", tf.from)
		return ExitUsage
	}
	var ids []string
	if *only != "" {
		ids = strings.Split(*only, ",")
		for _, id := range ids {
			if !hasExpectation(f.Expectations, id) {
				fmt.Fprintf(env.Stderr, "probe run: --only %s: no expectation has that id\n", id)
				return ExitUsage
			}
		}
	}
	outs, err := parseOutputs(formats)
	if err == nil {
		err = checkOutputDirs(outs)
	}
	if err != nil {
		fmt.Fprintln(env.Stderr, "probe run:", err)
		return ExitUsage
	}
	dest, err := resolveOut("--out", *out)
	if err != nil {
		fmt.Fprintln(env.Stderr, "probe run:", err)
		return ExitUsage
	}
	if dest.stdout && (toStdout(outs) || hasBeside(outs)) {
		fmt.Fprintln(env.Stderr, "probe run: with the JSON report on stdout (--out -), give every --format its own file path")
		return ExitUsage
	}
	if *tcpSweep != "" && !slices.Contains(config.TCPSweepMethods, *tcpSweep) {
		fmt.Fprintf(env.Stderr, "probe run: --tcp-sweep %s: want one of %s\n", *tcpSweep, strings.Join(config.TCPSweepMethods, ", "))
		return ExitUsage
	}
	var shard *plan.Shard
	if *shardSpec != "" {
		s, err := plan.ParseShard(*shardSpec)
		if err != nil {
			fmt.Fprintln(env.Stderr, "probe run: --shard:", err)
			return ExitUsage
		}
		shard = &s
	}
	limit := f.Defaults.Deadline.Std()
	if *deadline > 0 {
		limit = *deadline
	}

	// One context for the run: its deadline, and the user's interrupt. The
	// first signal stops the run and still writes the report; after that
	// the signal's default action is restored, so a second one kills.
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	var caught os.Signal
	go func() {
		if s, ok := <-sigs; ok {
			caught = s
			signal.Reset(os.Interrupt, syscall.SIGTERM)
			cancel(errInterrupted{s})
		}
	}()
	defer signal.Stop(sigs)
	ctx, cancelDeadline := context.WithTimeout(ctx, limit)
	defer cancelDeadline()

	loc, err := runner.Locate(ctx, f, tf.from, *trust)
	if err != nil {
		fmt.Fprintln(env.Stderr, "probe run:", err)
		if errors.Is(err, vantage.ErrNoSTUNAnswer) || errors.Is(err, vantage.ErrSTUNDisagree) {
			// The prober could not learn where it stands: nothing is
			// wrong with the command or the file, the run could not be made.
			return ExitIO
		}
		return ExitUsage // a --from that STUN contradicts, or no vantage holds the address
	}
	opt := runner.Options{Overrides: overrides, Vantage: loc, Seed: tf.seed, CAFile: tf.caFile, Only: ids, Shard: shard, TCPSweep: *tcpSweep}
	if env.StderrTTY {
		opt.Progress = progress(env)
	}
	rep, err := runner.Run(ctx, f, opt)
	if env.StderrTTY {
		fmt.Fprint(env.Stderr, "\r\x1b[K")
	}
	if err != nil {
		fmt.Fprintln(env.Stderr, "probe run:", err)
		return ExitIO
	}
	name := rep.RunID + "-" + rep.Vantage.Name
	if rep.Shard != nil {
		name += fmt.Sprintf("-shard%dof%d", rep.Shard.Index, rep.Shard.Count)
	}
	data, err := rep.Marshal()
	if err == nil && dest.stdout {
		*out = "-"
		_, err = env.Stdout.Write(data)
	} else if err == nil {
		if *out, err = dest.path(name + ".json"); err == nil {
			err = report.WriteFile(*out, data)
		}
	}
	if err != nil {
		fmt.Fprintln(env.Stderr, "probe run:", err)
		return ExitIO
	}
	color := env.StdoutTTY && !*noColor && env.Getenv("NO_COLOR") == ""
	if err := writeOutputs(outs, rep, data, *out, env, report.RenderOptions{Color: color, Wide: *wide}); err != nil {
		fmt.Fprintln(env.Stderr, "probe run:", err)
		return ExitIO
	}
	if dest.stdout {
		// stdout carries the JSON alone, for a pipe.
		s := rep.Summary
		fmt.Fprintf(env.Stderr, "%d pass, %d fail, %d inconclusive, %d error\n", s.Pass, s.Fail, s.Inconclusive, s.Error)
	} else if toStdout(outs) {
		// stdout carries the rendering alone, for a pipe.
		fmt.Fprintf(env.Stderr, "report: %s\n", *out)
	} else if *quiet {
		s := rep.Summary
		fmt.Fprintf(env.Stdout, "%d pass, %d fail, %d inconclusive, %d error\n", s.Pass, s.Fail, s.Inconclusive, s.Error)
	} else if err := report.WriteTable(env.Stdout, rep, report.TableOptions{Color: color, Wide: *wide}); err != nil {
		fmt.Fprintln(env.Stderr, "probe run:", err)
	}
	if !toStdout(outs) && !dest.stdout {
		fmt.Fprintf(env.Stdout, "report: %s\n", *out)
	}
	var ie errInterrupted
	if errors.As(context.Cause(ctx), &ie) {
		if caught == syscall.SIGTERM {
			return 143
		}
		return ExitInterrupted
	}
	return rep.Summary.ExitCode()
}

func hasExpectation(es []config.Expectation, id string) bool {
	for _, e := range es {
		if e.ID == id {
			return true
		}
	}
	return false
}

// progress draws a one-line progress counter on a terminal's stderr.
func progress(env Env) func(done, total int) {
	last := time.Time{}
	return func(done, total int) {
		if done != total && time.Since(last) < 100*time.Millisecond {
			return
		}
		last = time.Now()
		fmt.Fprintf(env.Stderr, "\r\x1b[Kprobing: %d/%d", done, total)
	}
}
