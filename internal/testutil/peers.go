package testutil

import (
	"fmt"
	"os"
	"os/exec"
	"testing"
)

// CI reports whether the tests run in CI (the CI variable is set), where
// every real peer is installed and a test must never pass by skipping.
func CI() bool { return os.Getenv("CI") != "" }

// Unavailable ends a test that cannot run here: outside CI it skips, in CI
// it fails, so CI never passes by skipping.
func Unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	why := fmt.Sprintf(format, args...)
	if !CI() {
		t.Skipf("%s; set CI=true to make this a failure", why)
	}
	t.Fatalf("%s, and CI must run this test", why)
}

// RequireBinary finds a program a real-peer test runs: the first of names
// (each a name looked up in PATH, or a path) that exists. When none does,
// the test is Unavailable, naming the Debian package pkg that installs it.
func RequireBinary(t testing.TB, pkg string, names ...string) string {
	t.Helper()
	for _, name := range names {
		if path, err := exec.LookPath(name); err == nil {
			return path
		}
	}
	Unavailable(t, "%s is not installed (apt-get install %s)", names[0], pkg)
	return ""
}
