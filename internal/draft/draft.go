// Package draft turns security groups (and, when given, the instances that
// carry them) into a draft expectation table: for every ingress rule, the
// targets it applies to and what each vantage should see. It is a start for
// a person to edit, not a judgement: it states what the rules say, and a
// rule that should not be there is stated too, so the first run shows it.
//
// The vantages it writes: "internet" (any address), one per narrow CIDR the
// rules name (an office's /32), and, with instances, one runner per
// instance inside the VPC. What each vantage should see follows AWS's
// evaluation (see package secgroups): a CIDR rule admits the vantages whose
// CIDRs it holds, 0.0.0.0/0 admits the internet, a group reference admits
// the runners on that group's instances at the target's private address,
// and their packets to its public address stay filtered.
package draft

import (
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strings"

	"probe/internal/secgroups"
)

// Options name what the rules cannot: the vantages a person knows by name.
type Options struct {
	// Names maps a CIDR ("73.6.78.238/32") to a vantage name ("admin").
	Names map[string]string
}

// Vantage is a vantage of the draft.
type Vantage struct {
	Name, Description string
	Network           string // "internet" or "vpc"
	CatchAll          bool
	CIDRs             []netip.Prefix
	// Host is the target a vpc vantage runs on.
	Host string

	// groups, private and ipv6 are the host's, for group references.
	groups  []string
	private netip.Addr
	public  netip.Addr
	ipv6    netip.Addr
}

// Target is a target of the draft.
type Target struct {
	Name, Description string
	// Public and Private are its IPv4 addresses; Placeholder marks a
	// Public made up because no instance was given.
	Public, Private string
	Placeholder     bool
	// IPv6 is its one global IPv6 address (AWS never translates it), or "".
	// A port a rule opens over one family is stated over both, so a hole
	// only IPv6 has shows as the difference.
	IPv6            string
	Groups          []string
	NothingOpenFrom []string
}

// Expectation is an expectation of the draft.
type Expectation struct {
	ID, Target string
	Transport  string // tcp or udp
	Lo, Hi     int
	Probe      string
	At         string // "", "public" or "private"
	Purpose    string
	Expect     map[string]string
	// Family is "" (every family the target has an address of and the
	// vantage sends from), "ipv4" or "ipv6".
	Family string
	// TLS asks the http probe for HTTPS.
	TLS bool
	// Comment goes above it in the file.
	Comment string
}

// Draft is the whole table.
type Draft struct {
	Vantages     []Vantage
	Targets      []Target
	Expectations []Expectation
	// Notes are rules the draft could not state (ICMP, IPv6 without an
	// address), written as comments.
	Notes []string
}

var nameClean = regexp.MustCompile(`[^a-z0-9_.-]+`)

// name makes s a valid config name.
func name(s string) string {
	s = nameClean.ReplaceAllString(strings.ToLower(s), "-")
	s = strings.Trim(s, "-_.")
	if s == "" {
		return "x"
	}
	return s
}

// Make builds the draft. instances may be nil: each group then stands for
// one target whose address the person fills in.
func Make(set *secgroups.Set, instances []secgroups.Instance, opt Options) *Draft {
	d := &Draft{}
	d.targets(set, instances)
	d.vantages(set, opt)
	d.expectations(set)
	d.nothingOpen()
	return d
}

func (d *Draft) targets(set *secgroups.Set, instances []secgroups.Instance) {
	used := map[string]bool{}
	unique := func(n string) string {
		base, i := n, 2
		for used[n] {
			n = fmt.Sprintf("%s-%d", base, i)
			i++
		}
		used[n] = true
		return n
	}
	if instances == nil {
		for _, g := range set.Groups {
			if len(g.Ingress) == 0 {
				continue
			}
			base := strings.TrimSuffix(g.Name, "-sg")
			if base == "" {
				base = g.ID
			}
			n := unique(name(base))
			d.Targets = append(d.Targets, Target{Name: n, Public: n + ".replace-me.invalid", Placeholder: true,
				Groups: []string{g.ID}, Description: "the instances of " + g.Label()})
		}
		return
	}
	for _, in := range instances {
		var groups []string
		for _, g := range in.Groups {
			if set.Group(g) != nil {
				groups = append(groups, g)
			}
		}
		if len(groups) == 0 || in.State == "terminated" {
			continue
		}
		base := in.Name
		if base == "" {
			base = in.ID
		}
		t := Target{Name: unique(name(base)), Groups: groups, Description: in.Label()}
		if len(in.Public) > 0 {
			t.Public = in.Public[0].String()
		}
		if len(in.Private) > 0 {
			t.Private = in.Private[0].String()
		}
		if t.Public == "" && t.Private == "" {
			if len(in.IPv6) > 0 {
				d.note(fmt.Sprintf("%s has IPv6 addresses and no IPv4 address: a target of IPv6 alone is not drafted; state it by hand", in.Label()))
			}
			continue
		}
		if len(in.IPv6) > 0 {
			t.IPv6 = in.IPv6[0].String()
			if len(in.IPv6) > 1 {
				d.note(fmt.Sprintf("%s has %d IPv6 addresses: only the first, %s, is stated (a target has one ipv6); the rules hold for the others alike", in.Label(), len(in.IPv6), t.IPv6))
			}
		}
		d.Targets = append(d.Targets, t)
	}
}

func (d *Draft) vantages(set *secgroups.Set, opt Options) {
	d.Vantages = append(d.Vantages, Vantage{Name: "internet", Network: "internet", CatchAll: true,
		Description: "any address no other vantage claims: a remote runner"})
	seen := map[netip.Prefix]bool{}
	used := map[string]bool{"internet": true}
	for _, g := range set.Groups {
		if !d.guards(g.ID) {
			continue
		}
		for _, r := range g.Ingress {
			if r.Source != secgroups.SourceCIDR || r.Prefix.Bits() == 0 || seen[r.Prefix] {
				continue
			}
			seen[r.Prefix] = true
			n := opt.Names[r.Prefix.String()]
			if n == "" {
				n = "net-" + name(strings.ReplaceAll(r.Prefix.String(), "/", "-"))
				if r.Prefix.Addr().Is6() {
					n = "net-" + name(strings.NewReplacer(":", "-", "/", "-").Replace(r.Prefix.String()))
				}
			}
			if used[n] {
				continue
			}
			used[n] = true
			desc := "the sources of " + r.Prefix.String()
			if r.Description != "" {
				desc = fmt.Sprintf("%s (%s: %q)", r.Prefix, r.Group, r.Description)
			}
			d.Vantages = append(d.Vantages, Vantage{Name: n, Network: "internet", CIDRs: []netip.Prefix{r.Prefix}, Description: desc})
		}
	}
	for _, t := range d.Targets {
		if t.Placeholder || t.Private == "" || used[t.Name] {
			continue
		}
		v := Vantage{Name: t.Name, Network: "vpc", Host: t.Name, groups: t.Groups,
			Description: "a runner on " + t.Description + ", inside its groups"}
		v.private, _ = netip.ParseAddr(t.Private)
		v.ipv6, _ = netip.ParseAddr(t.IPv6)
		if a, err := netip.ParseAddr(t.Public); err == nil {
			v.public = a
			v.CIDRs = []netip.Prefix{netip.PrefixFrom(a, a.BitLen())}
		}
		if len(v.CIDRs) == 0 {
			continue // a vpc vantage is known by the public address STUN sees
		}
		used[t.Name] = true
		d.Vantages = append(d.Vantages, v)
	}
}

// guards reports whether some target of the draft carries group id.
func (d *Draft) guards(id string) bool {
	for _, t := range d.Targets {
		if slices.Contains(t.Groups, id) {
			return true
		}
	}
	return false
}
