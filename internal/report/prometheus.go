package report

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"probe/internal/kinds"
)

// WritePrometheus renders r in the Prometheus text exposition format, for
// node_exporter's textfile collector (write it atomically to a *.prom file
// in the collector's directory). Samples carry no timestamps, which the
// collector refuses; the run's own time is a gauge instead.
//
// Per expectation and vantage: the verdict (one-hot over the four
// verdicts), each probed port's observed state (one-hot), the duration,
// and the families each kind's facts feed (kinds.Kind.Metrics: a
// certificate's days left and expiry, an SSH host key and a SIP agent, as
// info series so that a change shows as a new series). Per run: when it finished, how long it took, whether it was
// partial, whether the network and the vantage were shown, the result
// counts, and per target whether it was shown alive.
func WritePrometheus(w io.Writer, r *Report) error {
	p := &promWriter{}
	verdicts := []string{"pass", "fail", "inconclusive", "error"}
	states := []string{"open", "closed", "filtered", "open|filtered", "none"}

	p.family("probe_expectation_verdict", "Verdict of an expectation from a vantage: 1 for the verdict that holds, 0 for the others.")
	for _, res := range r.Results {
		for _, v := range verdicts {
			p.sample(expLabels(r, res, "verdict", v), b2f(res.Verdict == v))
		}
	}
	p.family("probe_expectation_critical", "1 when a failure of the expectation is critical (a default password accepted, ...).")
	for _, res := range r.Results {
		p.sample(expLabels(r, res), b2f(res.Critical))
	}
	p.family("probe_port_state", "Observed state of one probed port: 1 for the state seen, 0 for the others; none means the probe could not be made.")
	for _, res := range r.Results {
		for _, e := range res.Evidence {
			seen := string(e.Observation.State)
			if seen == "" {
				seen = "none"
			}
			for _, s := range states {
				p.sample(expLabels(r, res, "port", strconv.Itoa(e.Port), "transport", res.Transport, "control", strconv.FormatBool(e.Control), "state", s), b2f(seen == s))
			}
		}
	}
	p.family("probe_expectation_duration_seconds", "Duration of the slowest port probe of the expectation.")
	for _, res := range r.Results {
		p.sample(expLabels(r, res), float64(res.DurationMS)/1000)
	}

	for _, fam := range factFamilies(r) {
		p.family(fam.name, fam.help)
		for _, smp := range fam.samples {
			p.sample(smp.labels, smp.value)
		}
	}

	runs := vantageRuns(r)
	if !r.IsMerged() {
		runs[0].Started, runs[0].Finished, runs[0].Partial = r.Started, r.Finished, r.Partial
		runs[0].Network, runs[0].Summary = r.Network, r.Summary
	}
	var live []Run
	for _, run := range runs {
		if !run.Superseded {
			live = append(live, run)
		}
	}
	runFamily := func(name, help string, value func(Run) float64) {
		p.family(name, help)
		for _, run := range live {
			p.sample(runLabels(run), value(run))
		}
	}
	runFamily("probe_run_timestamp_seconds", "When the run finished, as a Unix time.", func(run Run) float64 {
		return float64(run.Finished.Unix())
	})
	runFamily("probe_run_duration_seconds", "How long the run took.", func(run Run) float64 {
		return run.Finished.Sub(run.Started).Seconds()
	})
	runFamily("probe_run_partial", "1 when the run ended before every probe finished.", func(run Run) float64 { return b2f(run.Partial) })
	runFamily("probe_run_network_working", "1 when something answered the prober in the run.", func(run Run) float64 { return b2f(run.Network.Working) })
	runFamily("probe_run_vantage_confirmed", "1 when STUN confirmed or found the vantage.", func(run Run) float64 {
		return b2f(strings.HasPrefix(run.Vantage.Established, "stun-"))
	})
	p.family("probe_run_results", "Results of the run by verdict.")
	for _, run := range live {
		s := run.Summary
		for i, n := range []int{s.Pass, s.Fail, s.Inconclusive, s.Error} {
			p.sample(append(runLabels(run), "verdict", verdicts[i]), float64(n))
		}
	}
	p.family("probe_target_alive", "1 when some port of the target answered open from the vantage in the run.")
	for _, t := range r.Targets {
		v := t.Vantage
		if v == "" {
			v = r.Vantage.Name
		}
		p.sample([]string{"vantage", v, "target", t.Name}, b2f(t.Alive))
	}
	_, err := io.WriteString(w, p.b.String())
	return err
}

// factFamily is one family the kinds' facts feed, with its samples.
type factFamily struct {
	name, help string
	samples    []factSample
}

type factSample struct {
	labels []string
	value  float64
}

// factFamilies asks each result's kind for the samples its facts give,
// port by port. Families come in the order the kinds declare them (kinds
// by name), each once however many kinds feed it, and only when some
// sample was found.
func factFamilies(r *Report) []*factFamily {
	var order []*factFamily
	byName := map[string]*factFamily{}
	for _, n := range kinds.Names() {
		for _, m := range kinds.Lookup(n).Metrics {
			if byName[m.Name] == nil {
				byName[m.Name] = &factFamily{name: m.Name, help: m.Help}
				order = append(order, byName[m.Name])
			}
		}
	}
	for _, res := range r.Results {
		k := kinds.Lookup(res.Probe)
		if k == nil || len(k.Metrics) == 0 {
			continue
		}
		for _, e := range res.Evidence {
			facts := k.FactsOf(e.Observation)
			if facts == nil {
				continue
			}
			for _, m := range k.Metrics {
				fam := byName[m.Name]
				for _, smp := range m.Samples(facts) {
					labels := expLabels(r, res, append([]string{"port", strconv.Itoa(e.Port)}, smp.Labels...)...)
					fam.samples = append(fam.samples, factSample{labels, smp.Value})
				}
			}
		}
	}
	var out []*factFamily
	for _, fam := range order {
		if len(fam.samples) > 0 {
			out = append(out, fam)
		}
	}
	return out
}

type promWriter struct {
	b       strings.Builder
	current string
}

func (p *promWriter) family(name, help string) {
	help = strings.NewReplacer(`\`, `\\`, "\n", `\n`).Replace(help)
	fmt.Fprintf(&p.b, "# HELP %s %s\n# TYPE %s gauge\n", name, help, name)
	p.current = name
}

func (p *promWriter) sample(labels []string, v float64) {
	p.b.WriteString(p.current)
	p.b.WriteByte('{')
	for i := 0; i+1 < len(labels); i += 2 {
		if i > 0 {
			p.b.WriteByte(',')
		}
		fmt.Fprintf(&p.b, "%s=\"%s\"", labels[i], promEscape(labels[i+1]))
	}
	p.b.WriteString("} ")
	if v == math.Trunc(v) && math.Abs(v) < 1e15 {
		p.b.WriteString(strconv.FormatInt(int64(v), 10)) // a Unix time in full, not 1.79e+09
	} else {
		p.b.WriteString(strconv.FormatFloat(v, 'g', -1, 64))
	}
	p.b.WriteByte('\n')
}

func promEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s)
}

// expLabels are an expectation's labels, then extra name, value pairs.
func expLabels(r *Report, res Result, extra ...string) []string {
	l := []string{"vantage", r.VantageOf(res), "id", res.ID, "target", res.Target}
	if res.Family != "" {
		l = append(l, "family", res.Family) // one series per family probed
	}
	return append(l, extra...)
}

func runLabels(run Run) []string {
	shard := "1/1"
	if run.Shard != nil {
		shard = run.Shard.String()
	}
	return []string{"vantage", run.Vantage.Name, "shard", shard}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
