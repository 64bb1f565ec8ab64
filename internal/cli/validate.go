package cli

import (
	"errors"
	"fmt"

	"probe/internal/config"
)

func cmdValidate(args []string, env Env) int {
	fs := newFlags("validate", "validate [FILE]", env)
	pos, err := parse(fs, args)
	if err != nil {
		return flagErr(err)
	}
	path, ok := fileArg(pos, env, "validate")
	if !ok {
		return ExitUsage
	}
	f, err := config.Load(path)
	if err != nil {
		printConfigError(env, err)
		return ExitUsage
	}
	fmt.Fprintf(env.Stdout, "%s: ok: %d vantages, %d targets, %d expectations (sha256 %s)\n",
		path, len(f.Vantages), len(f.Targets), len(f.Expectations), f.Digest[:12])
	return 0
}

func printConfigError(env Env, err error) {
	var ps config.Problems
	if errors.As(err, &ps) {
		for _, p := range ps {
			fmt.Fprintln(env.Stderr, p.String())
		}
		if len(ps) > 1 {
			fmt.Fprintf(env.Stderr, "%d problems\n", len(ps))
		}
		return
	}
	fmt.Fprintln(env.Stderr, "probe:", err)
}
