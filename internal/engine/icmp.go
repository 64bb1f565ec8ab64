package engine

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"probe/internal/kinds"
	"probe/internal/plan"
	"probe/probes"
	"probe/probes/udp"
)

// budgets hold each target's live ICMP-error account (udp.Budget): its
// single UDP probes and its ranges all draw on it, so they pace themselves
// by the errors the target actually sent, and none finds the bucket
// emptied by another behind its back. A single UDP probe holds its claim
// for its whole exchange (its retransmissions may each draw an error); a
// range's send holds its claim for its answer window only. What else draws
// on the target's bucket meanwhile without a claim (a TCP probe answered
// with ICMP prohibited) makes the silences doubtful afterwards
// (doubtOtherICMP).
type budgets struct {
	limit udp.ICMPLimit
	clock udp.Clock
	mu    sync.Mutex
	by    map[string]*udp.Budget
}

func newBudgets(limit udp.ICMPLimit, clock udp.Clock) *budgets {
	return &budgets{limit: limit, clock: clock, by: map[string]*udp.Budget{}}
}

// get returns host's budget, made (full) on first use.
func (b *budgets) get(host string) *udp.Budget {
	b.mu.Lock()
	defer b.mu.Unlock()
	bu, ok := b.by[host]
	if !ok {
		bu = udp.NewBudget(b.limit, b.clock)
		b.by[host] = bu
	}
	return bu
}

// doubtOtherICMP notes on a silence (BesideICMP) the other probes of the
// same target that drew ICMP errors while it was heard: those came from the
// per-peer bucket a closed port's port unreachable needed (a TCP probe
// answered with ICMP prohibited by a rejecting firewall, a re-probe of a
// UDP port, another range's refusals), so the silence may be the limit's.
// It applies to the silent ports of a range, over the range's whole time
// (its own replay cannot see other probes), and to a single UDP probe's
// silence, not a sweep's.
func doubtOtherICMP(p *plan.Plan, res *Results, groups map[string][]int, single []int) {
	type answer struct {
		task     int
		from, to time.Time
		label    string
	}
	byHost := map[string][]answer{}
	for i, t := range p.Tasks {
		if o := res.Observations[i]; res.Ran[i] && o.ICMPError {
			byHost[t.Target.Host] = append(byHost[t.Target.Host], answer{i, o.Started, o.Started.Add(o.Duration), fmt.Sprintf("%d/%s", t.Target.Port, t.Target.Transport)})
		}
	}
	for i, sw := range res.Swept {
		// A sweep's ICMP answers (a rejecting firewall's prohibited to a
		// SYN, a UDP port unreachable) drew on the same bucket.
		t := p.Tasks[i].Target
		for _, port := range sw.scan.ICMP() {
			o := sw.Observation(port)
			byHost[t.Host] = append(byHost[t.Host], answer{i, o.Started, o.Started.Add(o.Duration), fmt.Sprintf("%d/%s", port, t.Transport)})
		}
	}
	// others lists host's ICMP answers, outside skip, that overlap from-to.
	others := func(host string, from, to time.Time, skip func(int) bool) string {
		var labels []string
		for _, a := range byHost[host] {
			if !skip(a.task) && a.from.Before(to) && a.to.After(from) && !slices.Contains(labels, a.label) {
				labels = append(labels, a.label)
			}
		}
		if len(labels) == 0 {
			return ""
		}
		return fmt.Sprintf("other probes of this host drew ICMP errors meanwhile (%s), from the per-peer budget a closed port's port unreachable needs: the silence may be the limit's", strings.Join(labels, ", "))
	}
	silent := func(o probes.Observation) bool {
		return (o.State == probes.OpenFiltered || o.State == probes.Filtered) && !o.ICMPError && o.BesideICMP == ""
	}
	for _, idx := range groups {
		if k := kinds.Lookup(p.Tasks[idx[0]].Kind); k != nil && k.Sweeps {
			continue // a sweep's silences: see below
		}
		host := p.Tasks[idx[0]].Target.Host
		var from, to time.Time
		for _, i := range idx {
			o := res.Observations[i]
			if !res.Ran[i] || o.Started.IsZero() {
				continue
			}
			if from.IsZero() || o.Started.Before(from) {
				from = o.Started
			}
			if end := o.Started.Add(o.Duration); end.After(to) {
				to = end
			}
		}
		why := others(host, from, to, func(task int) bool { return slices.Contains(idx, task) })
		if why == "" {
			continue
		}
		for _, i := range idx {
			if o := &res.Observations[i]; res.Ran[i] && silent(*o) {
				o.BesideICMP = why
			}
		}
	}
	for _, i := range single {
		t, o := p.Tasks[i].Target, &res.Observations[i]
		if t.Transport != "udp" || !res.Ran[i] || !silent(*o) {
			continue
		}
		if k := kinds.Lookup(p.Tasks[i].Kind); k != nil && k.Sweeps {
			// A sweep states only whether something answered: a
			// silence that may be a withheld refusal is not_open either
			// way. Its errors still cast doubt on the other probes'.
			continue
		}
		if why := others(t.Host, o.Started, o.Started.Add(o.Duration), func(task int) bool { return task == i }); why != "" {
			o.BesideICMP = why
		}
	}
}
