package config

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"
)

// Overrides replace parts of a file from the command line, so the same file
// runs against a testbed or a staging copy of the deployment.
type Overrides struct {
	// Targets maps a target's address to the one to use instead: the key is
	// NAME for a target with one address, NAME.public or NAME.private for
	// a target with an address per network, NAME.ipv6 for its IPv6 address.
	Targets map[string]string `json:"targets,omitempty"`
	// VantageCIDRs maps a vantage name to the CIDRs to use instead.
	VantageCIDRs map[string][]string `json:"vantage_cidrs,omitempty"`
	// STUNServers, when set, replace the file's STUN servers.
	STUNServers []string `json:"stun_servers,omitempty"`
}

// Empty reports whether nothing is overridden.
func (o Overrides) Empty() bool {
	return len(o.Targets) == 0 && len(o.VantageCIDRs) == 0 && len(o.STUNServers) == 0
}

// Apply changes f in place and returns an error naming every override that
// does not fit the file.
func (o Overrides) Apply(f *File) error {
	var errs []string
	for _, key := range sortedKeys(o.Targets) {
		if err := o.applyTarget(f, key, o.Targets[key]); err != nil {
			errs = append(errs, fmt.Sprintf("--target %s: %v", key, err))
		}
	}
	for _, name := range sortedKeys(o.VantageCIDRs) {
		v := f.Vantage(name)
		if v == nil {
			errs = append(errs, fmt.Sprintf("--vantage-cidrs %s: the file has no vantage %q", name, name))
			continue
		}
		var prefixes []netip.Prefix
		for _, c := range o.VantageCIDRs[name] {
			p, err := netip.ParsePrefix(c)
			if err != nil || p != p.Masked() {
				errs = append(errs, fmt.Sprintf("--vantage-cidrs %s: %q is not a CIDR", name, c))
				continue
			}
			prefixes = append(prefixes, p)
		}
		v.CIDRs, v.Prefixes = o.VantageCIDRs[name], prefixes
	}
	for _, s := range o.STUNServers {
		if err := checkHostPort(s); err != nil {
			errs = append(errs, fmt.Sprintf("--stun: %v", err))
		}
	}
	if o.STUNServers != nil {
		f.STUN.Servers = o.STUNServers
	}
	if len(errs) > 0 {
		return fmt.Errorf("%s", strings.Join(errs, "\n"))
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// applyTarget sets one target address: key is NAME, NAME.public,
// NAME.private or NAME.ipv6.
func (o Overrides) applyTarget(f *File, key, addr string) error {
	name, role := key, ""
	if i := strings.LastIndexByte(key, '.'); i > 0 && f.Target(key) == nil {
		switch r := key[i+1:]; r {
		case AtPublic, AtPrivate, "address", "ipv6":
			name, role = key[:i], r
			if r == "address" {
				role = ""
			}
		}
	}
	t := f.Target(name)
	if t == nil {
		return fmt.Errorf("the file has no target %q", name)
	}
	networked := t.Address == ""
	switch {
	case role == "ipv6":
		if t.IPv6 == "" {
			return fmt.Errorf("target %q has no ipv6 address in the file to replace", name)
		}
		if a, err := netip.ParseAddr(addr); err == nil && (!a.Is6() || a.Is4In6() || special(a) != "") || err != nil && CheckAddress(addr) != nil {
			return fmt.Errorf("%q is not an IPv6 address a target is reached at, nor a name", addr)
		}
		t.IPv6 = addr
	case role == "" && networked:
		return fmt.Errorf("target %q has an address per network: say which, --target %s.public=ADDR or --target %s.private=ADDR", name, name, name)
	case role != "" && !networked:
		return fmt.Errorf("target %q has one address for every vantage: write --target %s=ADDR", name, name)
	case role == "":
		if err := CheckAddress(addr); err != nil {
			return err
		}
		t.Address = addr
	default:
		if t.Addr(role) == "" {
			return fmt.Errorf("target %q has no %s address in the file to replace", name, role)
		}
		if err := CheckRole(role, addr); err != nil {
			return err
		}
		if role == AtPublic {
			t.Public = addr
		} else {
			t.Private = addr
		}
		if err := checkFamilies(t); err != nil {
			return err
		}
	}
	if t.where == nil {
		t.where = map[string]string{}
	}
	w := role
	if w == "" {
		w = "address"
	}
	t.where[w] = "--target " + key
	return nil
}
