package runner

import (
	"maps"
	"net/netip"
	"slices"

	"probe/internal/config"
	"probe/internal/engine"
	"probe/internal/plan"
)

// place is where a probe goes from this vantage: an address (whose family
// is its own), or a name with the family it is dialled over.
type place struct{ host, family string }

func placeOf(host, family string) place {
	if a, err := netip.ParseAddr(host); err == nil {
		return place{host: a.Unmap().String()}
	}
	return place{host, family}
}

// overIPv6 says a probe of host dialled over family goes over IPv6: an
// IPv6 address, or a name dialled at its AAAA records.
func overIPv6(host, family string) bool {
	if f := config.AddressFamily(host); f != "" {
		return f == config.FamilyIPv6
	}
	return family == config.FamilyIPv6
}

// sharing says which target paths the plan probes at one place. Liveness
// is per address and family: an answer there shows every target path at
// that place alive, whichever target's name its task went under (the plan
// merges the probes of two targets at one address into one task, named
// for the first), and whichever of them declared the port.
type sharing struct {
	paths  map[place][]string // in row order
	places map[string][]place // a path's places
}

func shareOf(p *plan.Plan) sharing {
	s := sharing{paths: map[place][]string{}, places: map[string][]place{}}
	for _, c := range p.Rows {
		// A name's place is the family it is dialled over, which its
		// tasks carry (a row that names no family is dialled over the
		// one it is planned for).
		pl, path := placeOf(c.Address, p.DialFamily(c)), c.Path()
		if !slices.Contains(s.paths[pl], path) {
			s.paths[pl] = append(s.paths[pl], path)
		}
		if !slices.Contains(s.places[path], pl) {
			s.places[path] = append(s.places[path], pl)
		}
	}
	return s
}

// credited lists the target paths an answer to a task sent as name to host
// (over family) shows alive: name first, then every other path at the
// same place.
func (s sharing) credited(name, host, family string) []string {
	out := []string{name}
	for _, path := range s.paths[placeOf(host, family)] {
		if path != name {
			out = append(out, path)
		}
	}
	return out
}

// at says every place of the path name is one that local holds (the
// prober's own addresses). A name the plan placed nowhere (every task name
// is a row's path, so none) counts as local: what answered under it is no
// evidence of the network.
func (s sharing) at(name string, local func(host string) bool) bool {
	for _, pl := range s.places[name] {
		if !local(pl.host) {
			return false
		}
	}
	return true
}

// namedAt lists the paths at the one place of the path name; name alone
// when it has several (which of them a task of that name went to is not
// known here).
func (s sharing) namedAt(name string) []string {
	if pls := s.places[name]; len(pls) == 1 {
		return s.credited(name, pls[0].host, pls[0].family)
	}
	return []string{name}
}

// rechecks gives each target path the closing re-check made at its place:
// its own, or else one made under the name of another path there (in name
// order), which went to the same address.
func (s sharing) rechecks(made map[string]engine.Recheck) map[string]engine.Recheck {
	out := make(map[string]engine.Recheck, len(made))
	for _, name := range slices.Sorted(maps.Keys(made)) {
		for _, path := range s.namedAt(name) {
			if _, own := made[path]; own && path != name {
				continue
			}
			if _, ok := out[path]; !ok {
				out[path] = made[name]
			}
		}
	}
	return out
}
