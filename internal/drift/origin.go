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

// addressRoles are the roles of a target's addresses that its groups
// guard: "" for a target with one address.
func (c *comparer) addressRoles(t *config.Target) []string {
	if t.Address != "" {
		return []string{""}
	}
	var roles []string
	if t.Public != "" {
		roles = append(roles, config.AtPublic)
	}
	if t.Private != "" {
		roles = append(roles, config.AtPrivate)
	}
	return roles
}

// reaches reports whether vantage v can reach a target's address in role
// at: the internet reaches public addresses only.
func reaches(v *config.Vantage, at string) bool {
	return at != config.AtPrivate || v.Network == config.NetworkVPC
}

// at is the role of t's address that vantage v probes for e, and false when
// v cannot probe it.
func (c *comparer) at(e *config.Expectation, v *config.Vantage) (string, bool) {
	if v == nil {
		return "", false
	}
	_, at, err := c.in.File.Reach(e, v.Name)
	return at, err == nil
}

// targetAddr is t's address in role at.
func targetAddr(t *config.Target, at string) string {
	return t.Addr(at)
}

// origin is where vantage v's packets to t's address in role at come from:
// a runner inside the VPC reaches a private address from its host's private
// address, in its host's groups (so group references match it); anything
// else arrives from a public address.
func (c *comparer) origin(v *config.Vantage, t *config.Target, at string) origin {
	if v.CatchAll {
		return origin{catchAll: true}
	}
	if v.Network == config.NetworkVPC && at == config.AtPrivate {
		if h := c.in.File.Target(v.Host); h != nil {
			o := origin{groups: h.SecurityGroups}
			if a, err := netip.ParseAddr(h.Private); err == nil {
				o.addr = a.Unmap()
			}
			return o
		}
	}
	return origin{prefixes: v.Prefixes}
}

// observedOrigin is origin with the address STUN saw for the run, when it
// saw one: the most exact account of the source.
func (c *comparer) observedOrigin(v *config.Vantage, t *config.Target, at, public string) origin {
	o := c.origin(v, t, at)
	if v.Network == config.NetworkVPC && at == config.AtPrivate {
		return o // inside the VPC, at a private address: STUN saw the public one
	}
	if a, err := netip.ParseAddr(public); err == nil {
		return origin{addr: a.Unmap()}
	}
	return o
}
