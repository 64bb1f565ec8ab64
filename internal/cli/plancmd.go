package cli

import (
	"fmt"
	"text/tabwriter"

	"probe/internal/plan"
)

func cmdPlan(args []string, env Env) int {
	fs := newFlags("plan", "plan --from VANTAGE [flags] [FILE]", env)
	var tf targetFlags
	tf.register(fs)
	pos, err := parse(fs, args)
	if err != nil {
		return flagErr(err)
	}
	path, ok := fileArg(pos, env, "plan")
	if !ok {
		return ExitUsage
	}
	if tf.from == "" || tf.from == "auto" {
		fmt.Fprintln(env.Stderr, "probe plan: --from VANTAGE is required (plan sends nothing, so it cannot find the vantage itself)")
		return ExitUsage
	}
	f, _, ok := tf.load(path, env)
	if !ok {
		return ExitUsage
	}
	p, err := plan.Make(f, tf.from, plan.Options{Seed: tf.seed, CAFile: tf.caFile})
	if err != nil {
		fmt.Fprintln(env.Stderr, "probe plan:", err)
		return ExitUsage
	}
	fmt.Fprintf(env.Stdout, "plan from vantage %q: %d expectations, %d probes, sample seed %d\n\n", p.Vantage, len(p.Rows)+len(p.Lookups), p.Probes(), p.Seed)
	tw := tabwriter.NewWriter(env.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tPROBE\tADDRESS\tPORT\tEXPECT\tNOTE")
	for _, c := range p.Rows {
		for _, pt := range c.Ports {
			t := p.Tasks[pt.Task]
			note := ""
			switch {
			case pt.Control:
				note = "control, just outside the range"
			case c.Sample != nil:
				note = "sampled from " + c.Expectation.Range
			}
			word := string(c.Word(pt))
			addr := t.Target.Host
			if c.At != "" {
				addr += " (" + c.At + ")"
			}
			port := fmt.Sprintf("%d/%s", pt.Port, t.Target.Transport)
			if t.Target.Family != "" {
				port += " over " + t.Target.Family // a name, dialled at its A or its AAAA records
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", c.ID, t.Kind, addr, port, word, note)
		}
	}
	for _, l := range p.Lookups {
		addr := l.Name
		if l.At != "" {
			addr += " (" + l.At + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t-\t%s\t%s\n", l.ID, l.Expectation.Probe, addr, l.Expected, "looked up here; nothing is sent to the target")
	}
	if err := tw.Flush(); err != nil {
		return ExitIO // Main reports the write error
	}
	if len(p.NotApplicable) > 0 {
		fmt.Fprintf(env.Stdout, "\nnot from %s (nothing expected there): %v\n", p.Vantage, p.NotApplicable)
	}
	return 0
}
