// Command probe proves a deployment's network exposure with real traffic.
// See the README for the commands, the config format and the exit codes.
package main

import (
	"os"
	"runtime/debug"

	"probe/internal/cli"
)

// memoryLimit is the soft heap limit when GOMEMLIMIT does not set one. A
// 65535-port sweep holds about 20 MiB of tasks and observations; without a
// limit the collector lets the heap grow to twice what is live before it
// runs. The limit is soft: above it the collector works harder, it never
// fails an allocation.
const memoryLimit = 32 << 20

func main() {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(memoryLimit)
	}
	os.Exit(cli.Main(os.Args[1:], cli.Env{
		Stdout:    os.Stdout,
		Stderr:    os.Stderr,
		StdoutTTY: cli.IsTerminal(os.Stdout),
		StderrTTY: cli.IsTerminal(os.Stderr),
	}))
}
