package config

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// The address families an expectation is probed over (its family key).
const (
	FamilyIPv4 = "ipv4"
	FamilyIPv6 = "ipv6"
	// FamilyBoth, the default, probes every family the target has an
	// address of and the vantage can send from: a port one family keeps
	// shut and the other opens (a ::/0 rule beside a closed IPv4) shows.
	FamilyBoth = "both"
)

// AddressFamily is the family of address s: FamilyIPv6 for an IPv6
// address (not an IPv4-mapped one), FamilyIPv4 for an IPv4 one, and ""
// when s is not an address (a name).
func AddressFamily(s string) string {
	a, err := netip.ParseAddr(s)
	switch {
	case err != nil:
		return ""
	case a.Is6() && !a.Is4In6():
		return FamilyIPv6
	}
	return FamilyIPv4
}

// is6 reports whether s is an IPv6 address.
func is6(s string) bool { return AddressFamily(s) == FamilyIPv6 }

// isName reports whether s is a name rather than an IP address.
func isName(s string) bool {
	_, err := netip.ParseAddr(s)
	return s != "" && err != nil
}

// HasIPv6 reports whether the target has an IPv6 address: its ipv6 key (an
// address, or a name whose AAAA records are dialled), or an IPv6 address
// given as its address, public or private. A public name alone is not
// known to have one: a row asks for its AAAA records by naming the family.
func (t *Target) HasIPv6() bool {
	return t.IPv6 != "" || is6(t.Address) || is6(t.Public) || is6(t.Private)
}

// AddrOver returns the target's address in role at over family: over IPv4
// the role's address (unless it is an IPv6 address); over IPv6 the ipv6
// key, which AWS gives an instance as one global address, reached from the
// internet and from inside the VPC alike, or an IPv6 address the role
// holds, or else the role's name, whose AAAA records are dialled (a row
// asks that only by naming the family: see Families); for loopback
// 127.0.0.1 or ::1. "" when there is none.
func (t *Target) AddrOver(at, family string) string {
	if at == AtLoopback {
		if family == FamilyIPv6 {
			return "::1"
		}
		return "127.0.0.1"
	}
	s := t.Addr(at)
	if family == FamilyIPv6 {
		switch {
		case is6(s):
			return s
		case at == AtPrivate:
			return "" // AWS's IPv6 addresses are global: there is no private one
		case t.IPv6 != "":
			return t.IPv6
		case isName(s):
			return s
		}
		return ""
	}
	if is6(s) {
		return ""
	}
	return s
}

// families of a vantage: the ones it can send from and be known by. A
// catch-all vantage (any address) sends from both; a runner on a host
// sends IPv6 when its host has an IPv6 address; any other is known by its
// cidrs, whose families it sends from.
func (f *File) vantageFamilies(v *Vantage) (v4, v6 bool) {
	if v.CatchAll {
		return true, true
	}
	if h := f.Target(v.Host); h != nil && v.Network == NetworkVPC {
		return h.AddrOver(AtPrivate, FamilyIPv4) != "" || h.AddrOver(AtPublic, FamilyIPv4) != "", h.HasIPv6()
	}
	for _, c := range v.CIDRs {
		if p, err := netip.ParsePrefix(c); err == nil {
			if p.Addr().Is6() && !p.Addr().Is4In6() {
				v6 = true
			} else {
				v4 = true
			}
		}
	}
	return v4, v6
}

// Sends reports whether vantage v sends from an address of family
// (FamilyIPv4 or FamilyIPv6) that the file knows it by.
func (f *File) Sends(v *Vantage, family string) bool {
	v4, v6 := f.vantageFamilies(v)
	if family == FamilyIPv6 {
		return v6
	}
	return v4
}

// Families returns the families e is probed over from vantage, in order
// (ipv4 first): the ones its family key names (default both) that the
// target has an address of at the role probed, and that the vantage sends
// from. A family the key names explicitly that cannot be probed is an
// error, and so is none at all.
func (f *File) Families(e *Expectation, vantage string) ([]string, error) {
	t, v := f.Target(e.Target), f.Vantage(vantage)
	if t == nil || v == nil {
		return nil, fmt.Errorf("no such target or vantage")
	}
	want := []string{FamilyIPv4, FamilyIPv6}
	switch e.Family {
	case "", FamilyBoth:
	case FamilyIPv4, FamilyIPv6:
		want = []string{e.Family}
	default:
		return nil, fmt.Errorf("%q is not an address family (want ipv4, ipv6 or both)", e.Family)
	}
	v4, v6 := f.vantageFamilies(v)
	var out []string
	var firstErr error
	for _, fam := range want {
		if fam == FamilyIPv6 && e.Family == "" && !t.HasIPv6() {
			continue // a name's AAAA records only where a row asks for them
		}
		_, _, err := f.Reach(e, vantage, fam)
		switch {
		case err == nil && fam == FamilyIPv6 && !v6:
			err = fmt.Errorf("vantage %q is known only by IPv4 (its cidrs, or its host's addresses), so what it sees over IPv6 is not stated; give it an IPv6 cidr, or family = \"ipv4\"", v.Name)
		case err == nil && fam == FamilyIPv4 && !v4:
			err = fmt.Errorf("vantage %q is known only by IPv6 (its cidrs, or its host's addresses); give it an IPv4 cidr, or family = \"ipv6\"", v.Name)
		}
		if err == nil {
			out = append(out, fam)
			continue
		}
		if e.Family != "" {
			return nil, err
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	if len(out) == 0 {
		return nil, firstErr
	}
	return out, nil
}

// Tagged reports whether results of e's target carry their family: every
// target with an IPv6 address, and every expectation that names one.
func (t *Target) Tagged(e *Expectation) bool { return t.HasIPv6() || e.Family != "" }

// NothingOpen reports whether the file declares that t has nothing open
// from vantage over family (FamilyIPv4, FamilyIPv6, or "" for a target of
// one family): nothing_open_from names the vantage (every family), or
// "VANTAGE/FAMILY" for one family alone (an instance whose groups open
// ports over IPv4 and none over IPv6: its IPv6 address answers nothing
// from there, while its IPv4 one shows it alive).
func (t *Target) NothingOpen(vantage, family string) bool {
	if family == "" {
		family = FamilyIPv4
	}
	return slices.Contains(t.NothingOpenFrom, vantage) || slices.Contains(t.NothingOpenFrom, vantage+"/"+family)
}

// nothingOpenEntry splits an entry of nothing_open_from into its vantage
// and its family ("" for every family).
func nothingOpenEntry(s string) (vantage, family string, err error) {
	vantage, family, one := strings.Cut(s, "/")
	if one && family != FamilyIPv4 && family != FamilyIPv6 {
		return vantage, family, fmt.Errorf("%q: after the vantage's name and \"/\" comes the family it holds for, ipv4 or ipv6 (as in \"internet/ipv6\")", s)
	}
	return vantage, family, nil
}
