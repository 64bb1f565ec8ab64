// Package secgroups reads AWS security groups and instances from the JSON
// the AWS CLI prints (`aws ec2 describe-security-groups`, `aws ec2
// describe-instances`) and answers one question of them: does a group's
// ingress admit a packet from this source to this port? It calls no AWS API
// and needs no credentials: the user runs the CLI and hands over its output.
//
// What it models, as AWS evaluates it: a rule whose source is a CIDR
// matches the packet's source address as AWS sees it; a rule whose source is
// another group matches the private addresses of that group's members only
// (traffic to a public address leaves through the internet gateway and
// arrives from the sender's public address). A prefix list's contents are not
// in the CLI's output, so a prefix-list source is kept and named but matches
// no address. Egress rules are read and kept; nothing here judges them.
package secgroups

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
)

// Group is one security group.
type Group struct {
	ID          string
	Name        string
	Description string
	VPC         string
	// Ingress and Egress are the group's rules, one per permission and
	// source, in the order the CLI printed them.
	Ingress []Rule
	Egress  []Rule
}

// Label is the group as a person names it: "sg-0460… (irisx-prod-sg-freeswitch)".
func (g *Group) Label() string {
	if g.Name == "" {
		return g.ID
	}
	return g.ID + " (" + g.Name + ")"
}

// Protocol is a rule's protocol, normalised.
type Protocol string

// The protocols a rule can name. Any other IANA number is kept as its
// decimal ("47"): AWS then allows every port of it.
const (
	TCP    Protocol = "tcp"
	UDP    Protocol = "udp"
	ICMP   Protocol = "icmp"
	ICMPv6 Protocol = "icmpv6"
	All    Protocol = "all" // IpProtocol "-1"
)

// SourceKind says what a rule's source is.
type SourceKind string

// The kinds of source.
const (
	SourceCIDR       SourceKind = "cidr"        // IpRanges or Ipv6Ranges
	SourceGroup      SourceKind = "group"       // UserIdGroupPairs
	SourcePrefixList SourceKind = "prefix-list" // PrefixListIds
)

// Rule is one permission of a group with one source: AWS's own unit of a
// "security group rule".
type Rule struct {
	// Group is the id of the group the rule belongs to.
	Group string
	// Perm is the index of the permission in IpPermissions (or
	// IpPermissionsEgress), for messages that point back into the JSON.
	Perm     int
	Protocol Protocol
	// FromPort and ToPort bound the ports for tcp and udp; for icmp and
	// icmpv6 they are the type and code (-1: all). For all and other
	// protocols they are 0 and mean nothing.
	FromPort, ToPort int
	Source           SourceKind
	// Prefix is the source CIDR when Source is SourceCIDR.
	Prefix netip.Prefix
	// RefGroup is the referenced group's id when Source is SourceGroup.
	RefGroup string
	// PrefixList is the prefix list's id when Source is SourcePrefixList.
	PrefixList  string
	Description string
}

// Ports reports the rule's port range for transport ("tcp" or "udp"), and
// whether the rule covers that transport at all. A rule of every protocol
// covers every port of both.
func (r *Rule) Ports(transport string) (lo, hi int, ok bool) {
	switch {
	case r.Protocol == All:
		return 0, 65535, true
	case string(r.Protocol) == transport && (r.Protocol == TCP || r.Protocol == UDP):
		return r.FromPort, r.ToPort, true
	}
	return 0, 0, false
}

// PortLabel is the rule's ports as the AWS console writes them: "22",
// "16384-32768", "all", or for ICMP "type 8 code -1".
func (r *Rule) PortLabel() string {
	switch r.Protocol {
	case TCP, UDP:
		if r.FromPort == r.ToPort {
			return strconv.Itoa(r.FromPort)
		}
		if r.FromPort == 0 && r.ToPort == 65535 {
			return "all"
		}
		return fmt.Sprintf("%d-%d", r.FromPort, r.ToPort)
	case ICMP, ICMPv6:
		if r.FromPort == -1 {
			return "all"
		}
		return fmt.Sprintf("type %d code %d", r.FromPort, r.ToPort)
	}
	return "all"
}

// SourceLabel is the rule's source: a CIDR, a group id, a prefix list id.
func (r *Rule) SourceLabel() string {
	switch r.Source {
	case SourceCIDR:
		return r.Prefix.String()
	case SourceGroup:
		return r.RefGroup
	}
	return r.PrefixList
}

// String names the rule: "sg-0460ce5af3265896a tcp 8021 from 0.0.0.0/0".
func (r *Rule) String() string {
	return fmt.Sprintf("%s %s %s from %s", r.Group, r.Protocol, r.PortLabel(), r.SourceLabel())
}

// Source is where a packet comes from, as AWS sees it at the target's
// interface.
type Source struct {
	// Addr is the packet's source address.
	Addr netip.Addr
	// Groups are the sender's groups when the packet arrives at a private
	// address from inside the VPC (so group references can match it);
	// empty for traffic from outside or to a public address.
	Groups []string
}

// Admits reports whether r lets a packet from src in on transport/port.
func (r *Rule) Admits(transport string, port int, src Source) bool {
	lo, hi, ok := r.Ports(transport)
	if !ok || port < lo || port > hi {
		return false
	}
	return r.MatchesSource(src)
}

// MatchesSource reports whether the packet's source matches the rule's,
// leaving out ports.
func (r *Rule) MatchesSource(src Source) bool {
	switch r.Source {
	case SourceCIDR:
		return src.Addr.IsValid() && r.Prefix.Contains(src.Addr.Unmap())
	case SourceGroup:
		return slices.Contains(src.Groups, r.RefGroup)
	}
	return false
}

// Set is what a describe-security-groups output holds, by id.
type Set struct {
	Groups []Group
}

// Group returns the group with that id, or nil.
func (s *Set) Group(id string) *Group {
	for i := range s.Groups {
		if s.Groups[i].ID == id {
			return &s.Groups[i]
		}
	}
	return nil
}

// Admitting returns the ingress rules of the named groups that admit the
// packet; an instance with several groups is open where any one is.
func (s *Set) Admitting(groups []string, transport string, port int, src Source) []*Rule {
	var out []*Rule
	for _, id := range groups {
		g := s.Group(id)
		if g == nil {
			continue
		}
		for i := range g.Ingress {
			if g.Ingress[i].Admits(transport, port, src) {
				out = append(out, &g.Ingress[i])
			}
		}
	}
	return out
}
