package drift

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"probe/internal/config"
	"probe/internal/report"
	"probe/internal/secgroups"
	"probe/probes"
)

// runVantage is one run's vantage as its report states it.
type runVantage struct {
	name, public string
	cidrs        []string
}

// runs lists the vantages a report's results come from: its own, or, for a
// merged report, each run's.
func runs(rep *report.Report) []runVantage {
	if !rep.IsMerged() {
		v := rep.Vantage
		return []runVantage{{v.Name, v.PublicAddress, v.CIDRs}}
	}
	var out []runVantage
	for _, r := range rep.Runs {
		if !r.Superseded {
			out = append(out, runVantage{r.Vantage.Name, r.Vantage.PublicAddress, r.Vantage.CIDRs})
		}
	}
	return out
}

func reportName(rep *report.Report, path string) string {
	if rep.RunID != "" {
		return rep.RunID
	}
	return path
}

// admitted returns the rules of t's groups that let o in on transport/port.
func (c *comparer) admitted(t *config.Target, a address, o origin, transport string, port int) []*secgroups.Rule {
	var out []*secgroups.Rule
	for _, g := range t.SecurityGroups {
		grp := c.in.Groups.Group(g)
		for ri := range grp.Ingress {
			r := &grp.Ingress[ri]
			if lo, hi, ok := r.Ports(transport); ok && port >= lo && port <= hi && o.admittedBy(r, a.fam()) {
				out = append(out, r)
			}
		}
	}
	return out
}

// observations holds each probed port of a report against the rules: what
// passed must be admitted by some rule, and what a rule admits must not be
// dropped.
func (c *comparer) observations(rep *report.Report, path string) {
	f := c.in.File
	public := map[string]string{}
	for _, rv := range runs(rep) {
		public[rv.name] = rv.public
	}
	for ri := range rep.Results {
		res := &rep.Results[ri]
		vname := res.Vantage
		if vname == "" {
			vname = rep.Vantage.Name
		}
		t, v := f.Target(res.Target), f.Vantage(vname)
		if t == nil || v == nil || len(t.SecurityGroups) == 0 || !c.allKnown(t) {
			continue
		}
		if a, err := netip.ParseAddr(res.Address); err == nil && a.IsLoopback() {
			continue
		}
		a := address{c.resultAt(res, t), config.FamilyIPv4}
		if ip, err := netip.ParseAddr(res.Address); res.Family == config.FamilyIPv6 || err == nil && family(ip) == 6 {
			a.family = config.FamilyIPv6
		}
		if a.at == config.AtLoopback {
			continue
		}
		o := c.observedOrigin(v, t, a, public[vname])
		transport := config.L4(res.Transport)
		var dropped, refused, passed ports
		var rule *secgroups.Rule
		for _, ev := range res.Evidence {
			rules := c.admitted(t, a, o, transport, ev.Port)
			switch st := ev.Observation.State; {
			case len(rules) > 0 && st == probes.Filtered:
				dropped, rule = dropped.add(ev.Port, ev.Port), rules[0]
			case len(rules) > 0 && st == probes.Closed && res.Expected == "open":
				refused, rule = refused.add(ev.Port, ev.Port), rules[0]
			case len(rules) == 0 && (st == probes.Open || st == probes.Closed):
				passed = passed.add(ev.Port, ev.Port)
			}
		}
		base := Finding{Matters: true, Target: t.Name, Vantage: vname, At: a.at, Family: c.familyOf(t, a), Transport: transport,
			Expectation: res.ID, Report: reportName(rep, path)}
		where := fmt.Sprintf("%s from %s (%s)", res.ID, vname, o)
		if len(dropped) > 0 {
			fd := base
			fd.Kind, fd.Ports, fd.Rule, fd.RuleDescription = DroppedDespiteRule, dropped.String(), rule.String(), rule.Description
			fd.Message = fmt.Sprintf("%s: %s/%s was filtered, though %s lets it in: another layer drops it (a network ACL, a host firewall), or the group is not on the instance", where, dropped, transport, rule)
			c.add(fd)
		}
		if len(refused) > 0 {
			fd := base
			fd.Kind, fd.Ports, fd.Rule, fd.RuleDescription = NothingListens, refused.String(), rule.String(), rule.Description
			fd.Message = fmt.Sprintf("%s: %s/%s was refused: %s lets it in, but nothing listens (the service is down or on another port)", where, refused, transport, rule)
			c.add(fd)
		}
		if len(passed) > 0 {
			fd := base
			fd.Kind, fd.Ports = PassedWithoutRule, passed.String()
			fd.Message = fmt.Sprintf("%s: %s/%s reached the host, though no rule of %s lets it in: something else does (another group on the instance that the file does not list, a rule added since %s was exported)", where, passed, transport, strings.Join(t.SecurityGroups, ", "), c.in.GroupsPath)
			c.add(fd)
		}
	}
}

// addresses holds the address STUN saw for each run against the rules that
// allowlist that vantage by address: an office whose address changed is
// seen elsewhere than its rules say.
func (c *comparer) addresses(rep *report.Report, path string) {
	f := c.in.File
	for _, rv := range runs(rep) {
		v := f.Vantage(rv.name)
		seen, err := netip.ParseAddr(rv.public)
		if v == nil || v.CatchAll || err != nil {
			continue
		}
		seen = seen.Unmap()
		prefixes := slices.Clone(v.Prefixes)
		for _, s := range rv.cidrs {
			if p, err := netip.ParsePrefix(s); err == nil {
				prefixes = append(prefixes, p.Masked())
			}
		}
		vo := origin{prefixes: prefixes}
		var missed []string
		var allowlisted []string
		for gi := range c.in.Groups.Groups {
			g := &c.in.Groups.Groups[gi]
			for ri := range g.Ingress {
				r := &g.Ingress[ri]
				if r.Source != secgroups.SourceCIDR || r.Prefix.Bits() == 0 || r.Prefix.Addr().Is6() != seen.Is6() {
					continue
				}
				if vo.admittedBy(r, family(seen)) && !r.Prefix.Contains(seen) {
					missed = append(missed, r.String())
					if !slices.Contains(allowlisted, r.Prefix.String()) {
						allowlisted = append(allowlisted, r.Prefix.String())
					}
				}
			}
		}
		if len(missed) == 0 {
			continue
		}
		c.add(Finding{Kind: AddressMoved, Matters: true, Vantage: v.Name, Report: reportName(rep, path),
			Rule: strings.Join(missed, "; "),
			Message: fmt.Sprintf("STUN saw vantage %s at %s, but the groups allowlist it as %s (%s): its address changed, and what those rules allow will not work from %s until they name %s",
				v.Name, seen, strings.Join(allowlisted, ", "), strings.Join(missed, "; "), v.Name, netip.PrefixFrom(seen, seen.BitLen()))})
	}
}

func family(a netip.Addr) int {
	if a.Is6() && !a.Is4In6() {
		return 6
	}
	return 4
}

// resultAt is the role of the address a result probed.
func (c *comparer) resultAt(res *report.Result, t *config.Target) string {
	if res.At != "" || t.Address != "" {
		return res.At
	}
	if res.Address != "" && res.Address == t.Private {
		return config.AtPrivate
	}
	return config.AtPublic
}
