package cli

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"probe/internal/report"
	"probe/internal/runner"
	"probe/internal/serve"
)

func init() { extra["serve"] = cmdServe }

// minInterval keeps serve from hammering the deployment: each run opens an
// SSH connection per target, which fail2ban and OpenSSH's per-source
// penalties count.
const minInterval = time.Second

// cmdServe runs the file on a schedule and serves the last report. It only
// ever probes what the file says: no request can name a target.
func cmdServe(args []string, env Env) int {
	fs := newFlags("serve", "serve --from VANTAGE|auto [--listen ADDR] [--interval D] [flags] [FILE]", env)
	var tf targetFlags
	tf.register(fs)
	listen := fs.String("listen", "127.0.0.1:9469", "serve /metrics, /report.json and / on `ADDR` (host:port; :9469 for every interface)")
	interval := fs.Duration("interval", 15*time.Minute, "run the file this often (a run that takes longer delays the next)")
	trust := fs.Bool("trust-vantage", false, "if no STUN server answers, believe --from (the report records it)")
	deadline := fs.Duration("deadline", 0, "bound each run (default: the file's defaults.deadline)")
	out := fs.String("out", "", "also write each run's JSON report to `PATH`, atomically (a file in an existing directory)")
	pos, err := parse(fs, args)
	if err != nil {
		return flagErr(err)
	}
	path, ok := fileArg(pos, env, "serve")
	if !ok {
		return ExitUsage
	}
	if tf.from == "" {
		fmt.Fprintln(env.Stderr, "probe serve: --from VANTAGE is required (a vantage named in the file, or \"auto\")")
		return ExitUsage
	}
	if *interval < minInterval {
		fmt.Fprintf(env.Stderr, "probe serve: --interval %s: at least %s\n", *interval, minInterval)
		return ExitUsage
	}
	f, overrides, ok := tf.load(path, env)
	if !ok {
		return ExitUsage
	}
	if tf.from != "auto" && f.Vantage(tf.from) == nil {
		fmt.Fprintf(env.Stderr, "probe serve: --from %s: the file has no such vantage\n", tf.from)
		return ExitUsage
	}
	if *out != "" {
		dest, err := resolveOut("--out", *out)
		if err == nil && dest.file == "" {
			err = fmt.Errorf("--out %s: want a file path", *out)
		}
		if err != nil {
			fmt.Fprintln(env.Stderr, "probe serve:", err)
			return ExitUsage
		}
	}
	limit := f.Defaults.Deadline.Std()
	if *deadline > 0 {
		limit = *deadline
	}
	run := func(ctx context.Context) (*report.Report, error) {
		ctx, cancel := context.WithTimeout(ctx, limit)
		defer cancel()
		loc, err := runner.Locate(ctx, f, tf.from, *trust)
		if err != nil {
			return nil, err
		}
		rep, err := runner.Run(ctx, f, runner.Options{Overrides: overrides, Vantage: loc, Seed: tf.seed, CAFile: tf.caFile})
		if err != nil {
			return nil, err
		}
		if *out != "" {
			data, err := rep.Marshal()
			if err == nil {
				err = report.WriteFile(*out, data)
			}
			if err != nil {
				return nil, err
			}
		}
		return rep, nil
	}

	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintln(env.Stderr, "probe serve:", err)
		return ExitIO
	}
	logf := func(format string, args ...any) {
		fmt.Fprintf(env.Stderr, "%s probe serve: %s\n", time.Now().UTC().Format(time.RFC3339), fmt.Sprintf(format, args...))
	}
	srv := serve.New(run, *interval, logf)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	logf("listening on http://%s/ (metrics at /metrics); running %s from %s every %s", ln.Addr(), path, tf.from, *interval)
	looped := make(chan struct{})
	go func() { srv.Loop(ctx); close(looped) }()

	select {
	case <-ctx.Done():
	case err := <-served:
		logf("%v", err)
		return ExitIO
	}
	logf("stopping")
	shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := hs.Shutdown(shut); err != nil && !errors.Is(err, http.ErrServerClosed) {
		logf("%v", err)
	}
	<-looped // the run in progress ends with ctx
	return 0
}
