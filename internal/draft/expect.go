package draft

import (
	"fmt"
	"maps"
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

// applies reports whether r guards a target's address of family fam: a
// CIDR of that family, or a group reference or prefix list (a group
// reference matches its members' private IPv4 addresses and their IPv6
// addresses alike, as internal/sgnft writes it).
func applies(r *secgroups.Rule, fam int) bool {
	if r.Source == secgroups.SourceCIDR {
		return (fam == 6) == r.Prefix.Addr().Is6()
	}
	return true
}

// families are the address families t is reached over: IPv4 at its
// public and private addresses, IPv6 at its one global address.
func families(t Target) []int {
	var out []int
	if t.Public != "" || t.Private != "" {
		out = append(out, 4)
	}
	if t.IPv6 != "" {
		out = append(out, 6)
	}
	return out
}

func familyWord(fam int) string {
	if fam == 6 {
		return "ipv6"
	}
	return "ipv4"
}

func familyName(fam int) string {
	if fam == 6 {
		return "IPv6"
	}
	return "IPv4"
}

func (d *Draft) expectations(set *secgroups.Set) {
	for _, t := range d.Targets {
		ks := d.keys(set, t)
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
			d.expectation(t, rulesOf(set, t.Groups), k)
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
			if e.Target != t.Name || e.At != "" || e.Family == "ipv6" || e.Lo != e.Hi || e.Expect[v.Name] != "open" || len(admits(rules, k, 4, originAt(v, 4, false))) == 0 {
				continue
			}
			pub := e
			pub.ID, pub.At, pub.Comment = e.ID+"-public", "public", ""
			pub.Family = ipv4Only(t)
			pub.Expect = map[string]string{v.Name: "open"}
			pub.Purpose = e.Purpose + " (at the public address too: it shows that address alive, for the silences there)"
			d.Expectations = slices.Insert(d.Expectations, i+1, pub)
			break
		}
	}
}

// keys are the transports and port ranges the rules of t's groups open
// over t's address families.
func (d *Draft) keys(set *secgroups.Set, t Target) []portKey {
	fams := families(t)
	var keys []portKey
	for _, r := range rulesOf(set, t.Groups) {
		if r.Protocol != secgroups.TCP && r.Protocol != secgroups.UDP && r.Protocol != secgroups.All {
			d.note(fmt.Sprintf("%s on %s: probe sends no %s, so the draft states nothing for it", r, t.Name, r.Protocol))
			continue
		}
		if !slices.ContainsFunc(fams, func(fam int) bool { return applies(r, fam) }) {
			if r.Prefix.Addr().Is6() {
				d.note(fmt.Sprintf("%s on %s: no IPv6 address of the instance is known (give describe-instances with its Ipv6Address), so this IPv6 rule is not stated", r, t.Name))
			}
			continue
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

// originAt is where v's packets to t come from over family fam: at t's
// private address a vpc vantage is its host's private address, in its
// host's groups; at a public address, its host's public address; over
// IPv6, which AWS never translates, its host's IPv6 address, in its host's
// groups, whatever address of t it reaches (as internal/drift reads it).
func originAt(v Vantage, fam int, private bool) origin {
	switch {
	case v.CatchAll:
		return origin{catchAll: true}
	case v.Network == "vpc" && fam == 6:
		return origin{addr: v.ipv6, groups: v.groups}
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
		return fam == 4 || v.ipv6.IsValid()
	}
	for _, p := range v.CIDRs {
		if p.Addr().Is6() == (fam == 6) {
			return true
		}
	}
	return false
}

// ipv4Only is the family of a row probed at an IPv4 address alone (at =
// "public" or "private"): "ipv4" for a target with an IPv6 address too,
// where the key is needed, else "" (the target has one family).
func ipv4Only(t Target) string {
	if t.IPv6 != "" {
		return "ipv4"
	}
	return ""
}

// stated is what the rules say of one port range over one family.
type stated struct {
	fam      int
	expect   map[string]string
	purposes []string
	byGroup  bool
	anyone   bool
}

// state works out, over family fam, each vantage's word for k at t, and
// the rules behind them.
func (d *Draft) state(t Target, fam int, rules []*secgroups.Rule, k portKey, open, shut string) stated {
	s := stated{fam: fam, expect: map[string]string{}}
	for _, r := range rules {
		if !covers(r, k) || !applies(r, fam) {
			continue
		}
		p := r.Group + " from " + r.SourceLabel()
		if r.Description != "" {
			p += ": " + r.Description
		}
		if !slices.Contains(s.purposes, p) {
			s.purposes = append(s.purposes, p)
		}
		s.byGroup = s.byGroup || r.Source == secgroups.SourceGroup
	}
	for _, v := range d.Vantages {
		if !reaches(t, v, fam) {
			continue
		}
		private := v.Network == "vpc" && t.Private != ""
		if len(admits(rules, k, fam, originAt(v, fam, private))) > 0 {
			s.expect[v.Name] = open
			s.anyone = true
		} else {
			s.expect[v.Name] = shut
		}
	}
	return s
}

// reaches reports whether v probes t over family fam: not from its own
// host, not where it cannot send that family, not from inside the VPC to a
// placeholder, and not at an IPv4 address the internet cannot reach.
func reaches(t Target, v Vantage, fam int) bool {
	return v.Host != t.Name && vantageFamily(v, fam) && !(t.Placeholder && v.Network == "vpc") && !(fam == 4 && t.Public == "" && v.Network != "vpc")
}

// agrees reports whether a and b give every vantage they both name the
// same word: then one row, probed over each family the vantage sends from,
// states both.
func agrees(a, b stated) bool {
	for v, w := range a.expect {
		if x, ok := b.expect[v]; ok && x != w {
			return false
		}
	}
	return true
}

func (d *Draft) expectation(t Target, rules []*secgroups.Rule, k portKey) {
	kind, tls := probeFor(k)
	open, shut := "open", "filtered"
	if kind == "rtp" {
		open, shut = "reachable", "unreachable"
	}
	id := fmt.Sprintf("%s-%s-%d", t.Name, k.transport, k.lo)
	if k.hi != k.lo {
		id += fmt.Sprintf("-%d", k.hi)
	}
	var over []stated
	for _, fam := range families(t) {
		over = append(over, d.state(t, fam, rules, k, open, shut))
	}
	if len(over) == 2 && agrees(over[0], over[1]) {
		// One row for both families: each vantage is probed over every
		// family it sends from, as the family key's default does.
		both := stated{fam: over[0].fam, expect: maps.Clone(over[0].expect), purposes: slices.Clone(over[0].purposes),
			byGroup: over[0].byGroup, anyone: over[0].anyone || over[1].anyone}
		maps.Copy(both.expect, over[1].expect)
		for _, p := range over[1].purposes {
			if !slices.Contains(both.purposes, p) {
				both.purposes = append(both.purposes, p)
			}
		}
		over = []stated{both}
	}
	for _, s := range over {
		e := Expectation{ID: id, Target: t.Name, Transport: k.transport, Lo: k.lo, Hi: k.hi, Probe: kind, TLS: tls,
			Purpose: strings.Join(s.purposes, "; "), Expect: s.expect}
		if len(over) == 2 {
			e.Family = familyWord(s.fam)
			if s.fam == 6 {
				e.ID += "-ipv6"
			}
		}
		if len(s.purposes) == 0 {
			other := 6
			if s.fam == 6 {
				other = 4
			}
			e.Purpose = fmt.Sprintf("no rule of %s opens this over %s; over %s one does", strings.Join(t.Groups, ", "), familyName(s.fam), familyName(other))
		} else if !s.anyone {
			e.Comment = "no vantage of this draft stands where these rules admit (" + e.Purpose + "): add one that does, or a runner there"
		}
		if len(e.Expect) > 0 {
			d.Expectations = append(d.Expectations, e)
		}
		if !s.byGroup || t.Public == "" || t.Private == "" || s.fam == 6 {
			continue
		}
		// A group reference admits the group's members at the private
		// address only: their packets to the public address come from
		// their public address, and must be filtered unless a CIDR rule
		// admits that.
		pub := Expectation{ID: id + "-public", Target: t.Name, Transport: k.transport, Lo: k.lo, Hi: k.hi, Probe: kind, TLS: tls, At: "public",
			Family: ipv4Only(t), Purpose: e.Purpose + " (at the public address the group reference does not apply)", Expect: map[string]string{}}
		for _, v := range d.Vantages {
			if v.Network != "vpc" || v.Host == t.Name {
				continue
			}
			if len(admits(rules, k, 4, originAt(v, 4, false))) > 0 {
				pub.Expect[v.Name] = open
			} else {
				pub.Expect[v.Name] = shut
			}
		}
		if len(pub.Expect) > 0 {
			d.Expectations = append(d.Expectations, pub)
		}
	}
}

// nothingOpen marks, per target, the vantages that no expectation expects
// an answer from: their liveness cannot be shown from there. Liveness is
// per family, so a vantage that some port answers over IPv4 and none over
// IPv6 is marked for IPv6 alone ("internet/ipv6").
func (d *Draft) nothingOpen() {
	for i := range d.Targets {
		t := &d.Targets[i]
		fams := families(*t)
		for _, v := range d.Vantages {
			var shut []int // the families v asks something of t over, and nothing open
			for _, fam := range fams {
				seen, open := false, false
				for _, e := range d.Expectations {
					w, ok := e.Expect[v.Name]
					if e.Target != t.Name || !ok || (e.Family != "" && e.Family != familyWord(fam)) || !reaches(*t, v, fam) {
						continue
					}
					seen = true
					open = open || w == "open" || w == "reachable"
				}
				if seen && !open {
					shut = append(shut, fam)
				}
			}
			switch {
			case len(shut) == 0:
			case len(fams) == 1 || len(shut) == len(fams):
				t.NothingOpenFrom = append(t.NothingOpenFrom, v.Name)
			default:
				t.NothingOpenFrom = append(t.NothingOpenFrom, v.Name+"/"+familyWord(shut[0]))
			}
		}
	}
}
