// Package config reads an expectation table (expectations.toml): it decodes
// strictly, sets defaults, and validates, all at load time, and reports every
// problem of a file at once, each with the file, line, column and key.
package config

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"probe/internal/kinds"
)

// File is one expectation table.
type File struct {
	Defaults     Defaults      `toml:"defaults"`
	STUN         STUN          `toml:"stun"`
	Vantages     []Vantage     `toml:"vantage"`
	Targets      []Target      `toml:"target"`
	Expectations []Expectation `toml:"expectation"`

	// Path is where the file was read from.
	Path string `toml:"-"`
	// Digest is the SHA-256 of the file's bytes, hex.
	Digest string `toml:"-"`
}

// Defaults apply to every probe unless an expectation says otherwise.
type Defaults struct {
	// Timeout bounds one exchange.
	Timeout Duration `toml:"timeout"`
	// Retries is how many more times a silent UDP request is sent within
	// its timeout (SIP's OPTIONS; an RTP port gets one packet, never more).
	Retries *int `toml:"retries"`
	// Concurrency is how many probes may be in flight at once.
	Concurrency int `toml:"concurrency"`
	// RatePerTarget is how many new probes per second one target gets.
	RatePerTarget float64 `toml:"rate_per_target"`
	// Deadline bounds the whole run.
	Deadline Duration `toml:"deadline"`
	// TCPSweep is how a sweep of TCP ports is sent: TCPSweepAuto (half-open
	// SYNs where the process may open a raw socket, connects otherwise),
	// TCPSweepSYN or TCPSweepConnect.
	TCPSweep string `toml:"tcp_sweep"`
}

// The ways a TCP sweep may be sent (defaults.tcp_sweep, run --tcp-sweep).
const (
	// TCPSweepAuto: half-open SYNs when the process has CAP_NET_RAW (a
	// raw socket opens), else connects. The default.
	TCPSweepAuto = "auto"
	// TCPSweepSYN: half-open SYNs, or no run at all.
	TCPSweepSYN = "syn"
	// TCPSweepConnect: one full connect per port.
	TCPSweepConnect = "connect"
)

// TCPSweepMethods are the words tcp_sweep takes.
var TCPSweepMethods = []string{TCPSweepAuto, TCPSweepSYN, TCPSweepConnect}

// The defaults' defaults, each with why.
const (
	// A dropped SYN is resent by the kernel after 1s; 3s leaves room for
	// one resend and a slow path.
	DefaultTimeout = 3 * time.Second
	// Two resends of a silent UDP probe ride out moderate loss.
	DefaultRetries = 2
	// Far below the file-descriptor limit, far above the reference file's
	// probe count: the whole table is in flight at once.
	DefaultConcurrency = 64
	// 50 new probes a second to one host stays under typical IDS and SYN
	// flood thresholds.
	DefaultRatePerTarget = 50
	// A smoke test that takes more than a minute gets switched off.
	DefaultDeadline = 60 * time.Second
	// STUN servers answer within a round trip; 2s covers a slow path.
	DefaultSTUNTimeout = 2 * time.Second
)

// STUN lists the servers that tell the prober its public address.
type STUN struct {
	Servers []string `toml:"servers"`
	Timeout Duration `toml:"timeout"`
}

// Vantage is a place a run is made from.
type Vantage struct {
	Name        string   `toml:"name"`
	Description string   `toml:"description"`
	CIDRs       []string `toml:"cidrs"`
	// CatchAll marks the vantage that stands for any address no other
	// vantage claims (the internet).
	CatchAll bool `toml:"catch_all"`
	// Network is where the vantage stands: NetworkInternet (outside the
	// VPC: an office, a remote runner) or NetworkVPC (a runner on a server
	// inside it). Required once any target has public or private
	// addresses.
	Network string `toml:"network"`
	// Host names the target this runner runs on (a vpc vantage only): it
	// may probe that target's loopback (at = "loopback").
	Host string `toml:"host"`

	// Prefixes are CIDRs, parsed.
	Prefixes []netip.Prefix `toml:"-"`
}

// Target is a host to probe. It has either one Address, dialled from every
// vantage alike (a file with no networks), or a Public and/or a Private
// address, each reached from the networks that reach it (see Reach).
type Target struct {
	Name string `toml:"name"`
	// Address is the one address of a target in a file without networks.
	Address string `toml:"address"`
	// Public is what the internet reaches: a public or Elastic IP, or a
	// name that resolves to one.
	Public string `toml:"public"`
	// Private is the address inside the VPC, or a name that resolves to
	// one (an RDS or ElastiCache endpoint).
	Private string `toml:"private"`
	// IPv6 is the target's IPv6 address. AWS gives an instance one global
	// IPv6 address (no NAT), reached from the internet and from inside the
	// VPC alike, so there is no public and private pair of them.
	IPv6        string `toml:"ipv6"`
	Description string `toml:"description"`
	// NothingOpenFrom names the vantages from which no port of this target
	// is meant to be open, so its liveness cannot be shown from there.
	NothingOpenFrom []string `toml:"nothing_open_from"`
	// SecurityGroups are the ids of the AWS security groups on the
	// target's interfaces ("sg-..."): what `probe drift` holds the file and
	// the reports against. Nothing else reads them.
	SecurityGroups []string `toml:"security_groups"`

	// where locates the target's keys in the file (set by validation), or
	// names the flag that overrode one, for errors found later (a name that
	// does not resolve).
	where map[string]string
}

// Networks a vantage stands in.
const (
	NetworkInternet = "internet"
	NetworkVPC      = "vpc"
)

// The addresses of a target an expectation can be probed at.
const (
	AtPublic   = "public"
	AtPrivate  = "private"
	AtLoopback = "loopback"
)

// Addr returns the target's address in role at (AtPublic, AtPrivate, or ""
// for the one Address of a file without networks).
func (t *Target) Addr(at string) string {
	switch at {
	case AtPublic:
		return t.Public
	case AtPrivate:
		return t.Private
	case AtLoopback:
		return loopbackFor(t)
	}
	return t.Address
}

// Where says where the target's key (address, public, private) was given:
// "file:line:col: target[2].private", or the flag that overrode it.
func (t *Target) Where(key string) string {
	if w, ok := t.where[key]; ok {
		return w
	}
	return "target " + t.Name + "." + key
}

func loopbackFor(t *Target) string {
	if is6(t.Private) || is6(t.Public) {
		return "::1"
	}
	return "127.0.0.1"
}

// Networked reports whether the file places its targets in networks: some
// target has a public or private address. Every vantage must then say
// which network it stands in.
func (f *File) Networked() bool {
	for i := range f.Targets {
		if f.Targets[i].Public != "" || f.Targets[i].Private != "" {
			return true
		}
	}
	return false
}

// Reach says which address of e's target the vantage probes over family
// (FamilyIPv4 or FamilyIPv6): the one e names with at, or else the one its
// network reaches (a vpc vantage the private address when there is one, any
// other the public address; over IPv6 the target's one global address). It
// returns the address, its role (AtPublic, AtPrivate, AtLoopback, or "" for
// a target with one Address) and, when the vantage cannot reach it, why.
func (f *File) Reach(e *Expectation, vantage, family string) (addr, at string, err error) {
	t, v := f.Target(e.Target), f.Vantage(vantage)
	if t == nil || v == nil {
		return "", "", fmt.Errorf("no such target or vantage")
	}
	if family != FamilyIPv6 {
		family = FamilyIPv4
	}
	if t.Address != "" || (t.Public == "" && t.Private == "" && t.IPv6 != "") {
		if e.At != "" {
			return "", "", fmt.Errorf("target %q has one address for every vantage, so at = %q means nothing; give it public and private addresses instead", t.Name, e.At)
		}
		if a := t.AddrOver(e.At, family); a != "" {
			return a, e.At, nil
		}
		return "", "", fmt.Errorf("target %q has no %s address", t.Name, familyName(family))
	}
	at = e.At
	if at == "" {
		at = AtPublic
		if v.Network == NetworkVPC && t.AddrOver(AtPrivate, family) != "" {
			at = AtPrivate
		}
	}
	switch at {
	case AtPublic:
		if t.AddrOver(AtPublic, family) == "" {
			switch {
			case family == FamilyIPv6:
				return "", at, fmt.Errorf("target %q has no IPv6 address (ipv6)", t.Name)
			case e.At == "":
				return "", at, fmt.Errorf("target %q has only a private address, which vantage %q (network %q) cannot reach; ask this only of a vpc vantage", t.Name, v.Name, v.Network)
			}
			return "", at, fmt.Errorf("target %q has no public address", t.Name)
		}
	case AtPrivate:
		if t.AddrOver(AtPrivate, family) == "" {
			if family == FamilyIPv6 {
				return "", at, fmt.Errorf("target %q's IPv6 address is global, the same inside the VPC and out: at = \"private\" is an IPv4 address; probe it with family = \"ipv4\"", t.Name)
			}
			return "", at, fmt.Errorf("target %q has no private address", t.Name)
		}
		if v.Network != NetworkVPC {
			return "", at, fmt.Errorf("vantage %q stands in network %q and cannot reach target %q's private address; only a vpc vantage can", v.Name, v.Network, t.Name)
		}
	case AtLoopback:
		if v.Host != t.Name {
			return "", at, fmt.Errorf("vantage %q does not run on target %q (host = %q), so it cannot reach its loopback", v.Name, t.Name, v.Host)
		}
		if family == FamilyIPv6 && !t.HasIPv6() {
			return "", at, fmt.Errorf("target %q has no IPv6 address, so its IPv6 loopback is not stated", t.Name)
		}
	default:
		return "", at, fmt.Errorf("%q is not an address to probe at (want public, private or loopback)", at)
	}
	return t.AddrOver(at, family), at, nil
}

func familyName(family string) string {
	if family == FamilyIPv6 {
		return "IPv6"
	}
	return "IPv4"
}

// NameOf is the address a resolve expectation (kinds.Kind.Resolves) looks
// up, from any vantage: the one its at names, else the target's private
// address when it has one (an RDS or ElastiCache name), else its public
// one, else its one address.
func (f *File) NameOf(e *Expectation) (name, at string, err error) {
	t := f.Target(e.Target)
	if t == nil {
		return "", "", fmt.Errorf("no target is named %q", e.Target)
	}
	if t.Address != "" {
		if e.At != "" {
			return "", "", fmt.Errorf("target %q has one address for every vantage, so at = %q means nothing", t.Name, e.At)
		}
		return t.Address, "", nil
	}
	at = e.At
	switch {
	case at == "" && t.Private != "":
		at = AtPrivate
	case at == "":
		at = AtPublic
	case at != AtPublic && at != AtPrivate:
		return "", "", fmt.Errorf("%q is not an address to look up (want public or private)", at)
	}
	if t.Addr(at) == "" {
		return "", at, fmt.Errorf("target %q has no %s address to look up", t.Name, at)
	}
	return t.Addr(at), at, nil
}

// Expectation is one row of the table: what each vantage should see of a
// target's port(s).
type Expectation struct {
	ID        string            `toml:"id"`
	Target    string            `toml:"target"`
	Port      int               `toml:"port"`
	Ports     []int             `toml:"ports"`
	Range     string            `toml:"range"`
	Transport string            `toml:"transport"`
	Probe     string            `toml:"probe"`
	Purpose   string            `toml:"purpose"`
	Expect    map[string]string `toml:"expect"`
	// At names the target's address to probe: AtPublic, AtPrivate or
	// AtLoopback. Empty: the one each vantage's network reaches (Reach).
	At string `toml:"at"`
	// Family names the address families to probe over: FamilyIPv4,
	// FamilyIPv6 or FamilyBoth. Empty: every family the target has an
	// address of and the vantage sends from (Families).
	Family string `toml:"family"`
	// Timeout overrides the default for this expectation.
	Timeout Duration `toml:"timeout"`
	// ExceptDeclared, on a range, leaves out every port that another
	// expectation of the file declares for the same target and transport:
	// "every other port of this range", the check that nothing else is
	// open. The range is probed in full, one probe per port.
	ExceptDeclared bool `toml:"except_declared"`
	// Sections are the protocol sections given ([expectation.ssh] under
	// "ssh"), each decoded into its kind's own type (see sections.go).
	Sections kinds.Sections `toml:"-"`

	// PortList is Port, Ports or the Range's bounds, resolved.
	PortList []int `toml:"-"`
	// RangeLo and RangeHi are the range's bounds when Range is set.
	RangeLo, RangeHi int `toml:"-"`
	// Excluded are the ports of the range left out by ExceptDeclared,
	// sorted: resolved when the file is validated, so a run of some
	// expectations only (--only) still leaves out what the whole file
	// declares.
	Excluded []int `toml:"-"`
}

// L4 is the transport a port belongs to on the wire: SIP over TLS runs on
// a TCP port.
func L4(transport string) string {
	if transport == "tls" {
		return "tcp"
	}
	return transport
}

// Section is the expectation's section of its own kind ([expectation.ssh]
// for probe = "ssh"), or nil.
func (e *Expectation) Section() kinds.Section { return e.Sections[e.Probe] }

// IsRange reports whether the expectation covers a port range.
func (e *Expectation) IsRange() bool { return e.Range != "" }

// Vantage returns the vantage with that name, or nil.
func (f *File) Vantage(name string) *Vantage {
	for i := range f.Vantages {
		if f.Vantages[i].Name == name {
			return &f.Vantages[i]
		}
	}
	return nil
}

// Target returns the target with that name, or nil.
func (f *File) Target(name string) *Target {
	for i := range f.Targets {
		if f.Targets[i].Name == name {
			return &f.Targets[i]
		}
	}
	return nil
}

// Duration is a time.Duration written as a string ("3s", "500ms").
type Duration time.Duration

// UnmarshalText parses a duration string.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("not a duration (want e.g. \"3s\" or \"500ms\"): %q", b)
	}
	if v < 0 {
		return fmt.Errorf("a duration must not be negative: %q", b)
	}
	*d = Duration(v)
	return nil
}

// MarshalText writes the duration as a string.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// Std returns the duration as a time.Duration.
func (d Duration) Std() time.Duration { return time.Duration(d) }

// ParseRange parses "lo-hi".
func ParseRange(s string) (lo, hi int, err error) {
	a, b, ok := strings.Cut(s, "-")
	if !ok {
		return 0, 0, fmt.Errorf("not a range (want \"lo-hi\", e.g. \"16384-32768\"): %q", s)
	}
	lo, err1 := strconv.Atoi(strings.TrimSpace(a))
	hi, err2 := strconv.Atoi(strings.TrimSpace(b))
	switch {
	case err1 != nil || err2 != nil:
		return 0, 0, fmt.Errorf("not a range (want \"lo-hi\", e.g. \"16384-32768\"): %q", s)
	case !validPort(lo) || !validPort(hi):
		return 0, 0, fmt.Errorf("range %q: ports must be 1-65535", s)
	case lo > hi:
		return 0, 0, fmt.Errorf("range %q: the first port is above the last", s)
	}
	return lo, hi, nil
}

func validPort(p int) bool { return p >= 1 && p <= 65535 }
