package cli

import (
	"flag"
	"fmt"
	"os"
	"strings"

	"probe/internal/config"

	"golang.org/x/sys/unix"
)

// addressFlags replace the addresses of a file's targets and vantages, to
// point it at another copy of the deployment (the testbed): shared by plan,
// run, serve and drift.
type addressFlags struct {
	targets multi
	cidrs   multi
}

func (a *addressFlags) register(fs *flag.FlagSet) {
	fs.Var(&a.targets, "target", "replace a target's address: `NAME[.public|.private|.ipv6]=ADDR` (repeatable)")
	fs.Var(&a.cidrs, "vantage-cidrs", "replace a vantage's source CIDRs: `NAME=CIDR[,CIDR...]` (repeatable)")
}

func (a *addressFlags) overrides() (config.Overrides, error) {
	o := config.Overrides{}
	for _, s := range a.targets {
		name, addr, ok := strings.Cut(s, "=")
		if !ok || name == "" || addr == "" {
			return o, fmt.Errorf("--target %q: want NAME=ADDR", s)
		}
		if o.Targets == nil {
			o.Targets = map[string]string{}
		}
		o.Targets[name] = addr
	}
	for _, s := range a.cidrs {
		name, list, ok := strings.Cut(s, "=")
		if !ok || name == "" || list == "" {
			return o, fmt.Errorf("--vantage-cidrs %q: want NAME=CIDR[,CIDR...]", s)
		}
		if o.VantageCIDRs == nil {
			o.VantageCIDRs = map[string][]string{}
		}
		o.VantageCIDRs[name] = append(o.VantageCIDRs[name], strings.Split(list, ",")...)
	}
	return o, nil
}

// targetFlags are the flags that point a run at another copy of the
// deployment (the testbed): shared by plan, run and serve.
type targetFlags struct {
	addressFlags
	from   string
	stun   multi
	caFile string
	seed   int64
}

func (t *targetFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&t.from, "from", "", "the `VANTAGE` this run stands at, or \"auto\" to find it over STUN (required)")
	t.addressFlags.register(fs)
	fs.Var(&t.stun, "stun", "use this STUN server instead of the file's: `HOST:PORT` (repeatable)")
	fs.StringVar(&t.caFile, "ca-file", "", "extra CA certificates (`PEM`) for TLS checks")
	fs.Int64Var(&t.seed, "seed", 0, "seed for the ports sampled from ranges (0: a new one; the report records it)")
}

func (t *targetFlags) overrides() (config.Overrides, error) {
	o, err := t.addressFlags.overrides()
	if len(t.stun) > 0 {
		o.STUNServers = t.stun
	}
	return o, err
}

// load reads the file and applies the overrides; it prints what went wrong.
func (t *targetFlags) load(path string, env Env) (*config.File, config.Overrides, bool) {
	o, err := t.overrides()
	if err != nil {
		fmt.Fprintln(env.Stderr, "probe:", err)
		return nil, o, false
	}
	f, err := config.Load(path)
	if err != nil {
		printConfigError(env, err)
		return nil, o, false
	}
	if err := o.Apply(f); err != nil {
		fmt.Fprintln(env.Stderr, "probe:", err)
		return nil, o, false
	}
	if t.caFile != "" {
		if _, err := os.Stat(t.caFile); err != nil {
			fmt.Fprintf(env.Stderr, "probe: --ca-file: %v\n", err)
			return nil, o, false
		}
	}
	return f, o, true
}

// IsTerminal reports whether f is a terminal: it answers the terminal
// ioctl. Being a character device is not enough (/dev/null is one).
func IsTerminal(f *os.File) bool {
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}
