package runner

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"time"

	"probe/internal/config"
	"probe/internal/kinds"
	"probe/internal/plan"
	"probe/internal/report"
)

// Resolver looks a name up; net.DefaultResolver's LookupHost is one.
type Resolver func(ctx context.Context, name string) ([]string, error)

// resolveTimeout bounds the lookup of one name.
const resolveTimeout = 5 * time.Second

// nameDoubt is why the verdicts at one target path cannot pass: the name
// resolved to an address of another network than the one it stands for.
type nameDoubt map[string]string // plan.Path -> reason

// resolveNames looks up every name the plan dials, before anything is
// probed. A name that does not exist (NXDOMAIN, or no address) is a
// configuration error, located at the key that gave it, and nothing is
// probed; a resolver that fails (no answer, refused) is left to the probes,
// whose rows then say so. A public name that resolves to a private address
// is a doubt: probed from here it tests the prober's own network.
//
// A name dialled over one family (a row whose results carry their family)
// must have an address of that family: an AAAA record for IPv6, an A
// record for IPv4.
func resolveNames(ctx context.Context, f *config.File, p *plan.Plan, lookup Resolver) (nameDoubt, error) {
	type use struct {
		target, at, family string
	}
	uses := map[string][]use{} // name -> where it is used
	var names []string
	// Every row, not every task: the plan merges the probes of two targets
	// at one name into one task, named for the first, and a doubt must
	// reach each target path at the name.
	for _, c := range p.Rows {
		host := c.Address
		if _, err := netip.ParseAddr(host); err == nil {
			continue
		}
		u := use{c.Expectation.Target, c.At, p.DialFamily(c)}
		if !slices.Contains(uses[host], u) {
			if len(uses[host]) == 0 {
				names = append(names, host)
			}
			uses[host] = append(uses[host], u)
		}
	}
	if len(names) == 0 {
		return nil, nil
	}
	if lookup == nil {
		lookup = net.DefaultResolver.LookupHost
	}
	doubts := nameDoubt{}
	var problems []string
	for _, name := range names {
		lctx, cancel := context.WithTimeout(ctx, resolveTimeout)
		addrs, err := lookup(lctx, name)
		cancel()
		for _, u := range uses[name] {
			key := u.at
			tg := f.Target(u.target)
			switch {
			case u.family == config.FamilyIPv6 && tg.IPv6 != "":
				key = "ipv6"
			case key == "":
				key = "address"
			}
			where := tg.Where(key)
			var dnsErr *net.DNSError
			switch {
			case err == nil && len(addrs) == 0:
				problems = append(problems, fmt.Sprintf("%s: %q does not resolve (no address)", where, name))
				continue
			case errors.As(err, &dnsErr) && dnsErr.IsNotFound:
				problems = append(problems, fmt.Sprintf("%s: %q does not resolve (%s)", where, name, err))
				continue
			case err != nil:
				// The resolver itself failed (timeout, refused): the
				// prober's trouble at run time, not the file's. The
				// probes of that name say so, one by one.
				continue
			}
			if u.family != "" && !slices.ContainsFunc(addrs, func(a string) bool { return config.AddressFamily(a) == u.family }) {
				record := map[string]string{config.FamilyIPv4: "A", config.FamilyIPv6: "AAAA"}[u.family]
				problems = append(problems, fmt.Sprintf("%s: %q has no %s record, so it cannot be probed over %s (it resolves to %s)", where, name, record, u.family, strings.Join(addrs, ", ")))
				continue
			}
			if u.at == config.AtPrivate {
				continue // a private name inside the VPC: what it resolves to is the VPC's business
			}
			for _, a := range addrs {
				ip, err := netip.ParseAddr(a)
				if u.family != "" && config.AddressFamily(a) != u.family {
					continue // not the family this use dials
				}
				if err == nil && config.AddressClass(ip) == config.AtPrivate {
					doubts[plan.Path(u.target, u.at, u.family)] = fmt.Sprintf("%s resolves to the private address %s: probed from here, that is this prober's own network, not the target's public side (%s)", name, ip, where)
					break
				}
			}
		}
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("%s\nnothing was probed", strings.Join(problems, "\n"))
	}
	return doubts, nil
}

// applyDoubts keeps a result at a doubted path from passing.
func applyDoubts(rep *report.Report, doubts nameDoubt) {
	if len(doubts) == 0 {
		return
	}
	for i := range rep.Results {
		r := &rep.Results[i]
		why, ok := doubts[plan.Path(r.Target, r.At, r.Family)]
		if !ok {
			continue
		}
		if r.Verdict == "pass" {
			r.Verdict = "inconclusive"
		}
		r.Reason = why + "; " + r.Reason
	}
	note := rep.Summary.Note
	rep.Summary = report.Count(rep.Results)
	rep.Summary.Note = note
}

// localAddrs lists the addresses this machine's interfaces hold; a variable
// for tests.
var localAddrs = func() ([]netip.Addr, error) {
	as, err := net.InterfaceAddrs()
	if err != nil {
		return nil, err
	}
	var out []netip.Addr
	for _, a := range as {
		if p, err := netip.ParsePrefix(a.String()); err == nil {
			out = append(out, p.Addr())
		}
	}
	return out, nil
}

// ownAddresses says whether a host is one of this machine's own addresses
// (loopback, or an interface's): an answer from there never crossed the
// network. A name is not looked up again here, and counts as not local.
func ownAddresses() func(host string) bool {
	mine := map[netip.Addr]bool{}
	if as, err := localAddrs(); err == nil {
		for _, a := range as {
			mine[a.Unmap()] = true
		}
	}
	return func(host string) bool {
		a, err := netip.ParseAddr(host)
		return err == nil && (a.IsLoopback() || mine[a.Unmap()])
	}
}

// checkHost holds a vantage that runs on a target against this machine: an
// interface here must hold the target's private address, when the file
// gives it as an IP. STUN shows only the public address, which every
// machine behind the same gateway shares.
func checkHost(f *config.File, vantage string) error {
	v := f.Vantage(vantage)
	if v == nil || v.Host == "" {
		return nil
	}
	t := f.Target(v.Host)
	want, err := netip.ParseAddr(t.Private)
	if err != nil {
		return nil // a name: nothing to hold it against
	}
	have, err := localAddrs()
	if err != nil {
		return fmt.Errorf("vantage %s runs on %s, but this machine's addresses cannot be listed: %v", vantage, t.Name, err)
	}
	for _, a := range have {
		if a.Unmap() == want.Unmap() {
			return nil
		}
	}
	return fmt.Errorf("vantage %s runs on %s, but no interface here holds its private address %s (%s); run it on that server, or fix the address", vantage, t.Name, want, t.Where(config.AtPrivate))
}

// looked is one resolve row's lookup, made before anything is probed.
type looked struct {
	row   plan.Lookup
	addrs []netip.Addr
	err   error
	given bool // the address was an IP: nothing was looked up
}

// lookUp resolves the name of every resolve row of the plan (kinds.Kind's
// Resolves), each once, with the run's resolver.
func lookUp(ctx context.Context, p *plan.Plan, lookup Resolver) []looked {
	if lookup == nil {
		lookup = net.DefaultResolver.LookupHost
	}
	out := make([]looked, 0, len(p.Lookups))
	for _, l := range p.Lookups {
		lk := looked{row: l}
		if a, err := netip.ParseAddr(l.Name); err == nil {
			lk.addrs, lk.given = []netip.Addr{a.Unmap()}, true
			out = append(out, lk)
			continue
		}
		lctx, cancel := context.WithTimeout(ctx, resolveTimeout)
		names, err := lookup(lctx, l.Name)
		cancel()
		lk.err = err
		for _, n := range names {
			if a, err := netip.ParseAddr(n); err == nil {
				lk.addrs = append(lk.addrs, a.Unmap())
			}
		}
		out = append(out, lk)
	}
	return out
}

// judgeLookups judges each resolve row on what its name resolved to. A
// vantage that was not confirmed cannot pass one: a runner that stands
// inside the VPC by mistake gets the VPC resolver's private answer for an
// endpoint that the internet sees at a public address.
func judgeLookups(ls []looked, vantageDoubt string) []report.Result {
	out := make([]report.Result, 0, len(ls))
	for _, l := range ls {
		e := l.row.Expectation
		r := report.Result{
			ID: l.row.ID, Target: e.Target, Address: l.row.Name, At: l.row.At, Ports: []int{},
			Probe: e.Probe, Purpose: e.Purpose, Expected: l.row.Expected, Evidence: []report.PortEvidence{},
			Resolved: &report.Resolved{Name: l.row.Name, Addresses: []string{}},
		}
		var dnsErr *net.DNSError
		switch {
		case errors.As(l.err, &dnsErr) && dnsErr.IsNotFound || l.err == nil && len(l.addrs) == 0:
			r.Observed, r.Verdict = "none", "inconclusive"
			r.Reason = fmt.Sprintf("%s does not resolve from this vantage, so what it resolves to cannot be judged here (a name of a private hosted zone resolves only inside the VPC: ask this only of vpc vantages)", l.row.Name)
		case l.err != nil:
			r.Observed, r.Verdict = "error", "error"
			r.Reason = fmt.Sprintf("looking %s up failed: %v", l.row.Name, l.err)
		default:
			observed, described, pass := kinds.JudgeResolved(l.row.Expected, l.addrs, func(a netip.Addr) string {
				if c := config.AddressClass(a); c == config.AtPrivate || c == config.AtPublic {
					return c
				}
				return ""
			})
			for _, a := range l.addrs {
				r.Resolved.Addresses = append(r.Resolved.Addresses, a.String())
			}
			r.Observed = observed
			how := "resolves to " + described
			if l.given {
				how = "is given as an IP address, not a name (nothing to look up): " + observed
			}
			switch {
			case !pass:
				r.Verdict = "fail"
				r.Reason = fmt.Sprintf("expected every address to be %s; %s %s", l.row.Expected, l.row.Name, how)
			case vantageDoubt != "":
				r.Verdict = "inconclusive"
				r.Reason = fmt.Sprintf("%s %s, but %s: inside the VPC its resolver answers privately whatever the internet sees", l.row.Name, how, vantageDoubt)
			default:
				r.Verdict = "pass"
				r.Reason = fmt.Sprintf("%s %s", l.row.Name, how)
			}
		}
		out = append(out, r)
	}
	return out
}
