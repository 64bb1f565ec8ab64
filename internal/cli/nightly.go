package cli

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
)

func init() { extra["nightly"] = cmdNightly }

// cmdNightly is the nightly job: one scheduled run, its renderings beside
// the report, and a diff against the previous run. The image (no shell)
// runs it directly, the host setups through scripts/nightly/probe-nightly,
// which only finds the binary. It reads PROBE_CONFIG, PROBE_FROM, PROBE_DIR,
// PROBE_TEXTFILE_DIR, PROBE_ARGS, and PROBE_SWEEP (a second table, the
// sweeps, run after the first); it prints only what needs a person.
func cmdNightly(args []string, env Env) int {
	fs := newFlags("nightly", "nightly", env)
	pos, err := parse(fs, args)
	if err != nil {
		return flagErr(err)
	}
	if len(pos) > 0 {
		fmt.Fprintf(env.Stderr, "probe nightly: takes no arguments (set PROBE_ARGS for run's flags), got %s\n", strings.Join(pos, " "))
		return ExitUsage
	}
	get := func(name, def string) string {
		if v := env.Getenv(name); v != "" {
			return v
		}
		return def
	}
	config := get("PROBE_CONFIG", "/etc/probe/expectations.toml")
	from := get("PROBE_FROM", "auto")
	dir := get("PROBE_DIR", "/var/lib/probe")
	textfile := env.Getenv("PROBE_TEXTFILE_DIR")

	reports := filepath.Join(dir, "reports")
	if err := os.MkdirAll(reports, 0o755); err != nil {
		fmt.Fprintln(env.Stderr, "probe nightly:", err)
		return ExitIO
	}
	stamp := time.Now().UTC().Format("20060102T150405Z")
	name := stamp + "-" + from
	taken := func(n string) bool {
		return exists(filepath.Join(reports, n+".json")) || exists(filepath.Join(reports, n+"-sweep.json"))
	}
	for n := 2; taken(name); n++ { // two runs in one second
		name = fmt.Sprintf("%s-%s-%d", stamp, from, n)
	}
	nt := nightlyTable{env: env, dir: dir, reports: reports, name: name, from: from, textfile: textfile}
	rc, changed, stop := nt.run(config, "")
	if stop {
		return rc
	}
	if sweep := env.Getenv("PROBE_SWEEP"); sweep != "" {
		runRC, sweepChanged, stop := nt.run(sweep, "-sweep")
		if stop {
			return runRC
		}
		changed = changed || sweepChanged
		// The worse of the two runs' codes: a failure over an inconclusive.
		if runRC == ExitFail || rc == ExitFail {
			rc = ExitFail
		} else if runRC == ExitInconclusive {
			rc = ExitInconclusive
		}
	}
	if changed {
		return ExitFail
	}
	return rc
}

// nightlyTable is what the runs of one nightly share.
type nightlyTable struct {
	env                                Env
	dir, reports, name, from, textfile string
}

// run makes one run of config, its renderings, and its diff against the
// last run of the same table (last<tag>.json). It returns run's exit code
// and whether the exposure changed; stop says the nightly ends here with
// that code (no report could be made or compared).
func (nt nightlyTable) run(config, tag string) (rc int, changed, stop bool) {
	env := nt.env
	base := filepath.Join(nt.reports, nt.name+tag)
	runArgs := []string{"--from", nt.from, "--quiet", "--out", base + ".json", "--format", "junit", "--format", "markdown"}
	if nt.textfile != "" {
		runArgs = append(runArgs, "--format", "prometheus="+filepath.Join(nt.textfile, "probe-"+nt.from+tag+".prom"))
	}
	runArgs = append(runArgs, strings.Fields(env.Getenv("PROBE_ARGS"))...)
	runArgs = append(runArgs, config)

	// run's own output goes to a log: cron and Kubernetes keep whatever a
	// job prints, so only what needs a person is printed.
	runRC, err := logged(base+".log", func(w io.Writer) int {
		return cmdRun(runArgs, Env{Stdout: w, Stderr: w, Getenv: env.Getenv})
	})
	if err != nil {
		fmt.Fprintln(env.Stderr, "probe nightly:", err)
		return ExitIO, false, true
	}
	switch runRC {
	case ExitPass:
	case ExitFail, ExitInconclusive:
		copyFile(env.Stdout, base+".log")
	default:
		copyFile(env.Stderr, base+".log")
		fmt.Fprintf(env.Stderr, "probe nightly: probe run of %s exited %d; no report to compare\n", config, runRC)
		return runRC, false, true
	}

	last := filepath.Join(nt.dir, "last"+tag+".json")
	if _, err := os.Stat(last); err == nil { // a link to a report deleted since is no last run
		diffRC, err := logged(base+".diff", func(w io.Writer) int {
			return cmdDiff([]string{last, base + ".json"}, Env{Stdout: w, Stderr: w, Getenv: env.Getenv})
		})
		if err != nil {
			fmt.Fprintln(env.Stderr, "probe nightly:", err)
			return ExitIO, false, true
		}
		switch diffRC {
		case ExitPass:
		case ExitFail:
			fmt.Fprintf(env.Stdout, "probe nightly: the exposure changed since the last run of %s:\n", config)
			copyFile(env.Stdout, base+".diff")
			changed = true
		default:
			copyFile(env.Stderr, base+".diff")
			return diffRC, false, true
		}
	}
	// last.json is swapped, never missing: a new link renamed over it.
	tmp := last + ".new"
	os.Remove(tmp)
	err = os.Symlink(filepath.Join("reports", nt.name+tag+".json"), tmp)
	if err == nil {
		err = os.Rename(tmp, last)
	}
	if err != nil {
		fmt.Fprintf(env.Stderr, "probe nightly: %s: %v\n", filepath.Base(last), err)
		return ExitIO, false, true
	}
	return runRC, changed, false
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

// logged runs f with its output going to the file at path.
func logged(path string, f func(io.Writer) int) (int, error) {
	file, err := os.Create(path)
	if err != nil {
		return 0, err
	}
	rc := f(file)
	if err := file.Close(); err != nil {
		return 0, err
	}
	return rc, nil
}

func copyFile(w io.Writer, path string) {
	f, err := os.Open(path)
	if err != nil {
		return
	}
	defer f.Close()
	io.Copy(w, f)
}
