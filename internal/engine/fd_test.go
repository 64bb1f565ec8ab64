package engine

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
)

// fdChildEnv holds "soft hard want..." for the child process of
// TestFDConcurrencyUnderALowLimit: a limit lowered in the test process
// itself could not be raised again without root.
const fdChildEnv = "PROBE_FD_CHILD"

// Under `ulimit -n` limits, the concurrency is what the descriptors allow:
// the soft limit is first raised to the hard one, fdReserve descriptors
// stay back, and at least one probe always runs.
func TestFDConcurrencyUnderALowLimit(t *testing.T) {
	for _, c := range []struct {
		soft, hard uint64
		want       int
		got        int
	}{
		{soft: 200, hard: 400, want: 1000, got: 400 - fdReserve}, // raised to the hard limit
		{soft: 400, hard: 400, want: 1000, got: 400 - fdReserve},
		{soft: 400, hard: 400, want: 50, got: 50},  // fits: what was asked
		{soft: 400, hard: 400, want: 0, got: 1},    // nothing asked: one
		{soft: 100, hard: 100, want: 1000, got: 1}, // below the reserve: still one
	} {
		t.Run(fmt.Sprintf("%d/%d/%d", c.soft, c.hard, c.want), func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestFDConcurrencyChild$")
			cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%d %d %d", fdChildEnv, c.soft, c.hard, c.want))
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("child: %v\n%s", err, out)
			}
			var got int
			line := ""
			for _, l := range strings.Split(string(out), "\n") {
				if strings.HasPrefix(l, "concurrency ") {
					line = l
				}
			}
			if _, err := fmt.Sscanf(line, "concurrency %d", &got); err != nil {
				t.Fatalf("child printed no concurrency: %s", out)
			}
			if got != c.got {
				t.Errorf("ulimit -Sn %d -Hn %d, %d asked: concurrency %d; want %d", c.soft, c.hard, c.want, got, c.got)
			}
		})
	}
}

// TestFDConcurrencyChild is the child of TestFDConcurrencyUnderALowLimit.
func TestFDConcurrencyChild(t *testing.T) {
	spec := os.Getenv(fdChildEnv)
	if spec == "" {
		t.Skip("run by TestFDConcurrencyUnderALowLimit")
	}
	var soft, hard uint64
	var want int
	if _, err := fmt.Sscanf(spec, "%d %d %d", &soft, &hard, &want); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &syscall.Rlimit{Cur: soft, Max: hard}); err != nil {
		t.Fatal(err)
	}
	fmt.Printf("concurrency %d\n", FDConcurrency(want))
}
