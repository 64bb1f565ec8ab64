// Package drift holds three accounts of one deployment's exposure against
// each other: the security groups as AWS holds them (the JSON of `aws ec2
// describe-security-groups`), the expectation table, and what runs observed
// (their reports). It finds where they disagree: a rule no expectation
// declares, an expectation the rules cannot satisfy, an observation the rules
// do not explain, and an allowlisted address that is no longer where the
// runner stands. It sends nothing and judges no probe: it compares.
//
// A target is tied to its groups by its security_groups key. A target
// without one is not held against the groups (a managed database whose group
// is not in the JSON).
package drift

import (
	"fmt"
	"slices"
	"strings"

	"probe/internal/config"
	"probe/internal/report"
	"probe/internal/secgroups"
)

// Kind names what disagrees.
type Kind string

// The kinds of finding.
const (
	// Undeclared: a rule lets traffic in that no expectation declares.
	Undeclared Kind = "undeclared-rule"
	// Contradicted: a rule lets a vantage in where the file expects it
	// blocked.
	Contradicted Kind = "rule-contradicts-file"
	// NoRule: the file expects a vantage to get through, and no rule lets
	// it: the expectation will fail.
	NoRule Kind = "no-rule-for-expectation"
	// UnknownGroup: a target names a group the JSON does not hold.
	UnknownGroup Kind = "unknown-group"
	// DroppedDespiteRule: a rule lets the traffic in, and it was filtered:
	// another layer drops it (a network ACL, a host firewall), or the
	// group is not on the instance.
	DroppedDespiteRule Kind = "filtered-despite-rule"
	// NothingListens: a rule lets the traffic in and the file expects an
	// answer, but the host refused: the service is down.
	NothingListens Kind = "allowed-nothing-listens"
	// PassedWithoutRule: traffic reached the host that no rule of its
	// groups admits: another layer is open (a second group, a NACL), or
	// the JSON is out of date.
	PassedWithoutRule Kind = "passed-without-rule"
	// AddressMoved: STUN saw a vantage at an address the groups do not
	// allowlist for it (the office IP changed).
	AddressMoved Kind = "allowlisted-address-moved"
	// NotChecked: a rule of a protocol probe does not send (ICMP, GRE).
	NotChecked Kind = "rule-not-checked"
	// GroupNotInFile: a group of the JSON that no target of the file
	// carries (security_groups): its rules are not compared. Only noted:
	// describe-security-groups lists every group of the region.
	GroupNotInFile Kind = "group-not-in-file"
)

// Finding is one disagreement.
type Finding struct {
	Kind Kind `json:"kind"`
	// Matters is false for what is only noted (a rule probe cannot check).
	Matters bool   `json:"matters"`
	Target  string `json:"target,omitempty"`
	Vantage string `json:"vantage,omitempty"`
	// At is the target's address the finding is about (public, private),
	// when the file gives it more than one.
	At string `json:"at,omitempty"`
	// Family is the address family (ipv4, ipv6), for a target with an
	// IPv6 address.
	Family string `json:"family,omitempty"`
	// Transport and Ports say which ports ("8021", "16384-32768").
	Transport string `json:"transport,omitempty"`
	Ports     string `json:"ports,omitempty"`
	// Rule names the security group rule, when one is involved.
	Rule string `json:"rule,omitempty"`
	// RuleDescription is the rule's own Description in AWS.
	RuleDescription string `json:"rule_description,omitempty"`
	// Expectation is the id of the expectation involved.
	Expectation string `json:"expectation,omitempty"`
	// Report is the report's run id, for observation findings.
	Report string `json:"report,omitempty"`
	// Message says what disagrees and what it means, as a sentence.
	Message string `json:"message"`
}

// Result is a whole comparison.
type Result struct {
	// Groups, Config and Reports say what was compared.
	Groups   string    `json:"groups"`
	Config   string    `json:"config"`
	Reports  []string  `json:"reports,omitempty"`
	Findings []Finding `json:"findings"`
	// Matters counts the findings that matter.
	Matters int `json:"matters"`
	// Compared counts the groups of the JSON that a target of the file
	// carries: with none, nothing was compared, and no finding is no
	// agreement.
	Compared int `json:"groups_compared"`
}

// Input is what Compare holds against each other.
type Input struct {
	GroupsPath string
	Groups     *secgroups.Set
	File       *config.File
	// Reports and their paths, in the same order.
	Reports     []*report.Report
	ReportPaths []string
}

// Compare finds every disagreement between the groups, the file and the
// reports.
func Compare(in Input) *Result {
	c := &comparer{in: in}
	c.groups()
	c.rules()
	c.expectations()
	for i, rep := range in.Reports {
		c.observations(rep, in.ReportPaths[i])
		c.addresses(rep, in.ReportPaths[i])
	}
	res := &Result{Groups: in.GroupsPath, Config: in.File.Path, Reports: in.ReportPaths, Findings: c.found, Compared: c.compared}
	if res.Findings == nil {
		res.Findings = []Finding{}
	}
	for _, f := range res.Findings {
		if f.Matters {
			res.Matters++
		}
	}
	return res
}

type comparer struct {
	in       Input
	found    []Finding
	seen     map[string]bool
	compared int // groups a target carries
}

func (c *comparer) add(f Finding) {
	key := fmt.Sprint(f.Kind, f.Target, f.Vantage, f.At, f.Family, f.Transport, f.Ports, f.Rule, f.Expectation, f.Report)
	if c.seen == nil {
		c.seen = map[string]bool{}
	}
	if c.seen[key] {
		return
	}
	c.seen[key] = true
	c.found = append(c.found, f)
}

// groups flags a target's group the JSON lacks (nothing about it can be
// compared), and notes each group of the JSON that no target carries.
func (c *comparer) groups() {
	for gi := range c.in.Groups.Groups {
		g := &c.in.Groups.Groups[gi]
		if len(c.targetsOf(g.ID)) > 0 {
			c.compared++
			continue
		}
		c.add(Finding{Kind: GroupNotInFile, Rule: g.ID,
			Message: fmt.Sprintf("%s is carried by no target of the file (security_groups), so its %d inbound rules are not compared", g.Label(), len(g.Ingress))})
	}
	for _, t := range c.in.File.Targets {
		for _, id := range t.SecurityGroups {
			if c.in.Groups.Group(id) == nil {
				c.add(Finding{Kind: UnknownGroup, Matters: true, Target: t.Name,
					Message: fmt.Sprintf("target %s names security group %s, which %s does not hold: export every group of the instance (aws ec2 describe-security-groups --group-ids ...)", t.Name, id, c.in.GroupsPath)})
			}
		}
	}
}

// targetsOf returns the targets that carry group id.
func (c *comparer) targetsOf(id string) []*config.Target {
	var out []*config.Target
	for i := range c.in.File.Targets {
		if slices.Contains(c.in.File.Targets[i].SecurityGroups, id) {
			out = append(out, &c.in.File.Targets[i])
		}
	}
	return out
}

// expectationsOf returns the file's expectations of target on transport.
func (c *comparer) expectationsOf(target, transport string) []*config.Expectation {
	var out []*config.Expectation
	for i := range c.in.File.Expectations {
		e := &c.in.File.Expectations[i]
		if e.Target == target && config.L4(e.Transport) == transport {
			out = append(out, e)
		}
	}
	return out
}

// portsOf is the set of ports an expectation covers.
func portsOf(e *config.Expectation) ports {
	if e.IsRange() {
		p := ports{}.add(e.RangeLo, e.RangeHi)
		if e.ExceptDeclared {
			p = p.minus(listOf(e.Excluded))
		}
		return p
	}
	return listOf(e.PortList)
}

// passes reports whether word says the traffic gets through the firewall,
// and blocks whether it says the traffic is dropped; not_open says neither.
func passes(word string) bool {
	w := config.Word(word)
	return w == config.Open || w == config.Closed || w == config.Reachable
}

func blocks(word string) bool {
	w := config.Word(word)
	return w == config.Filtered || w == config.Unreachable
}

// rules holds each ingress rule against the expectations of the targets
// that carry its group.
func (c *comparer) rules() {
	for gi := range c.in.Groups.Groups {
		g := &c.in.Groups.Groups[gi]
		targets := c.targetsOf(g.ID)
		for ri := range g.Ingress {
			r := &g.Ingress[ri]
			if r.Protocol != secgroups.TCP && r.Protocol != secgroups.UDP && r.Protocol != secgroups.All {
				for _, t := range targets {
					c.add(Finding{Kind: NotChecked, Target: t.Name, Rule: r.String(), RuleDescription: r.Description,
						Message: fmt.Sprintf("%s lets %s in; probe sends no %s, so this rule is not checked", r.String(), r.Protocol, r.Protocol)})
				}
				continue
			}
			for _, t := range targets {
				for _, tr := range []string{"tcp", "udp"} {
					lo, hi, ok := r.Ports(tr)
					if !ok {
						continue
					}
					c.rule(r, t, tr, ports{}.add(max(lo, 1), hi))
				}
			}
		}
	}
}

// rule holds one rule, for one target and transport, against the file.
func (c *comparer) rule(r *secgroups.Rule, t *config.Target, transport string, rp ports) {
	f := c.in.File
	// admitted: the vantages the rule lets in, each at the roles of t's
	// addresses it reaches.
	admitted := map[string][]address{}
	var names []string
	for _, a := range c.addressesOf(t) {
		for i := range f.Vantages {
			v := &f.Vantages[i]
			if v.Host == t.Name || !reaches(v, a.at) || !f.Sends(v, a.family) || !c.origin(v, t, a).admittedBy(r, a.fam()) {
				continue
			}
			if len(admitted[v.Name]) == 0 {
				names = append(names, v.Name)
			}
			admitted[v.Name] = append(admitted[v.Name], a)
		}
	}
	// declared: the ports an expectation states a passing or a blocking
	// word for, from a vantage at an address the rule admits it to (any
	// vantage, when the rule admits none of them).
	var declared ports
	for _, e := range c.expectationsOf(t.Name, transport) {
		ep := portsOf(e).intersect(rp)
		if len(ep) == 0 {
			continue
		}
		for _, vname := range sortedKeys(e.Expect) {
			word := e.Expect[vname]
			for _, a := range c.at(e, f.Vantage(vname)) {
				if a.at == config.AtLoopback {
					continue
				}
				in := slices.Contains(admitted[vname], a)
				if (passes(word) || blocks(word)) && (len(admitted) == 0 || in) {
					for _, s := range ep {
						declared = declared.add(s.lo, s.hi)
					}
				}
				if in && blocks(word) {
					c.add(Finding{Kind: Contradicted, Matters: true, Target: t.Name, Vantage: vname, At: a.at, Family: c.familyOf(t, a),
						Transport: transport, Ports: ep.String(), Rule: r.String(), RuleDescription: r.Description, Expectation: e.ID,
						Message: fmt.Sprintf("%s lets %s in to %s on %s/%s, where %s expects it %s: the rule exposes what the file says is shut", r.String(), vname, where(t, a), ep.String(), transport, e.ID, word)})
				}
			}
		}
	}
	if rest := rp.minus(declared); len(rest) > 0 {
		who := "a source no vantage of the file stands at"
		if len(names) > 0 {
			who = strings.Join(names, ", ")
		}
		c.add(Finding{Kind: Undeclared, Matters: true, Target: t.Name, Transport: transport, Ports: rest.String(),
			Rule: r.String(), RuleDescription: r.Description,
			Message: fmt.Sprintf("%s lets %s in to %s on %s/%s, and no expectation declares it: an undeclared exposure (add an expectation, or remove the rule)", r.String(), who, t.Name, rest.String(), transport)})
	}
}

// where names a target's address in a message: "freeswitch",
// "freeswitch's private address" or "freeswitch's public address over
// IPv6".
func where(t *config.Target, a address) string {
	s := t.Name
	if a.at != "" {
		s += "'s " + a.at + " address"
	}
	if a.family == config.FamilyIPv6 {
		s += " over IPv6"
	}
	return s
}

// familyOf is a finding's family: set for a target with an IPv6 address.
func (c *comparer) familyOf(t *config.Target, a address) string {
	if t.HasIPv6() {
		return a.family
	}
	return ""
}

// expectations holds each expectation that wants a vantage through against
// the rules of its target's groups.
func (c *comparer) expectations() {
	f := c.in.File
	for i := range f.Expectations {
		e := &f.Expectations[i]
		t := f.Target(e.Target)
		if t == nil || len(t.SecurityGroups) == 0 || !c.allKnown(t) {
			continue
		}
		transport := config.L4(e.Transport)
		for _, vname := range sortedKeys(e.Expect) {
			word := e.Expect[vname]
			if !passes(word) {
				continue
			}
			v := f.Vantage(vname)
			for _, a := range c.at(e, v) {
				if a.at == config.AtLoopback {
					continue
				}
				o := c.origin(v, t, a)
				var allowed ports
				for _, g := range t.SecurityGroups {
					for ri := range c.in.Groups.Group(g).Ingress {
						r := &c.in.Groups.Group(g).Ingress[ri]
						if lo, hi, ok := r.Ports(transport); ok && o.admittedBy(r, a.fam()) {
							allowed = allowed.add(lo, hi)
						}
					}
				}
				if rest := portsOf(e).minus(allowed); len(rest) > 0 {
					c.add(Finding{Kind: NoRule, Matters: true, Target: t.Name, Vantage: vname, At: a.at, Family: c.familyOf(t, a), Transport: transport,
						Ports: rest.String(), Expectation: e.ID,
						Message: fmt.Sprintf("%s expects %s %s on %s/%s at %s, but no rule of %s lets %s in: it will fail", e.ID, vname, word, rest.String(), transport, where(t, a), strings.Join(t.SecurityGroups, ", "), o)})
				}
			}
		}
	}
}

func (c *comparer) allKnown(t *config.Target) bool {
	for _, id := range t.SecurityGroups {
		if c.in.Groups.Group(id) == nil {
			return false
		}
	}
	return true
}

func sortedKeys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
