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
	// Targets maps a target name to the address to use instead.
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
	for _, name := range sortedKeys(o.Targets) {
		t := f.Target(name)
		if t == nil {
			errs = append(errs, fmt.Sprintf("--target %s: the file has no target %q", name, name))
			continue
		}
		if err := CheckAddress(o.Targets[name]); err != nil {
			errs = append(errs, fmt.Sprintf("--target %s: %v", name, err))
			continue
		}
		t.Address = o.Targets[name]
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
