package draft

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"probe/internal/secgroups"
)

// portKey is one transport and port range some rule of a target names.
type portKey struct {
	transport string
	lo, hi    int
}

// rulesOf returns the ingress rules of the groups, in order.
func rulesOf(set *secgroups.Set, groups []string) []*secgroups.Rule {
	var out []*secgroups.Rule
	for _, id := range groups {
		g := set.Group(id)
		for i := range g.Ingress {
			out = append(out, &g.Ingress[i])
		}
	}
	return out
}

// covers reports whether r covers every port of k.
func covers(r *secgroups.Rule, k portKey) bool {
	lo, hi, ok := r.Ports(k.transport)
	return ok && lo <= max(k.lo, 1) && hi >= k.hi
}

// applies reports whether r guards a target of address family fam: a CIDR
// of that family, or (for IPv4) a group reference or prefix list.
func applies(r *secgroups.Rule, fam int) bool {
	if r.Source == secgroups.SourceCIDR {
		return (fam == 6) == r.Prefix.Addr().Is6()
	}
	return fam == 4
}

func family(s string) int {
	if a, err := netip.ParseAddr(s); err == nil && a.Is6() && !a.Is4In6() {
		return 6
	}
	return 4
}

func (d *Draft) expectations(set *secgroups.Set) {
	keys := map[string][]portKey{}
	for _, t := range d.Targets {
		keys[t.Name] = d.keys(set, t)
	}
	for _, t := range d.Targets {
		ks := slices.Clone(keys[t.Name])
		if t.Sibling != "" {
			for _, k := range keys[t.Sibling] {
				if !slices.Contains(ks, k) {
					ks = append(ks, k)
				}
			}
		}
		slices.SortFunc(ks, func(a, b portKey) int {
			if a.lo != b.lo {
				return a.lo - b.lo
			}
			if a.transport != b.transport {
				return strings.Compare(a.transport, b.transport)
			}
			return a.hi - b.hi
		})
		for _, k := range ks {
			d.expectation(t, family(t.Public), rulesOf(set, t.Groups), k)
		}
		d.publicAlive(t, rulesOf(set, t.Groups))
	}
}

// publicAlive gives each runner that t's public half of a group reference
// expects filtered an answer at t's public address too: a silence there
// passes only once the same address has answered in the same run, and
// the runner's other rows are probed at the private address. It states, at
// the public address, the first single port a rule opens to the runner's
// public address (SIP, open to the world), after the row it copies.
func (d *Draft) publicAlive(t Target, rules []*secgroups.Rule) {
	fam := family(t.Public)
	for _, v := range d.Vantages {
		if v.Network != "vpc" || v.Host == t.Name {
			continue
		}
		silent, alive := false, false
		for _, e := range d.Expectations {
			if e.Target != t.Name || e.At != "public" {
				continue
			}
			switch e.Expect[v.Name] {
			case "open", "reachable":
				alive = true
			case "filtered", "unreachable":
				silent = true
			}
		}
		if !silent || alive {
			continue
		}
		for i, e := range d.Expectations {
			k := portKey{e.Transport, e.Lo, e.Hi}
			if e.Target != t.Name || e.At != "" || e.Lo != e.Hi || e.Expect[v.Name] != "open" || len(admits(rules, k, fam, originAt(v, false))) == 0 {
				continue
			}
			pub := e
			pub.ID, pub.At, pub.Comment = e.ID+"-public", "public", ""
			pub.Expect = map[string]string{v.Name: "open"}
			pub.Purpose = e.Purpose + " (at the public address too: it shows that address alive, for the silences there)"
			d.Expectations = slices.Insert(d.Expectations, i+1, pub)
			break
		}
	}
}

// keys are the transports and port ranges the rules of t's groups open
// over t's address family.
func (d *Draft) keys(set *secgroups.Set, t Target) []portKey {
	fam := family(t.Public)
	var keys []portKey
	for _, r := range rulesOf(set, t.Groups) {
		if r.Protocol != secgroups.TCP && r.Protocol != secgroups.UDP && r.Protocol != secgroups.All {
			d.note(fmt.Sprintf("%s on %s: probe sends no %s, so the draft states nothing for it", r, t.Name, r.Protocol))
			continue
		}
		if r.Source == secgroups.SourceCIDR && (fam == 6) != r.Prefix.Addr().Is6() {
			if fam == 4 && r.Prefix.Addr().Is6() && t.Sibling == "" {
				d.note(fmt.Sprintf("%s on %s: no IPv6 address of the instance is known (give describe-instances with its Ipv6Address), so this IPv6 rule is not stated", r, t.Name))
			}
			continue
		}
		if fam == 6 && r.Source != secgroups.SourceCIDR {
			continue // a group reference or prefix list: stated on the IPv4 target
		}
		for _, tr := range []string{"tcp", "udp"} {
			if lo, hi, ok := r.Ports(tr); ok {
				k := portKey{tr, max(lo, 1), hi}
				if !slices.Contains(keys, k) {
					keys = append(keys, k)
				}
			}
		}
	}
	return keys
}

func (d *Draft) note(s string) {
	if !slices.Contains(d.Notes, s) {
		d.Notes = append(d.Notes, s)
	}
}

// probeFor picks the probe kind a port's service speaks, by its
// well-known number; any other port gets a bare connect (tcp) or one RTP
// packet per port (udp), which tell open from filtered.
func probeFor(k portKey) (kind string, tls bool) {
	single := k.lo == k.hi
	switch {
	case k.transport == "tcp" && single && k.lo == 22:
		return "ssh", false
	case k.transport == "tcp" && single && (k.lo == 80 || k.lo == 8080):
		return "http", false
	case k.transport == "tcp" && single && (k.lo == 443 || k.lo == 8443):
		return "http", true
	case single && k.lo == 5060:
		return "sip", false
	case k.transport == "udp":
		return "rtp", false
	}
	return "tcp", false
}

// admits reports whether some rule that covers k lets o in.
func admits(rules []*secgroups.Rule, k portKey, fam int, o origin) []*secgroups.Rule {
	var out []*secgroups.Rule
	for _, r := range rules {
		if covers(r, k) && o.admittedBy(r, fam) {
			out = append(out, r)
		}
	}
	return out
}

// origin is where a vantage's packets come from, as the target sees them.
type origin struct {
	catchAll bool
	prefixes []netip.Prefix
	addr     netip.Addr
	groups   []string
}

func (o origin) admittedBy(r *secgroups.Rule, fam int) bool {
	if r.Source == secgroups.SourceGroup {
		return r.MatchesSource(secgroups.Source{Addr: o.addr, Groups: o.groups})
	}
	if r.Source != secgroups.SourceCIDR || (fam == 6) != r.Prefix.Addr().Is6() {
		return false
	}
	switch {
	case o.addr.IsValid():
		return r.Prefix.Contains(o.addr)
	case o.catchAll:
		return r.Prefix.Bits() == 0
	}
	for _, p := range o.prefixes {
		if p.Addr().Is6() == r.Prefix.Addr().Is6() && r.Prefix.Bits() <= p.Bits() && r.Prefix.Contains(p.Addr()) {
			return true
		}
	}
	return false
}

// originAt is where v's packets to t come from: at t's private address a
// vpc vantage is its host's private address, in its host's groups; at a
// public address, its host's public address.
func originAt(v Vantage, private bool) origin {
	switch {
	case v.CatchAll:
		return origin{catchAll: true}
	case v.Network == "vpc" && private:
		return origin{addr: v.private, groups: v.groups}
	case v.Network == "vpc":
		return origin{addr: v.public}
	}
	return origin{prefixes: v.CIDRs}
}

// vantageFamily is the family a vantage's packets can be of: a vantage
// with CIDRs of one family only reaches targets of that family.
func vantageFamily(v Vantage, fam int) bool {
	if v.CatchAll {
		return true
	}
	if v.Network == "vpc" {
		return fam == 4
	}
	for _, p := range v.CIDRs {
		if p.Addr().Is6() == (fam == 6) {
			return true
		}
	}
	return false
}

func (d *Draft) expectation(t Target, fam int, rules []*secgroups.Rule, k portKey) {
	kind, tls := probeFor(k)
	open, shut := "open", "filtered"
	if kind == "rtp" {
		open, shut = "reachable", "unreachable"
	}
	id := fmt.Sprintf("%s-%s-%d", t.Name, k.transport, k.lo)
	if k.hi != k.lo {
		id += fmt.Sprintf("-%d", k.hi)
	}
	var purposes []string
	byGroup := false
	for _, r := range rules {
		if !covers(r, k) || !applies(r, fam) {
			continue
		}
		p := r.Group + " from " + r.SourceLabel()
		if r.Description != "" {
			p += ": " + r.Description
		}
		if !slices.Contains(purposes, p) {
			purposes = append(purposes, p)
		}
		byGroup = byGroup || r.Source == secgroups.SourceGroup
	}
	e := Expectation{ID: id, Target: t.Name, Transport: k.transport, Lo: k.lo, Hi: k.hi, Probe: kind, TLS: tls,
		Purpose: strings.Join(purposes, "; "), Expect: map[string]string{}}
	anyone := false
	for _, v := range d.Vantages {
		if v.Host == t.Name || !vantageFamily(v, fam) || (t.Placeholder && v.Network == "vpc") || (t.Public == "" && v.Network != "vpc") {
			continue // a vantage that cannot reach the address, or its own host
		}
		private := v.Network == "vpc" && t.Private != ""
		if len(admits(rules, k, fam, originAt(v, private))) > 0 {
			e.Expect[v.Name] = open
			anyone = true
		} else {
			e.Expect[v.Name] = shut
		}
	}
	if len(purposes) == 0 {
		fam := "IPv4"
		if family(t.Public) == 6 {
			fam = "IPv6"
		}
		e.Purpose = fmt.Sprintf("no rule of %s opens this over %s; %s's do", strings.Join(t.Groups, ", "), fam, t.Sibling)
	} else if !anyone {
		e.Comment = "no vantage of this draft stands where these rules admit (" + e.Purpose + "): add one that does, or a runner there"
	}
	if len(e.Expect) > 0 {
		d.Expectations = append(d.Expectations, e)
	}
	if !byGroup || t.Public == "" || t.Private == "" {
		return
	}
	// A group reference admits the group's members at the private address
	// only: their packets to the public address come from their public
	// address, and must be filtered unless a CIDR rule admits that.
	pub := Expectation{ID: id + "-public", Target: t.Name, Transport: k.transport, Lo: k.lo, Hi: k.hi, Probe: kind, TLS: tls, At: "public",
		Purpose: e.Purpose + " (at the public address the group reference does not apply)", Expect: map[string]string{}}
	for _, v := range d.Vantages {
		if v.Network != "vpc" || v.Host == t.Name {
			continue
		}
		if len(admits(rules, k, fam, originAt(v, false))) > 0 {
			pub.Expect[v.Name] = open
		} else {
			pub.Expect[v.Name] = shut
		}
	}
	if len(pub.Expect) > 0 {
		d.Expectations = append(d.Expectations, pub)
	}
}

// nothingOpen marks, per target, the vantages that no expectation expects
// an answer from: their liveness cannot be shown from there.
func (d *Draft) nothingOpen() {
	for i := range d.Targets {
		t := &d.Targets[i]
		for _, v := range d.Vantages {
			seen, open := false, false
			for _, e := range d.Expectations {
				if e.Target != t.Name {
					continue
				}
				if w, ok := e.Expect[v.Name]; ok {
					seen = true
					open = open || w == "open" || w == "reachable"
				}
			}
			if seen && !open {
				t.NothingOpenFrom = append(t.NothingOpenFrom, v.Name)
			}
		}
	}
}
