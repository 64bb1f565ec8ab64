package drift

import (
	"fmt"
	"net/netip"
	"strings"

	"probe/internal/config"
	"probe/internal/secgroups"
)

// origin is where a vantage's packets come from, as the target's group sees
// them.
type origin struct {
	// catchAll: any address no other vantage claims; only a rule open to
	// the whole family (0.0.0.0/0, ::/0) surely admits it.
	catchAll bool
	// prefixes: the vantage's own CIDRs; a rule admits it when it holds
	// them whole.
	prefixes []netip.Prefix
	// addr, when valid, is the one source address (a runner seen by STUN,
	// or a server in the VPC), and groups its groups when it reaches the
	// target's private address (so a group reference matches it).
	addr   netip.Addr
	groups []string
}

func (o origin) String() string {
	switch {
	case o.addr.IsValid() && len(o.groups) > 0:
		return fmt.Sprintf("%s (in %s)", o.addr, strings.Join(o.groups, ", "))
	case o.addr.IsValid():
		return o.addr.String()
	case o.catchAll:
		return "any address (0.0.0.0/0)"
	}
	var s []string
	for _, p := range o.prefixes {
		s = append(s, p.String())
	}
	return strings.Join(s, ", ")
}

// admittedBy reports whether rule r lets o's packets in (ports aside), for
// a target reached over IPv4 (family 4) or IPv6 (6).
func (o origin) admittedBy(r *secgroups.Rule, family int) bool {
	switch r.Source {
	case secgroups.SourceGroup:
		return r.MatchesSource(secgroups.Source{Addr: o.addr, Groups: o.groups})
	case secgroups.SourceCIDR:
	default:
		return false
	}
	if (family == 6) != r.Prefix.Addr().Is6() {
		return false
	}
	switch {
	case o.addr.IsValid():
		return r.Prefix.Contains(o.addr.Unmap())
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

// address is one of a target's addresses: its role and family.
type address struct {
	at     string // config.AtPublic, AtPrivate, or "" for a target with one address
	family string // config.FamilyIPv4 or FamilyIPv6
}

func (a address) fam() int {
	if a.family == config.FamilyIPv6 {
		return 6
	}
	return 4
}

// addresses are the target's addresses that its groups guard, by role and
// family.
func (c *comparer) addressesOf(t *config.Target) []address {
	var out []address
	for _, fam := range []string{config.FamilyIPv4, config.FamilyIPv6} {
		roles := []string{config.AtPublic, config.AtPrivate}
		if t.Address != "" || t.Public == "" && t.Private == "" {
			roles = []string{""}
		}
		for _, at := range roles {
			if t.AddrOver(at, fam) != "" {
				out = append(out, address{at, fam})
			}
		}
	}
	return out
}

// reaches reports whether vantage v can reach a target's address in role
// at: the internet reaches public addresses only.
func reaches(v *config.Vantage, at string) bool {
	return at != config.AtPrivate || v.Network == config.NetworkVPC
}

// at is the address of t that vantage v probes for e over each family it
// is probed over; none when v cannot probe it.
func (c *comparer) at(e *config.Expectation, v *config.Vantage) []address {
	if v == nil {
		return nil
	}
	fams, err := c.in.File.Families(e, v.Name)
	if err != nil {
		return nil
	}
	var out []address
	for _, fam := range fams {
		if _, at, err := c.in.File.Reach(e, v.Name, fam); err == nil {
			out = append(out, address{at, fam})
		}
	}
	return out
}

// origin is where vantage v's packets to t's address a come from: a runner
// inside the VPC reaches a private address from its host's private
// address, in its host's groups (so group references match it), and over
// IPv6, which AWS never translates, any address of the target from its
// host's IPv6 address, in its groups; anything else arrives from a public
// address.
func (c *comparer) origin(v *config.Vantage, t *config.Target, a address) origin {
	if v.CatchAll {
		return origin{catchAll: true}
	}
	if h := c.in.File.Target(v.Host); h != nil && v.Network == config.NetworkVPC {
		switch {
		case a.family == config.FamilyIPv6:
			o := origin{groups: h.SecurityGroups}
			if ip, err := netip.ParseAddr(h.AddrOver(config.AtPublic, config.FamilyIPv6)); err == nil {
				o.addr = ip
			}
			return o
		case a.at == config.AtPrivate:
			o := origin{groups: h.SecurityGroups}
			if ip, err := netip.ParseAddr(h.Private); err == nil {
				o.addr = ip.Unmap()
			}
			return o
		}
	}
	return origin{prefixes: v.Prefixes}
}

// observedOrigin is origin with the address STUN saw for the run, when it
// saw one of the family probed: the most exact account of the source.
func (c *comparer) observedOrigin(v *config.Vantage, t *config.Target, a address, public string) origin {
	o := c.origin(v, t, a)
	if len(o.groups) > 0 {
		return o // inside the VPC: STUN saw the public address, not this source
	}
	if ip, err := netip.ParseAddr(public); err == nil && family(ip.Unmap()) == a.fam() {
		return origin{addr: ip.Unmap()}
	}
	return o
}
