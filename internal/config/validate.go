package config

import (
	"fmt"
	"maps"
	"net/netip"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"probe/internal/kinds"
)

type validator struct {
	file     *File
	name     string
	pos      positions
	problems Problems
}

// problem records msg against the key path ("expectation.3.port").
func (v *validator) problem(path, format string, args ...any) {
	at := v.pos.at(path)
	v.problems = append(v.problems, Problem{
		File: v.name, Line: at.line, Col: at.col, Key: display(path), Msg: fmt.Sprintf(format, args...),
	})
}

var namePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]*$`)

const nameRule = "names are lower-case letters, digits, '-', '_' and '.'"

// checkName checks a name (or id) that must be present, well formed and unique
// among its kind, and records it as seen. It reports whether it was good.
func (v *validator) checkName(path, kind, name string, seen map[string]bool) bool {
	key := path[strings.LastIndexByte(path, '.')+1:]
	defer func() { seen[name] = true }()
	switch {
	case name == "":
		v.problem(path, "every %s needs a %s, unique in the file", kind, key)
	case !namePattern.MatchString(name):
		v.problem(path, "%q is not a valid %s (%s)", name, key, nameRule)
	case seen[name]:
		v.problem(path, "%s %q is used twice", key, name)
	default:
		return true
	}
	return false
}

func (v *validator) validate() {
	v.defaults()
	v.stun()
	v.vantages()
	v.targets()
	v.hosts()
	v.expectations()
	v.excluded()
}

func (v *validator) defaults() {
	d := &v.file.Defaults
	if d.Timeout == 0 {
		d.Timeout = Duration(DefaultTimeout)
	}
	if d.Retries == nil {
		r := DefaultRetries
		d.Retries = &r
	} else if *d.Retries < 0 || *d.Retries > 10 {
		v.problem("defaults.retries", "must be 0-10, not %d", *d.Retries)
	}
	switch {
	case d.Concurrency == 0:
		d.Concurrency = DefaultConcurrency
	case d.Concurrency < 0:
		v.problem("defaults.concurrency", "must be at least 1, not %d", d.Concurrency)
	}
	switch {
	case d.RatePerTarget == 0:
		d.RatePerTarget = DefaultRatePerTarget
	case d.RatePerTarget < 0:
		v.problem("defaults.rate_per_target", "must be above 0 (probes per second), not %g", d.RatePerTarget)
	}
	if d.Deadline == 0 {
		d.Deadline = Duration(DefaultDeadline)
	}
	switch {
	case d.TCPSweep == "":
		d.TCPSweep = TCPSweepAuto
	case !slices.Contains(TCPSweepMethods, d.TCPSweep):
		v.problem("defaults.tcp_sweep", "%q is not a way to sweep (want one of %s)", d.TCPSweep, strings.Join(TCPSweepMethods, ", "))
	}
	if d.Deadline.Std() < d.Timeout.Std() {
		v.problem("defaults.deadline", "the run's deadline (%s) is shorter than one probe's timeout (%s)", d.Deadline.Std(), d.Timeout.Std())
	}
}

func (v *validator) stun() {
	s := &v.file.STUN
	if s.Timeout == 0 {
		s.Timeout = Duration(DefaultSTUNTimeout)
	}
	for i, srv := range s.Servers {
		if err := checkHostPort(srv); err != nil {
			v.problem(fmt.Sprintf("stun.servers.%d", i), "%v", err)
		}
	}
}

// checkHostPort accepts "host:port" with a DNS name or an IP ("[::1]:3478").
func checkHostPort(s string) error {
	host, port, err := splitHostPort(s)
	if err != nil {
		return fmt.Errorf("%q is not host:port (write IPv6 as [addr]:port)", s)
	}
	if p, err := strconv.Atoi(port); err != nil || !validPort(p) {
		return fmt.Errorf("%q: the port must be 1-65535", s)
	}
	if host == "" {
		return fmt.Errorf("%q: the host is empty", s)
	}
	return nil
}

func (v *validator) vantages() {
	f := v.file
	if len(f.Vantages) == 0 {
		v.problem("vantage", "the file declares no [[vantage]]; a run needs to know where it stands")
	}
	seen := map[string]bool{}
	catchAll := ""
	for i := range f.Vantages {
		vt := &f.Vantages[i]
		path := fmt.Sprintf("vantage.%d", i)
		if v.checkName(path+".name", "vantage", vt.Name, seen) && vt.Name == "auto" {
			v.problem(path+".name", "\"auto\" is reserved for --from auto")
		}
		if vt.CatchAll {
			if catchAll != "" {
				v.problem(path+".catch_all", "vantages %q and %q both claim every other address; only one may", catchAll, vt.Name)
			}
			catchAll = vt.Name
		}
		if !vt.CatchAll && len(vt.CIDRs) == 0 {
			v.problem(path+".cidrs", "vantage %q has no cidrs and is not catch_all; say where it stands", vt.Name)
		}
		v.network(path, vt)
		vt.Prefixes = nil
		for j, c := range vt.CIDRs {
			p, err := netip.ParsePrefix(c)
			if err != nil {
				v.problem(fmt.Sprintf("%s.cidrs.%d", path, j), "%q is not a CIDR (want e.g. \"73.6.78.238/32\")", c)
				continue
			}
			if p != p.Masked() {
				v.problem(fmt.Sprintf("%s.cidrs.%d", path, j), "%q has host bits set; did you mean %q?", c, p.Masked().String())
				continue
			}
			vt.Prefixes = append(vt.Prefixes, p)
		}
	}
}

func (v *validator) targets() {
	f := v.file
	seen := map[string]bool{}
	for i := range f.Targets {
		t := &f.Targets[i]
		path := fmt.Sprintf("target.%d", i)
		v.checkName(path+".name", "target", t.Name, seen)
		v.addresses(path, t)
		for j, entry := range t.NothingOpenFrom {
			key := fmt.Sprintf("%s.nothing_open_from.%d", path, j)
			name, family, err := nothingOpenEntry(entry)
			switch {
			case err != nil:
				v.problem(key, "%v", err)
			case f.Vantage(name) == nil:
				v.problem(key, "no vantage is named %q (declared: %s)", name, v.vantageNames())
			case family != "" && !probedOver(f, t, name, family):
				v.problem(key, "%q: no expectation of %s is probed over %s from %s, so it says nothing (give the target its %s address, or name the family on its rows)", entry, t.Name, family, name, family)
			}
		}
		v.securityGroups(path, t)
	}
}

// CheckAddress accepts an IP address or a DNS name.
func CheckAddress(s string) error {
	if s == "" {
		return fmt.Errorf("a target needs an address: an IP address or a DNS name")
	}
	if _, err := netip.ParseAddr(s); err == nil {
		return nil
	}
	if strings.Contains(s, ":") || strings.Contains(s, "/") {
		return fmt.Errorf("%q is neither an IP address nor a DNS name (give the port in the expectation, not here)", s)
	}
	if !hostnamePattern.MatchString(s) || len(s) > 253 {
		return fmt.Errorf("%q is neither an IP address nor a DNS name", s)
	}
	return nil
}

var hostnamePattern = regexp.MustCompile(`^([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$`)

func (v *validator) vantageNames() string {
	var names []string
	for _, vt := range v.file.Vantages {
		names = append(names, vt.Name)
	}
	return strings.Join(names, ", ")
}

func (v *validator) targetNames() string {
	var names []string
	for _, t := range v.file.Targets {
		names = append(names, t.Name)
	}
	return strings.Join(names, ", ")
}

func (v *validator) expectations() {
	f := v.file
	if len(f.Expectations) == 0 {
		v.problem("expectation", "the file declares no [[expectation]]; there is nothing to check")
	}
	seen := map[string]bool{}
	for i := range f.Expectations {
		e := &f.Expectations[i]
		path := fmt.Sprintf("expectation.%d", i)
		v.checkName(path+".id", "expectation", e.ID, seen)
		if e.Target == "" {
			v.problem(path+".target", "an expectation needs a target")
		} else if f.Target(e.Target) == nil {
			v.problem(path+".target", "no target is named %q (declared: %s)", e.Target, v.targetNames())
		}
		kind := kinds.Lookup(e.Probe)
		if kind == nil {
			v.problem(path+".probe", "%q is not a probe kind (want one of %s)", e.Probe, strings.Join(kinds.Names(), ", "))
		}
		if kind != nil && kind.Resolves {
			v.resolveRow(path, e)
			continue
		}
		v.ports(path, e)
		if e.Transport == "" {
			v.problem(path+".transport", "an expectation needs a transport (tcp or udp)")
		} else if kind != nil && !slices.Contains(kind.Transports, e.Transport) {
			v.problem(path+".transport", "probe %s does not run over %q (it runs over %s)", e.Probe, e.Transport, strings.Join(kind.Transports, ", "))
		}
		if e.IsRange() && kind != nil && kind.RunPorts == nil && !kind.Sweeps {
			v.problem(path+".range", "probe %s cannot take a range; list the ports instead", e.Probe)
		}
		if e.ExceptDeclared {
			switch {
			case !e.IsRange():
				v.problem(path+".except_declared", "applies to a range only (range = \"1-65535\"); it leaves out of the range the ports the file declares elsewhere")
			case kind != nil && kind.RunPorts != nil && !kind.Sweeps:
				v.problem(path+".except_declared", "probe %s samples a range; \"nothing else is open\" needs every port probed, with %s", e.Probe, sweepingKinds())
			}
		}
		v.expected(path, e)
		v.reach(path, e)
		if kind != nil {
			for _, s := range e.Sections.Present() {
				if s != kind.Name {
					v.problem(path+"."+s, "a [%s] section does not apply to probe %s", s, e.Probe)
				}
			}
		}
		for _, fe := range append(e.Sections.Validate(), e.Sections.ResolveFiles(filepath.Dir(v.name))...) {
			// Sections may write list elements as key[i]; paths use key.i.
			key := strings.NewReplacer("[", ".", "]", "").Replace(fe.Key)
			v.problem(path+"."+key, "%s", fe.Msg)
		}
	}
}

// excluded resolves each except_declared range's Excluded ports: every
// port inside it that another expectation declares for the same target and
// transport, whether as a port, a list or a range, and whatever vantages it
// names.
func (v *validator) excluded() {
	es := v.file.Expectations
	for i := range es {
		e := &es[i]
		if !e.ExceptDeclared || e.RangeLo == 0 {
			continue
		}
		e.Excluded = nil
		seen := map[int]bool{}
		add := func(p int) {
			if p >= e.RangeLo && p <= e.RangeHi && !seen[p] {
				seen[p] = true
				e.Excluded = append(e.Excluded, p)
			}
		}
		for j := range es {
			o := &es[j]
			if j == i || o.Target != e.Target || L4(o.Transport) != L4(e.Transport) {
				continue
			}
			if o.ExceptDeclared {
				continue // another sweep declares nothing: it looks for the undeclared
			}
			for _, p := range o.PortList {
				add(p)
			}
			for p := max(o.RangeLo, e.RangeLo); o.RangeLo != 0 && p <= min(o.RangeHi, e.RangeHi); p++ {
				add(p)
			}
		}
		slices.Sort(e.Excluded)
	}
}

func (v *validator) ports(path string, e *Expectation) {
	given := 0
	if e.Port != 0 {
		given++
		if !validPort(e.Port) {
			v.problem(path+".port", "%d is not a port (1-65535)", e.Port)
		} else {
			e.PortList = []int{e.Port}
		}
	}
	if e.Ports != nil {
		given++
		if len(e.Ports) == 0 {
			v.problem(path+".ports", "the list is empty")
		}
		dup := map[int]bool{}
		for j, p := range e.Ports {
			switch {
			case !validPort(p):
				v.problem(fmt.Sprintf("%s.ports.%d", path, j), "%d is not a port (1-65535)", p)
			case dup[p]:
				v.problem(fmt.Sprintf("%s.ports.%d", path, j), "port %d is listed twice", p)
			default:
				e.PortList = append(e.PortList, p)
			}
			dup[p] = true
		}
	}
	if e.Range != "" {
		given++
		lo, hi, err := ParseRange(e.Range)
		if err != nil {
			v.problem(path+".range", "%v", err)
		} else {
			e.RangeLo, e.RangeHi = lo, hi
		}
	}
	switch {
	case given == 0 && e.Port == 0:
		v.problem(path, "say which port(s): port, ports or range")
	case given > 1:
		v.problem(path, "give only one of port, ports and range")
	}
}

func (v *validator) expected(path string, e *Expectation) {
	if len(e.Expect) == 0 {
		v.problem(path+".expect", "the expectation says nothing for any vantage; add e.g. expect = { internet = \"filtered\" }")
		return
	}
	var words []string
	for _, w := range Words {
		words = append(words, string(w))
	}
	for _, name := range slices.Sorted(maps.Keys(e.Expect)) {
		word := e.Expect[name]
		if v.file.Vantage(name) == nil {
			v.problem(path+".expect."+name, "no vantage is named %q (declared: %s)", name, v.vantageNames())
		}
		if !Word(word).Valid() {
			v.problem(path+".expect."+name, "%q is not an expected state (want one of %s)", word, strings.Join(words, ", "))
		} else if k := kinds.Lookup(e.Probe); k != nil && k.Words != nil && !slices.Contains(k.Words, word) {
			v.problem(path+".expect."+name, "probe %s cannot decide %q (it states %s)", e.Probe, word, strings.Join(k.Words, " or "))
		}
	}
}

// network checks a vantage's network: required once targets have public or
// private addresses.
func (v *validator) network(path string, vt *Vantage) {
	switch vt.Network {
	case NetworkInternet, NetworkVPC:
	case "":
		if v.file.Networked() {
			v.problem(path+".network", "vantage %q needs a network: %q for a runner outside the VPC (an office, a remote runner), %q for a runner on a server inside it", vt.Name, NetworkInternet, NetworkVPC)
		}
	default:
		v.problem(path+".network", "%q is not a network (want %q or %q)", vt.Network, NetworkInternet, NetworkVPC)
	}
}

// hosts checks each vantage's host: a target in the VPC that the runner
// runs on, whose public address is what STUN shows (the vantage's cidrs).
func (v *validator) hosts() {
	for i := range v.file.Vantages {
		vt := &v.file.Vantages[i]
		if vt.Host == "" {
			continue
		}
		path := fmt.Sprintf("vantage.%d.host", i)
		t := v.file.Target(vt.Host)
		switch {
		case t == nil:
			v.problem(path, "no target is named %q (declared: %s)", vt.Host, v.targetNames())
			continue
		case vt.Network != NetworkVPC:
			v.problem(path, "only a runner inside the VPC (network = %q) runs on a target", NetworkVPC)
			continue
		case t.Private == "":
			v.problem(path, "target %q has no private address; a runner on a server inside the VPC needs its private address", t.Name)
			continue
		}
		pub, err := netip.ParseAddr(t.Public)
		if err != nil || len(vt.Prefixes) == 0 {
			continue
		}
		if !slices.ContainsFunc(vt.Prefixes, func(p netip.Prefix) bool { return p.Contains(pub) }) {
			v.problem(fmt.Sprintf("vantage.%d.cidrs", i), "vantage %q runs on %q, whose public address %s (what STUN sees of it) is in none of its cidrs", vt.Name, t.Name, pub)
		}
	}
}

// addresses checks a target's addresses, each for its role.
func (v *validator) addresses(path string, t *Target) {
	t.where = map[string]string{}
	for _, key := range []string{"address", AtPublic, AtPrivate, "ipv6"} {
		at := v.pos.at(path + "." + key)
		t.where[key] = Problem{File: v.name, Line: at.line, Col: at.col, Key: display(path + "." + key)}.Location()
	}
	if t.IPv6 != "" {
		v.ipv6(path, t)
	}
	switch {
	case t.Address == "" && t.Public == "" && t.Private == "" && t.IPv6 != "":
		return // an IPv6-only target: its one address, checked above
	case t.Address != "" && (t.Public != "" || t.Private != ""):
		v.problem(path+".address", "give either address (one address for every vantage) or public and private (an address per network), not both")
	case t.Address != "" && v.file.Networked():
		v.problem(path+".address", "other targets have public or private addresses, so this one needs them too: write address = %q as public = %q, or as private = %q for an address inside the VPC", t.Address, t.Address, t.Address)
	case t.Address != "" || !v.file.Networked():
		if err := CheckAddress(t.Address); err != nil {
			v.problem(path+".address", "%v", err)
		}
		return
	case t.Public == "" && t.Private == "":
		v.problem(path+".public", "a target needs an address: public (what the internet reaches), private (its address inside the VPC), or both")
		return
	}
	bad := false
	for _, role := range []string{AtPublic, AtPrivate} {
		if s := t.Addr(role); s != "" {
			if err := CheckRole(role, s); err != nil {
				v.problem(path+"."+role, "%v", err)
				bad = true
			}
		}
	}
	if !bad {
		if err := checkFamilies(t); err != nil {
			v.problem(path+".private", "%v", err)
		}
	}
}

// ipv6 checks a target's IPv6 address: an IPv6 address that AWS could give
// an interface (global, or a unique local one), and the only IPv6 address
// of the target.
func (v *validator) ipv6(path string, t *Target) {
	a, err := netip.ParseAddr(t.IPv6)
	switch {
	case err != nil:
		// A name: its AAAA records are dialled over IPv6.
		if CheckAddress(t.IPv6) != nil {
			v.problem(path+".ipv6", "%q is neither an IPv6 address nor a DNS name (whose AAAA records are dialled)", t.IPv6)
		}
	case !a.Is6() || a.Is4In6():
		v.problem(path+".ipv6", "%q is an IPv4 address; write it as public or private, and the IPv6 address here", t.IPv6)
	case special(a) != "":
		v.problem(path+".ipv6", "%q is %s, not an address the target is reached at", t.IPv6, special(a))
	}
	for _, key := range []string{"address", AtPublic, AtPrivate} {
		s := map[string]string{"address": t.Address, AtPublic: t.Public, AtPrivate: t.Private}[key]
		if is6(s) {
			v.problem(path+"."+key, "%q is an IPv6 address and the target has ipv6 = %q too: give IPv4 (or a name) here and the IPv6 address in ipv6", s, t.IPv6)
		}
	}
}

// reach checks that every vantage the expectation names can reach the
// address it is probed at, over the families it is probed over.
func (v *validator) reach(path string, e *Expectation) {
	switch e.At {
	case "", AtPublic, AtPrivate, AtLoopback:
	default:
		v.problem(path+".at", "%q is not an address to probe at (want public, private or loopback; leave it out for the one each vantage's network reaches)", e.At)
		return
	}
	switch e.Family {
	case "", FamilyIPv4, FamilyIPv6, FamilyBoth:
	default:
		v.problem(path+".family", "%q is not an address family (want %q, %q or %q; leave it out for every family the target has an address of)", e.Family, FamilyIPv4, FamilyIPv6, FamilyBoth)
		return
	}
	t := v.file.Target(e.Target)
	if t == nil || t.Address == "" && t.Public == "" && t.Private == "" && t.IPv6 == "" {
		return // no such target, or no address: reported with the target
	}
	if t.Address != "" && e.At != "" {
		v.problem(path+".at", "target %q has one address for every vantage; at applies to a target with public and private addresses", t.Name)
		return
	}
	for _, name := range slices.Sorted(maps.Keys(e.Expect)) {
		if v.file.Vantage(name) == nil {
			continue // reported by expected
		}
		if _, err := v.file.Families(e, name); err != nil {
			v.problem(path+".expect."+name, "%v", err)
		}
	}
}

// resolveRow checks an expectation of a kind that judges the target's name
// (kinds.Kind.Resolves): no port, transport or range, its own words, and
// an address of the target to look up. Any vantage may ask: the lookup
// sends nothing to the target.
func (v *validator) resolveRow(path string, e *Expectation) {
	for _, k := range []struct {
		key   string
		given bool
	}{
		{"port", e.Port != 0}, {"ports", e.Ports != nil}, {"range", e.Range != ""}, {"transport", e.Transport != ""},
		{"except_declared", e.ExceptDeclared}, {"timeout", e.Timeout != 0},
	} {
		if k.given {
			v.problem(path+"."+k.key, "probe %s looks the target's name up and sends nothing to it; leave %s out", e.Probe, k.key)
		}
	}
	for _, s := range e.Sections.Present() {
		v.problem(path+"."+s, "a [%s] section does not apply to probe %s", s, e.Probe)
	}
	if len(e.Expect) == 0 {
		v.problem(path+".expect", "the expectation says nothing for any vantage; add e.g. expect = { internet = %q }", kinds.ResolvesPrivate)
	}
	for _, name := range slices.Sorted(maps.Keys(e.Expect)) {
		if v.file.Vantage(name) == nil {
			v.problem(path+".expect."+name, "no vantage is named %q (declared: %s)", name, v.vantageNames())
		}
		if !slices.Contains(kinds.ResolveWords, e.Expect[name]) {
			v.problem(path+".expect."+name, "%q is not what probe %s expects (want one of %s: what every address the name resolves to is)", e.Expect[name], e.Probe, strings.Join(kinds.ResolveWords, ", "))
		}
	}
	if t := v.file.Target(e.Target); t != nil {
		if _, _, err := v.file.NameOf(e); err != nil {
			v.problem(path+".at", "%v", err)
		}
	}
}

// sweepingKinds names the kinds that may probe every port of a range, as
// a config line would ask for them: probe = "tcp".
func sweepingKinds() string {
	var names []string
	for _, n := range kinds.Names() {
		if kinds.Lookup(n).Sweeps {
			names = append(names, fmt.Sprintf("probe = %q", n))
		}
	}
	return strings.Join(names, " or ")
}

// probedOver reports whether some expectation of t is probed over family
// from vantage.
func probedOver(f *File, t *Target, vantage, family string) bool {
	for i := range f.Expectations {
		e := &f.Expectations[i]
		if e.Target != t.Name {
			continue
		}
		if fams, err := f.Families(e, vantage); err == nil && slices.Contains(fams, family) {
			return true
		}
	}
	return false
}
