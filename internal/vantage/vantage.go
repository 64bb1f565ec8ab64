// Package vantage establishes where a run stands. It asks STUN servers
// (RFC 8489 Binding requests, each on its own connected UDP socket) for the
// prober's public address, and holds that address against the vantages'
// source CIDRs: a run that says --from admin but is seen from elsewhere must
// not report admin results.
//
// A STUN answer is also evidence that the prober's own network works, which
// the judge needs before any verdict may rest on silence.
//
// It sends one Binding request per server, retransmitted on silence within
// the deadline (RFC 8489 §6.2.1), and nothing else; it never authenticates.
package vantage

import (
	"fmt"
	"net/netip"
	"strings"
)

// Vantage is a place a run is made from.
type Vantage struct {
	// Name is the vantage's name in the config ("admin").
	Name string
	// CIDRs are the source addresses the vantage stands for.
	CIDRs []netip.Prefix
	// CatchAll marks the vantage that stands for any address no other
	// vantage's CIDRs hold (the internet).
	CatchAll bool
}

// Establishment says how the run's vantage was established, for the report.
type Establishment string

const (
	// StunConfirmed: a STUN answer put the prober inside the declared
	// vantage (--from NAME).
	StunConfirmed Establishment = "stun-confirmed"
	// StunAuto: --from auto picked the vantage that holds the STUN answer.
	StunAuto Establishment = "stun-auto"
	// TrustedUnconfirmed: no STUN answer came, and the user said to trust
	// the declared vantage; the report records that it was taken on trust.
	TrustedUnconfirmed Establishment = "trusted-unconfirmed"
	// Unconfirmed: no STUN answer came; expectations that differ between
	// vantages cannot be judged.
	Unconfirmed Establishment = "unconfirmed"
)

// Confirmed reports whether a STUN answer backs the vantage.
func (e Establishment) Confirmed() bool { return e == StunConfirmed || e == StunAuto }

// Match returns the name of the vantage that holds addr: the one with the
// most specific prefix containing it (the first in order among equals), or
// else the catch-all vantage; "" when neither exists or addr is invalid.
func Match(addr netip.Addr, vs []Vantage) string {
	if !addr.IsValid() {
		return ""
	}
	if i, _ := best(addr.Unmap(), vs); i >= 0 {
		return vs[i].Name
	}
	for _, v := range vs {
		if v.CatchAll {
			return v.Name
		}
	}
	return ""
}

// best returns the index of the vantage with the most specific prefix
// holding addr and that prefix's length, or -1.
func best(addr netip.Addr, vs []Vantage) (int, int) {
	idx, bits := -1, -1
	for i, v := range vs {
		if b := longest(addr, v); b > bits {
			idx, bits = i, b
		}
	}
	return idx, bits
}

// longest is the length of v's most specific prefix holding addr, or -1.
func longest(addr netip.Addr, v Vantage) int {
	bits := -1
	for _, p := range v.CIDRs {
		p = p.Masked()
		if p.Addr().Is4In6() {
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		if p.IsValid() && p.Contains(addr) && p.Bits() > bits {
			bits = p.Bits()
		}
	}
	return bits
}

// Check returns nil when addr, the prober's public address, belongs to the
// declared vantage, and otherwise an error that shows the address, the
// vantage's CIDRs and where the address does belong. An address inside
// another vantage's CIDRs is not accepted for the catch-all vantage, and a
// vantage that holds the address as specifically as another (an overlap in
// the config) is accepted.
func Check(declared string, addr netip.Addr, vs []Vantage) error {
	var d *Vantage
	var names []string
	for i := range vs {
		names = append(names, vs[i].Name)
		if vs[i].Name == declared {
			d = &vs[i]
		}
	}
	if d == nil {
		return fmt.Errorf("no vantage is named %q (declared: %s)", declared, strings.Join(names, ", "))
	}
	if !addr.IsValid() {
		return fmt.Errorf("the prober's public address is unknown, so vantage %q cannot be checked", declared)
	}
	addr = addr.Unmap()
	i, bits := best(addr, vs)
	if i >= 0 && longest(addr, *d) == bits {
		return nil
	}
	if i < 0 && d.CatchAll {
		return nil
	}
	where := "in no vantage's CIDRs"
	if m := Match(addr, vs); m != "" {
		where = fmt.Sprintf("which is vantage %q", m)
		if i >= 0 {
			where = fmt.Sprintf("which vantage %q holds (%s)", m, cidrs(vs[i]))
		}
	}
	if d.CatchAll {
		return fmt.Errorf("the prober is seen as %s, %s; vantage %q stands only for addresses no other vantage holds", addr, where, declared)
	}
	return fmt.Errorf("the prober is seen as %s, outside vantage %q's CIDRs (%s), %s", addr, declared, cidrs(*d), where)
}

func cidrs(v Vantage) string {
	if len(v.CIDRs) == 0 {
		return "none"
	}
	s := make([]string, len(v.CIDRs))
	for i, p := range v.CIDRs {
		s[i] = p.String()
	}
	return strings.Join(s, ", ")
}
