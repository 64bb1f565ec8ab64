// Command probe proves a deployment's network exposure with real traffic.
// See the README for the commands, the config format and the exit codes.
package main

import (
	"os"

	"probe/internal/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], cli.Env{
		Stdout:    os.Stdout,
		Stderr:    os.Stderr,
		StdoutTTY: cli.IsTerminal(os.Stdout),
		StderrTTY: cli.IsTerminal(os.Stderr),
	}))
}
