package secgroups

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strconv"
	"strings"
)

// MaxInputSize bounds what a reader takes in. A describe output of a
// thousand groups with dozens of rules each is a few megabytes.
const MaxInputSize = 32 << 20

// The JSON as the CLI prints it. Keys the CLI adds over time (SecurityGroupArn,
// Tags, ...) are not errors: only the ones read here matter.
type rawGroups struct {
	SecurityGroups *[]rawGroup `json:"SecurityGroups"`
}

type rawGroup struct {
	GroupID             string          `json:"GroupId"`
	GroupName           string          `json:"GroupName"`
	Description         string          `json:"Description"`
	VpcID               string          `json:"VpcId"`
	IpPermissions       []rawPermission `json:"IpPermissions"`
	IpPermissionsEgress []rawPermission `json:"IpPermissionsEgress"`
}

type rawPermission struct {
	IpProtocol *string `json:"IpProtocol"`
	FromPort   *int    `json:"FromPort"`
	ToPort     *int    `json:"ToPort"`
	IpRanges   []struct {
		CidrIP      string `json:"CidrIp"`
		Description string `json:"Description"`
	} `json:"IpRanges"`
	Ipv6Ranges []struct {
		CidrIPv6    string `json:"CidrIpv6"`
		Description string `json:"Description"`
	} `json:"Ipv6Ranges"`
	PrefixListIDs []struct {
		PrefixListID string `json:"PrefixListId"`
		Description  string `json:"Description"`
	} `json:"PrefixListIds"`
	UserIDGroupPairs []struct {
		GroupID     string `json:"GroupId"`
		Description string `json:"Description"`
	} `json:"UserIdGroupPairs"`
}

// ReadFile reads a describe-security-groups output from path.
func ReadFile(path string) (*Set, error) {
	data, err := readBounded(path)
	if err != nil {
		return nil, err
	}
	s, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

// readBounded reads at most MaxInputSize bytes of path, and says so when
// the file is larger.
func readBounded(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxInputSize+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(data) > MaxInputSize {
		return nil, fmt.Errorf("%s: larger than %d bytes; that is not one describe output", path, MaxInputSize)
	}
	return data, nil
}

// decodeTop decodes data as one JSON object, with an error a person can act
// on when it is not one.
func decodeTop(data []byte, v any, what string) error {
	trimmed := bytes.TrimSpace(data)
	switch {
	case len(trimmed) == 0:
		return fmt.Errorf("empty: want the JSON that `aws ec2 %s` prints", what)
	case trimmed[0] == '[':
		return fmt.Errorf("a JSON array, not the object `aws ec2 %s` prints (run it without --query, and with --output json)", what)
	case trimmed[0] != '{':
		return fmt.Errorf("not JSON: want the output of `aws ec2 %s --output json`", what)
	}
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return fmt.Errorf("not the shape `aws ec2 %s` prints: %s is a JSON %s, which is not what the CLI prints there", what, te.Field, te.Value)
		}
		return fmt.Errorf("not valid JSON: %v", err)
	}
	if dec.More() {
		return fmt.Errorf("more than one JSON document: want one `aws ec2 %s` output", what)
	}
	return nil
}

// Parse reads a describe-security-groups output. Every rule is checked; the
// error names the group and the rule that is wrong.
func Parse(data []byte) (*Set, error) {
	var raw rawGroups
	if err := decodeTop(data, &raw, "describe-security-groups"); err != nil {
		return nil, err
	}
	if raw.SecurityGroups == nil {
		return nil, errors.New("no SecurityGroups key: this is not the output of `aws ec2 describe-security-groups`")
	}
	s := &Set{}
	seen := map[string]bool{}
	for i, rg := range *raw.SecurityGroups {
		if rg.GroupID == "" {
			return nil, fmt.Errorf("SecurityGroups[%d]: no GroupId", i)
		}
		if !strings.HasPrefix(rg.GroupID, "sg-") {
			return nil, fmt.Errorf("SecurityGroups[%d]: GroupId %q is not a security group id (sg-...)", i, rg.GroupID)
		}
		if seen[rg.GroupID] {
			return nil, fmt.Errorf("SecurityGroups[%d]: group %s is listed twice", i, rg.GroupID)
		}
		seen[rg.GroupID] = true
		g := Group{ID: rg.GroupID, Name: rg.GroupName, Description: rg.Description, VPC: rg.VpcID}
		var err error
		if g.Ingress, err = rules(&g, "IpPermissions", rg.IpPermissions); err != nil {
			return nil, err
		}
		if g.Egress, err = rules(&g, "IpPermissionsEgress", rg.IpPermissionsEgress); err != nil {
			return nil, err
		}
		s.Groups = append(s.Groups, g)
	}
	return s, nil
}

// protocols maps what IpProtocol may say to the protocol; AWS prints the
// names for these four and accepts their numbers.
var protocols = map[string]Protocol{
	"tcp": TCP, "6": TCP,
	"udp": UDP, "17": UDP,
	"icmp": ICMP, "1": ICMP,
	"icmpv6": ICMPv6, "58": ICMPv6,
	"-1": All, "all": All,
}

func rules(g *Group, key string, perms []rawPermission) ([]Rule, error) {
	var out []Rule
	for i, p := range perms {
		where := fmt.Sprintf("group %s: %s[%d]", g.Label(), key, i)
		base, err := permission(p)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
		base.Group, base.Perm = g.ID, i
		n := len(out)
		for j, r := range p.IpRanges {
			pfx, err := netip.ParsePrefix(r.CidrIP)
			if err != nil || !pfx.Addr().Is4() {
				return nil, fmt.Errorf("%s: IpRanges[%d]: CidrIp %q is not an IPv4 CIDR", where, j, r.CidrIP)
			}
			rule := base
			rule.Source, rule.Prefix, rule.Description = SourceCIDR, pfx.Masked(), r.Description
			out = append(out, rule)
		}
		for j, r := range p.Ipv6Ranges {
			pfx, err := netip.ParsePrefix(r.CidrIPv6)
			if err != nil || !pfx.Addr().Is6() || pfx.Addr().Is4In6() {
				return nil, fmt.Errorf("%s: Ipv6Ranges[%d]: CidrIpv6 %q is not an IPv6 CIDR", where, j, r.CidrIPv6)
			}
			rule := base
			rule.Source, rule.Prefix, rule.Description = SourceCIDR, pfx.Masked(), r.Description
			out = append(out, rule)
		}
		for j, r := range p.PrefixListIDs {
			if !strings.HasPrefix(r.PrefixListID, "pl-") {
				return nil, fmt.Errorf("%s: PrefixListIds[%d]: %q is not a prefix list id (pl-...)", where, j, r.PrefixListID)
			}
			rule := base
			rule.Source, rule.PrefixList, rule.Description = SourcePrefixList, r.PrefixListID, r.Description
			out = append(out, rule)
		}
		for j, r := range p.UserIDGroupPairs {
			if !strings.HasPrefix(r.GroupID, "sg-") {
				return nil, fmt.Errorf("%s: UserIdGroupPairs[%d]: GroupId %q is not a security group id (sg-...)", where, j, r.GroupID)
			}
			rule := base
			rule.Source, rule.RefGroup, rule.Description = SourceGroup, r.GroupID, r.Description
			out = append(out, rule)
		}
		if len(out) == n {
			return nil, fmt.Errorf("%s: %s rule with no source (no IpRanges, Ipv6Ranges, PrefixListIds or UserIdGroupPairs)", where, base.Protocol)
		}
	}
	return out, nil
}

// permission checks a permission's protocol and ports.
func permission(p rawPermission) (Rule, error) {
	if p.IpProtocol == nil {
		return Rule{}, errors.New("no IpProtocol")
	}
	proto, ok := protocols[strings.ToLower(*p.IpProtocol)]
	if !ok {
		n, err := strconv.Atoi(*p.IpProtocol)
		if err != nil || n < 0 || n > 255 {
			return Rule{}, fmt.Errorf("IpProtocol %q is not a protocol (want tcp, udp, icmp, icmpv6, -1, or a number 0-255)", *p.IpProtocol)
		}
		proto = Protocol(strconv.Itoa(n))
	}
	r := Rule{Protocol: proto}
	switch proto {
	case TCP, UDP:
		if p.FromPort == nil || p.ToPort == nil {
			return r, fmt.Errorf("%s rule without FromPort and ToPort", proto)
		}
		r.FromPort, r.ToPort = *p.FromPort, *p.ToPort
		if r.FromPort < 0 || r.FromPort > 65535 || r.ToPort < 0 || r.ToPort > 65535 {
			return r, fmt.Errorf("%s ports %d-%d: ports are 0-65535", proto, r.FromPort, r.ToPort)
		}
		if r.FromPort > r.ToPort {
			return r, fmt.Errorf("%s ports %d-%d: FromPort is above ToPort", proto, r.FromPort, r.ToPort)
		}
	case ICMP, ICMPv6:
		// The type and code; -1 for all. AWS lets icmpv6 leave them out.
		r.FromPort, r.ToPort = -1, -1
		if p.FromPort == nil || p.ToPort == nil {
			if proto == ICMP {
				return r, errors.New("icmp rule without FromPort (the type) and ToPort (the code)")
			}
			break
		}
		r.FromPort, r.ToPort = *p.FromPort, *p.ToPort
		if r.FromPort < -1 || r.FromPort > 255 || r.ToPort < -1 || r.ToPort > 255 {
			return r, fmt.Errorf("%s type %d code %d: each is -1 (all) or 0-255", proto, r.FromPort, r.ToPort)
		}
	}
	return r, nil
}
