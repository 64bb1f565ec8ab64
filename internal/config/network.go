package config

import (
	"fmt"
	"net/netip"
)

// sharedSpace is RFC 6598's carrier-grade NAT range: an AWS VPC may use it
// as a secondary CIDR, and the internet never routes it.
var sharedSpace = netip.MustParsePrefix("100.64.0.0/10")

// isPrivate says whether a is an address inside a private network: RFC 1918
// (10/8, 172.16/12, 192.168/16), RFC 6598 (100.64/10) or an IPv6 unique
// local address (fc00::/7).
func isPrivate(a netip.Addr) bool {
	a = a.Unmap()
	return a.IsPrivate() || sharedSpace.Contains(a)
}

// special says why a is neither public nor private, or "" when it is one of
// them.
func special(a netip.Addr) string {
	a = a.Unmap()
	switch {
	case a.IsLoopback():
		return "a loopback address (a runner on the host reaches it with at = \"loopback\")"
	case a.IsUnspecified():
		return "the unspecified address"
	case a.IsLinkLocalUnicast():
		return "a link-local address"
	case a.IsMulticast() || a.IsLinkLocalMulticast() || a.IsInterfaceLocalMulticast():
		return "a multicast address"
	}
	return ""
}

// CheckRole accepts s as the target's address in role (AtPublic or
// AtPrivate): a DNS name (checked when it is resolved), or an IP address of
// that network. It returns what is wrong and how to write it.
func CheckRole(role, s string) error {
	if err := CheckAddress(s); err != nil {
		return err
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return nil // a name: what it resolves to is checked at run time
	}
	if why := special(a); why != "" {
		return fmt.Errorf("%q is %s, not a %s address", s, why, role)
	}
	switch {
	case role == AtPublic && isPrivate(a):
		return fmt.Errorf("%q is a private address, which the internet does not reach; write it as private = %q (the public address is the public or Elastic IP AWS maps to it)", s, s)
	case role == AtPrivate && !isPrivate(a):
		return fmt.Errorf("%q is not a private (VPC) address (want 10/8, 172.16/12, 192.168/16, 100.64/10 or fc00::/7); write a public or Elastic IP as public = %q", s, s)
	}
	return nil
}

// checkFamilies rejects a public and a private IP address of different
// families: AWS's 1:1 NAT maps a public IPv4 address to a private IPv4 one.
func checkFamilies(t *Target) error {
	pub, err1 := netip.ParseAddr(t.Public)
	priv, err2 := netip.ParseAddr(t.Private)
	if err1 != nil || err2 != nil || pub.Unmap().Is4() == priv.Unmap().Is4() {
		return nil
	}
	return fmt.Errorf("the public address %s and the private address %s are of different families; the gateway's 1:1 NAT maps a public IPv4 address to a private IPv4 one", t.Public, t.Private)
}

// AddressClass says whether an IP address is private (inside a VPC or LAN),
// loopback, or public; "" for a name or anything else.
func AddressClass(a netip.Addr) string {
	switch {
	case !a.IsValid():
		return ""
	case isPrivate(a):
		return AtPrivate
	case a.Unmap().IsLoopback():
		return AtLoopback
	case special(a) != "":
		return ""
	}
	return AtPublic
}
