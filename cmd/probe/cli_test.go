package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"probe/internal/testutil"
)

// Help a user asks for is on stdout, exit 0; a flag error is on stderr,
// exit 2.
func TestHelpIsOnStdout(t *testing.T) {
	for _, cmd := range []string{"validate", "plan", "run", "report", "merge", "diff", "drift", "import", "serve", "version"} {
		t.Run(cmd, func(t *testing.T) {
			stdout, stderr, code := run(t, cmd, "--help")
			if code != 0 || !strings.HasPrefix(stdout, "Usage: probe "+cmd) || stderr != "" {
				t.Errorf("probe %s --help: exit %d, stdout %.80q, stderr %.80q; want exit 0 and the usage on stdout alone", cmd, code, stdout, stderr)
			}
			helped, _, code := run(t, "help", cmd)
			if code != 0 || helped != stdout {
				t.Errorf("probe help %s: exit %d, %.80q; want exit 0 and what %s --help prints", cmd, code, helped, cmd)
			}
			stdout, stderr, code = run(t, cmd, "--bogus")
			if code != 2 || stdout != "" || !strings.Contains(stderr, "-bogus") || !strings.Contains(stderr, "Usage: probe "+cmd) {
				t.Errorf("probe %s --bogus: exit %d, stdout %.80q, stderr %.80q; want exit 2, the error and usage on stderr", cmd, code, stdout, stderr)
			}
		})
	}
	if stdout, _, code := run(t, "help"); code != 0 || !strings.Contains(stdout, "probe run --from") {
		t.Errorf("probe help: exit %d, %.80q", code, stdout)
	}
	if _, stderr, code := run(t, "help", "frobnicate"); code != 2 || !strings.Contains(stderr, "frobnicate") {
		t.Errorf("probe help frobnicate: exit %d, %q; want 2 naming the command", code, stderr)
	}
	if _, stderr, code := run(t, "version", "extra"); code != 2 || stderr == "" {
		t.Errorf("probe version extra: exit %d, %q; want 2", code, stderr)
	}
}

// A build in a git repository records its commit, and version shows it.
// The check needs a repository whose .git is a directory: Go does not read
// a git worktree's .git file, and CI's fresh clone has one.
func TestVersionFromBuildInfo(t *testing.T) {
	root, err := testutil.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(filepath.Join(root, ".git")); err != nil || !st.IsDir() {
		t.Skip("not a git clone (a worktree, or no repository): Go records no commit here")
	}
	revOut, err := exec.Command("git", "-C", root, "rev-parse", "HEAD").Output()
	if err != nil {
		t.Skipf("git: %v", err)
	}
	rev := strings.TrimSpace(string(revOut))
	bin := filepath.Join(t.TempDir(), "probe")
	build := exec.Command("go", "build", "-buildvcs=true", "-o", bin, "./cmd/probe")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	stdout, _, code := testutil.Run(t, exec.Command(bin, "version"))
	if code != 0 || !strings.Contains(stdout, "commit "+rev) || strings.HasPrefix(stdout, "probe dev\n") {
		t.Errorf("version: exit %d, %q; want the commit %s and a version other than plain dev", code, stdout, rev)
	}
}

// Output that cannot be written is a failure with a message, exit 4:
// never a silent 0, nor the "failed" code 1.
func TestStdoutWriteErrors(t *testing.T) {
	if _, err := os.Stat("/dev/full"); err != nil {
		t.Skip("no /dev/full")
	}
	for _, args := range [][]string{
		{"validate", "../../expectations.toml"},
		{"plan", "--from", "internet", "--seed", "1", "../../expectations.toml"},
		{"version"},
		{"help"},
		{"report", "../../internal/report/testdata/run-after-admin.json"},
	} {
		full, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(binary, args...)
		cmd.Stdout = full
		var stderr strings.Builder
		cmd.Stderr = &stderr
		code := testutil.ExitCode(t, cmd.Run())
		full.Close()
		if code != 4 || !strings.Contains(stderr.String(), "writing to stdout") {
			t.Errorf("probe %s > /dev/full: exit %d, stderr %q; want 4 and a message", strings.Join(args, " "), code, stderr.String())
		}
	}
}

// A device that never ends is refused at once, with a message, not read
// until memory runs out.
func TestEndlessInputIsRefused(t *testing.T) {
	for _, args := range [][]string{{"validate", "/dev/zero"}, {"report", "/dev/zero"}, {"plan", "--from", "x", "/dev/zero"}} {
		_, stderr, code := run(t, args...)
		if code != 2 || !strings.Contains(stderr, "/dev/zero") || (!strings.Contains(stderr, "at most") && !strings.Contains(stderr, "too large")) || strings.Contains(stderr, "goroutine") {
			t.Errorf("probe %s: exit %d, stderr %.200q; want 2 and a size message naming the file", strings.Join(args, " "), code, stderr)
		}
	}
}

// --out: a file in an existing directory, a directory (the default name in
// it), or - for stdout; a missing directory is refused before anything is
// sent, and not created.
func TestRunOut(t *testing.T) {
	stunAddr := testutil.STUNResponder(t)
	open := tcpListener(t, "")
	cfg := config(t, fmt.Sprintf(`
[[expectation]]
id = "up"
target = "box"
port = %d
transport = "tcp"
probe = "tcp"
expect = { local = "open" }
`, open))
	dir := t.TempDir()
	runArgs := func(out string, more ...string) []string {
		return append([]string{"run", "--from", "local", "--stun", stunAddr, "--out", out, cfg}, more...)
	}

	missing := filepath.Join(dir, "no", "such", "r.json")
	_, stderr, code := run(t, runArgs(missing)...)
	if code != 2 || !strings.Contains(stderr, "does not exist") {
		t.Errorf("--out into a missing directory: exit %d, %q; want 2 saying the directory does not exist", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "no")); err == nil {
		t.Error("--out created the missing directories")
	}
	_, stderr, code = run(t, runArgs(filepath.Join(dir, "r.json"), "--format", "junit="+filepath.Join(dir, "gone", "j.xml"))...)
	if code != 2 || !strings.Contains(stderr, "gone") {
		t.Errorf("--format into a missing directory: exit %d, %q; want 2 before the run", code, stderr)
	}

	into := filepath.Join(dir, "nightly")
	if err := os.Mkdir(into, 0o755); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, code := run(t, runArgs(into)...)
	written, _ := filepath.Glob(filepath.Join(into, "*-local.json"))
	if code != 0 || len(written) != 1 || !strings.Contains(stdout, "report: "+written[0]) {
		t.Fatalf("--out DIR: exit %d, files %v, stdout %q, stderr %q; want one report in the directory", code, written, stdout, stderr)
	}
	_, raw := readReport(t, written[0])
	testutil.ValidateReport(t, raw)

	stdout, stderr, code = run(t, runArgs("-")...)
	if code != 0 {
		t.Fatalf("--out -: exit %d: %s", code, stderr)
	}
	testutil.ValidateReport(t, []byte(stdout))
	if !strings.Contains(stderr, "1 pass") {
		t.Errorf("--out -: stderr %q; want the summary there", stderr)
	}
	if _, err := os.Stat("-"); err == nil {
		os.Remove("-")
		t.Error("--out - wrote a file named -")
	}
	if _, stderr, code := run(t, runArgs("-", "--format", "junit")...); code != 2 || !strings.Contains(stderr, "own file path") {
		t.Errorf("--out - with a rendering beside it: exit %d, %q; want 2", code, stderr)
	}

	// merge and report take a directory the same way.
	_, stderr, code = run(t, "merge", "--out", into, written[0])
	merged, _ := filepath.Glob(filepath.Join(into, "merged-*.json"))
	if code != 0 || len(merged) != 1 {
		t.Errorf("merge --out DIR: exit %d, %v, %q", code, merged, stderr)
	}
	_, stderr, code = run(t, "report", "--format", "markdown", "--out", into, written[0])
	md := strings.TrimSuffix(written[0], ".json") + ".md"
	if _, err := os.Stat(md); code != 0 || err != nil {
		t.Errorf("report --out DIR: exit %d, %v, %q; want %s", code, err, stderr, md)
	}
	if _, stderr, code := run(t, "merge", "--out", missing, written[0]); code != 2 || !strings.Contains(stderr, "does not exist") {
		t.Errorf("merge --out into a missing directory: exit %d, %q", code, stderr)
	}
}
