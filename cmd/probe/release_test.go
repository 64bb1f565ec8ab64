package main

import (
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"probe/internal/testutil"
)

// scripts/release makes static binaries for both architectures, stamped
// with the version it was given, and checksums that sha256sum accepts.
func TestReleaseScript(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: two cross builds")
	}
	root, err := testutil.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	dist := t.TempDir()
	cmd := exec.Command(filepath.Join(root, "scripts", "release"), "v9.8.7-test")
	cmd.Env = append(os.Environ(), "DIST="+dist)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("scripts/release: %v\n%s", err, out)
	}
	check := exec.Command("sha256sum", "-c", "SHA256SUMS")
	check.Dir = dist
	if out, err := check.CombinedOutput(); err != nil || strings.Count(string(out), ": OK") != 4 {
		t.Errorf("sha256sum -c: %v\n%s", err, out)
	}
	if idx, err := os.ReadFile(filepath.Join(dist, "image", "index.json")); err != nil || !strings.Contains(string(idx), `"v9.8.7-test"`) {
		t.Errorf("no image layout tagged with the version: %v", err)
	}
	for arch, machine := range map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64} {
		bin := filepath.Join(dist, "probe-v9.8.7-test-linux-"+arch)
		f, err := elf.Open(bin)
		if err != nil {
			t.Errorf("%s: %v", arch, err)
			continue
		}
		if f.Machine != machine {
			t.Errorf("%s: machine %v; want %v", arch, f.Machine, machine)
		}
		for _, p := range f.Progs {
			if p.Type == elf.PT_INTERP {
				t.Errorf("%s: dynamically linked (it names an interpreter)", arch)
			}
		}
		f.Close()
		if arch == runtime.GOARCH {
			stdout, _, code := testutil.Run(t, exec.Command(bin, "version"))
			if code != 0 || !strings.HasPrefix(stdout, "probe v9.8.7-test\n") {
				t.Errorf("%s version: exit %d, %q", arch, code, stdout)
			}
		}
	}
}
