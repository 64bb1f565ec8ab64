//go:build testbed

// Package testbed is what the testbed end-to-end packages (e2e and
// e2e/faults) share: a TestMain that builds the probe binary and brings up
// a testbed of its own (scripts/testbed with a TESTBED_PREFIX), and running
// the binary inside one of its runners.
//
// It is for tests only, and built only with the testbed tag, as the
// packages that use it are.
package testbed

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"probe/internal/testutil"
)

// Bed is one package's testbed. Set Prefix (and BeforeTests, if needed),
// then call Main from TestMain; Main fills in the rest.
type Bed struct {
	// Prefix names this testbed (TESTBED_PREFIX), apart from another
	// package's, a demo's or a developer's. E2E_PREFIX_SUFFIX, when set, is
	// appended (at most 10 characters in all), so two checkouts can run
	// their suites at once.
	Prefix string
	// BeforeTests, if set, runs once the testbed is up, before the tests.
	BeforeTests func()

	Root      string            // the repository
	Binary    string            // the probe binary under test
	Script    string            // scripts/testbed
	Info      map[string]string // scripts/testbed info: KEY=VALUE facts
	Overrides []string          // scripts/testbed overrides: the flags that aim expectations.toml here
	// File, when set (by BeforeTests), is the expectation file Command
	// runs instead of the root expectations.toml.
	File string

	mu       sync.Mutex
	finished map[string]time.Time // when each runner's last run ended
}

// ICMPRest is how long a runner's runs are kept apart. A target's kernel
// keeps one bucket of ICMP errors per peer (Linux: six, one earned back a
// second), and the RTP range's replay assumes a run starts with it full,
// as it is for a nightly or post-deploy run. A run sooner after the last
// one from the same address finds it partly spent: the probe then marks
// the silences it cannot trust as doubtful (inconclusive), which a test
// asserting a healthy run's verdicts would take for a fault of the tool.
const ICMPRest = 6 * time.Second

// Main builds the binary, brings the testbed up with the "after" profile,
// runs the tests, takes the testbed down, and returns the exit code.
func (b *Bed) Main(m *testing.M) int {
	if suffix := os.Getenv("E2E_PREFIX_SUFFIX"); suffix != "" {
		// Two checkouts running their suites at once (a developer's
		// worktrees) keep their testbeds apart.
		b.Prefix += suffix
	}
	if os.Geteuid() != 0 {
		fmt.Fprintf(os.Stderr, "testbed %s: the testbed needs root\n", b.Prefix)
		return 1
	}
	root, err := testutil.RepoRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	b.Root = root
	b.Script = filepath.Join(root, "scripts", "testbed")
	dir, err := os.MkdirTemp("", "probe-"+b.Prefix+"-")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	if b.Binary, err = testutil.BuildProbe(dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if out, err := b.Run("up", "--profile", "after"); err != nil {
		fmt.Fprintf(os.Stderr, "testbed up: %v\n%s", err, out)
		b.Run("down")
		return 1
	}
	defer b.Run("down")
	out, err := b.Run("info")
	if err != nil {
		fmt.Fprintf(os.Stderr, "testbed info: %v\n%s", err, out)
		return 1
	}
	b.Info = map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok {
			b.Info[k] = v
		}
	}
	if out, err = b.Run("overrides"); err != nil {
		fmt.Fprintf(os.Stderr, "testbed overrides: %v\n%s", err, out)
		return 1
	}
	b.Overrides = strings.Fields(string(out))
	if b.BeforeTests != nil {
		b.BeforeTests()
	}
	return m.Run()
}

// Run runs scripts/testbed with this testbed's prefix and returns its
// combined output.
func (b *Bed) Run(args ...string) ([]byte, error) {
	cmd := exec.Command(b.Script, args...)
	cmd.Env = append(os.Environ(), "TESTBED_PREFIX="+b.Prefix)
	return cmd.CombinedOutput()
}

// Command builds `probe run` of the root expectations.toml inside runner's
// namespace, with the testbed's overrides and args, writing its report to
// out.
//
// It first waits until ICMPRest has passed since runner's last run ended
// (as recorded by Finished).
func (b *Bed) Command(runner, out string, args ...string) *exec.Cmd {
	file := b.File
	if file == "" {
		file = filepath.Join(b.Root, "expectations.toml")
	}
	return b.CommandFile(runner, out, file, b.Overrides, args...)
}

// CommandFile is Command for another expectation file, with the overrides
// given (b.Overrides, or a part of them).
func (b *Bed) CommandFile(runner, out, file string, overrides []string, args ...string) *exec.Cmd {
	b.mu.Lock()
	last := b.finished[runner]
	b.mu.Unlock()
	time.Sleep(time.Until(last.Add(ICMPRest)))
	full := append([]string{"exec", runner, "--", b.Binary, "run", "--out", out}, overrides...)
	full = append(full, args...)
	full = append(full, file)
	cmd := exec.Command(b.Script, full...)
	cmd.Env = append(os.Environ(), "TESTBED_PREFIX="+b.Prefix)
	return cmd
}

// Finished records that a run of runner has just ended, for Command's rest.
func (b *Bed) Finished(runner string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.finished == nil {
		b.finished = map[string]time.Time{}
	}
	b.finished[runner] = time.Now()
}
