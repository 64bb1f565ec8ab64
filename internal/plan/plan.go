// Package plan turns an expectation table and a vantage into the work of one
// run: which expectations apply, which packets go to which address and port,
// and which ports of a range are sampled. It is pure: it sends nothing, and
// the same inputs (seed included) give the same plan.
package plan

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"time"

	"probe/internal/config"
	"probe/internal/kinds"
	"probe/internal/sample"
	"probe/probes"
)

// Plan is the work of one run from one vantage.
type Plan struct {
	// Vantage is the vantage the run is made from.
	Vantage string
	// Seed chose the sampled ports of every range; a re-run with the same
	// seed probes the same ports.
	Seed int64
	// Rows are the rows of the table that say something for this vantage, in
	// file order.
	Rows []Row
	// Tasks are the probes to send, each once however many checks use it.
	Tasks []Task
	// NotApplicable lists the ids of expectations that say nothing for this
	// vantage.
	NotApplicable []string
	// Lookups are the rows that judge what a target's name resolves to
	// (kinds.Kind.Resolves): nothing is sent for them, the runner looks
	// the names up.
	Lookups []Lookup
}

// Lookup is a row judged on what a name resolves to from this vantage.
type Lookup struct {
	// ID is the expectation's id.
	ID string
	// Expectation is the row of the file.
	Expectation *config.Expectation
	// Name is the address looked up (an IP is taken as given).
	Name string
	// At is which of the target's addresses it is; empty for a target
	// with one address.
	At string
	// Expected is the word for this vantage (kinds.ResolveWords).
	Expected string
}

// Row is one expectation, a row of the table, as this vantage must judge it.
type Row struct {
	// ID is the expectation's id.
	ID string
	// Expectation is the row of the file.
	Expectation *config.Expectation
	// Address is the target's address as dialled.
	Address string
	// At is which of the target's addresses that is: config.AtPublic,
	// AtPrivate or AtLoopback; empty for a target with one address.
	At string
	// Family is the address family the row is probed over
	// (config.FamilyIPv4 or FamilyIPv6) when its target has an IPv6
	// address or the expectation names a family; empty otherwise. An
	// expectation probed over both families has a row for each.
	Family string
	// Expected is what this vantage should see.
	Expected config.Word
	// Differs says the expected word is not the same for every vantage the
	// expectation names, so the verdict depends on where the run stands.
	Differs bool
	// NothingOpen says the config declares that this target has nothing open
	// from this vantage, so its liveness cannot be shown here.
	NothingOpen bool
	// Ports are the probed ports in order: the listed ports, or a range's
	// edges and sample, then its controls.
	Ports []PortTask
	// Sample describes a range's sample; nil for listed ports.
	Sample *sample.Sample
	// Sweep says the check probes a whole range, one task per port (a range
	// on a kind that does not sample). Its report keeps the evidence of the
	// ports that did not conform, and counts the rest.
	Sweep bool
	// Excluded are the range's ports left out because the file declares
	// them elsewhere (except_declared).
	Excluded []int
}

// PortTask ties one probed port of a check to the task that probes it.
type PortTask struct {
	Port int
	// Control marks a port just outside a range: it must behave like the
	// rest of the host, not like the range.
	Control bool
	// Task is the index into Plan.Tasks.
	Task int
}

// Word is what this vantage should see on one probed port of the check: the
// expected word, or for a control just outside a range, what the rest of the
// host shows a stranger: a security group drops it.
func (c Row) Word(pt PortTask) config.Word {
	if pt.Control {
		return config.Unreachable
	}
	return c.Expected
}

// Task is one probe to send.
type Task struct {
	// Kind is the probe kind.
	Kind string
	// Target is where it goes. Its Name is the path (Path) of the first
	// row that uses it; a name in Host is dialled over the family of the
	// rows it serves (Target.Family, set when their results carry one):
	// the rows of a name over IPv4 and over IPv6 never share a task.
	Target probes.Target
	// Params are the kind's options.
	Params kinds.Params
	// Group, when not empty, names a set of tasks the kind probes together
	// (a range sample paced against ICMP rate limits).
	Group string
	// Identify asks, when the port is found open, for a second look that
	// says what answered (a sweep's finding: a banner, not just "open").
	Identify bool
	// AnswerOwed says a check using this task expects the service to
	// answer (open, reachable): a silence then would fail it, so the engine
	// asks once more before letting a lost packet decide.
	AnswerOwed bool
	// Whole marks the one task of a sweep that stands for every port of
	// its row (the row's Ports all name it; Target.Port is 0): a TCP
	// sweep sent as half-open SYNs (Options.HalfOpen), or the sweep of a
	// kind that sends its ports together (kinds.Kind.SweepPorts: UDP). A
	// sweep's 65535 tasks and observations would cost more memory than
	// the sweep itself.
	Whole bool
}

// HalfOpen says t is a sweep sent as half-open SYNs (probes/syn).
func (t Task) HalfOpen() bool { return t.Whole && t.Target.Transport == "tcp" }

// Options are the run-wide inputs of the plan.
type Options struct {
	// Seed for range samples; 0 picks one from Now.
	Seed int64
	// CAFile adds roots for TLS checks.
	CAFile string
	// Now is the clock, for tests.
	Now func() time.Time
	// HalfOpen makes each sweep that a half-open scan can send (HalfOpenable)
	// one task that stands for all its ports, instead of a task per port.
	HalfOpen bool
}

// HalfOpenable says whether a half-open SYN scan (probes/syn) can send a
// sweep of e to addr: TCP, a kind whose bare probe learns no more than the
// handshake's first answer, and an IPv4 address.
func HalfOpenable(e *config.Expectation, params kinds.Params, addr string) bool {
	k := kinds.Lookup(e.Probe)
	a, err := netip.ParseAddr(addr)
	return e.Transport == "tcp" && k != nil && k.HalfOpen && k.OneRoundTrip != nil && k.OneRoundTrip(params) &&
		err == nil && a.Unmap().Is4()
}

// Make builds the plan of f for vantage.
func Make(f *config.File, vantage string, opt Options) (*Plan, error) {
	if f.Vantage(vantage) == nil {
		return nil, fmt.Errorf("the file has no vantage %q", vantage)
	}
	seed := opt.Seed
	if seed == 0 {
		now := time.Now
		if opt.Now != nil {
			now = opt.Now
		}
		seed = now().UnixNano() & (1<<53 - 1)
	}
	p := &Plan{Vantage: vantage, Seed: seed}
	index := map[taskKey]int{} // to merge duplicates
	targets := make(map[string]*config.Target, len(f.Targets))
	for i := range f.Targets {
		targets[f.Targets[i].Name] = &f.Targets[i]
	}
	p.Tasks = make([]Task, 0, taskCount(f, vantage, opt.HalfOpen))
	for i := range f.Expectations {
		e := &f.Expectations[i]
		word, ok := e.Expect[vantage]
		if !ok {
			p.NotApplicable = append(p.NotApplicable, e.ID)
			continue
		}
		t := targets[e.Target]
		kind := kinds.Lookup(e.Probe)
		if kind.Resolves {
			name, at, err := f.NameOf(e)
			if err != nil {
				return nil, fmt.Errorf("expectation %s: %w", e.ID, err)
			}
			p.Lookups = append(p.Lookups, Lookup{ID: e.ID, Expectation: e, Name: name, At: at, Expected: word})
			continue
		}
		fams, err := f.Families(e, vantage)
		if err != nil {
			return nil, fmt.Errorf("expectation %s from vantage %s: %w", e.ID, vantage, err)
		}
		for _, fam := range fams {
			addr, at, err := f.Reach(e, vantage, fam)
			if err != nil {
				return nil, fmt.Errorf("expectation %s from vantage %s over %s: %w", e.ID, vantage, fam, err)
			}
			family, dial := "", ""
			if t.Tagged(e) {
				family = fam
			}
			if _, err := netip.ParseAddr(addr); err != nil {
				// A name: its A or its AAAA records (an IP has its
				// own family). A row that names no family is still
				// dialled over the one it is planned for, never as the
				// resolver orders the records: an answer over IPv6
				// would show the IPv4 path alive, from a source
				// address STUN never saw.
				dial = fam
			}
			c := Row{
				ID: e.ID, Expectation: e, Address: addr, At: at, Family: family, Expected: config.Word(word),
				Differs:     differs(e.Expect) || len(e.Expect) < len(f.Vantages),
				NothingOpen: t.NothingOpen(vantage, fam),
			}
			timeout := f.Defaults.Timeout.Std()
			if e.Timeout != 0 {
				timeout = e.Timeout.Std()
			}
			params := kinds.Params{Timeout: timeout, Retries: *f.Defaults.Retries, Section: e.Section(), CAFile: opt.CAFile}
			var ports []PortTask
			group := ""
			switch {
			case e.IsRange() && kind.RunPorts != nil && !kind.Sweeps:
				n, rangeSeed := kind.SampleOf(params)
				if rangeSeed == 0 {
					rangeSeed = seed // not pinned in the file: the run's
				}
				s := sample.Ports(e.RangeLo, e.RangeHi, n, rangeSeed)
				c.Sample = &s
				for _, port := range s.InRange {
					ports = append(ports, PortTask{Port: port})
				}
				for _, port := range s.Controls {
					ports = append(ports, PortTask{Port: port, Control: true})
				}
				params.Controls = s.Controls
				group = Path(e.ID, "", family) // each family's sample paced apart
			case e.IsRange():
				c.Sweep, c.Excluded = true, e.Excluded
				if kind.SweepPorts != nil {
					group = Path(e.ID, "", family) // its ports go together (the UDP sweep's one socket), paced beside the host's ranges
				}
				ports = make([]PortTask, 0, e.RangeHi-e.RangeLo+1-len(e.Excluded))
				skip := e.Excluded // sorted
				for port := e.RangeLo; port <= e.RangeHi; port++ {
					if len(skip) > 0 && skip[0] == port {
						skip = skip[1:]
						continue
					}
					ports = append(ports, PortTask{Port: port})
				}
			default:
				for _, port := range e.PortList {
					ports = append(ports, PortTask{Port: port})
				}
			}
			if c.Sweep && (kind.SweepPorts != nil || opt.HalfOpen && HalfOpenable(e, params, addr)) {
				task := len(p.Tasks)
				p.Tasks = append(p.Tasks, Task{
					Kind: e.Probe, Params: params, Whole: true, Identify: true, Group: group,
					Target: probes.Target{Name: c.Path(), Host: addr, Transport: e.Transport, Family: dial},
				})
				for j := range ports {
					ports[j].Task = task
				}
				c.Ports = ports
				p.Rows = append(p.Rows, c)
				continue
			}
			sections := sectionsKey(e.Sections)
			for j := range ports {
				task := Task{
					Kind:     e.Probe,
					Target:   probes.Target{Name: c.Path(), Host: addr, Port: ports[j].Port, Transport: e.Transport, Family: dial},
					Params:   params,
					Group:    group,
					Identify: c.Sweep,
					// A range's ports each get one packet (RTP): never again.
					AnswerOwed: c.Expected.Allows() && !ports[j].Control && group == "",
				}
				if c.Sweep {
					// A sweep's ports are the ones no other expectation
					// declares: nothing to merge, and a 65535-entry index
					// would cost more memory than the tasks themselves.
					ports[j].Task = len(p.Tasks)
					p.Tasks = append(p.Tasks, task)
					continue
				}
				key := taskKey{task.Kind, task.Target.Transport, task.Target.Host, dial, task.Target.Port, timeout, sections}
				idx, seen := index[key]
				if !seen || group != "" {
					idx = len(p.Tasks)
					p.Tasks = append(p.Tasks, task)
					index[key] = idx
				}
				p.Tasks[idx].AnswerOwed = p.Tasks[idx].AnswerOwed || task.AnswerOwed
				ports[j].Task = idx
			}
			c.Ports = ports
			p.Rows = append(p.Rows, c)
		}
	}
	return p, nil
}

// Probes counts the probes the plan sends: a task each, and a whole sweep
// task (Task.Whole) once for every port of its row.
func (p *Plan) Probes() int {
	n := len(p.Tasks)
	for _, c := range p.Rows {
		if len(c.Ports) > 0 && p.Tasks[c.Ports[0].Task].Whole {
			n += len(c.Ports) - 1
		}
	}
	return n
}

// Path names a target as reached at one of its addresses, over one
// family: "freeswitch" for a target with one address, "freeswitch@private"
// for its private one, "freeswitch@public/ipv6" for its IPv6 address. A
// task's Target.Name is its path, so that liveness is shown per path: a
// target alive at its private address from inside the VPC has not shown
// that its public address is reached, nor an IPv4 answer that IPv6 is.
func Path(target, at, family string) string {
	p := target
	if at != "" {
		p += "@" + at
	}
	if family == config.FamilyIPv6 {
		p += "/" + family
	}
	return p
}

// Path is the row's target path (see Path).
func (c Row) Path() string { return Path(c.Expectation.Target, c.At, c.Family) }

// taskCount is about how many tasks the plan for vantage holds (duplicates
// counted), so the task list is allocated once: a sweep's is 11 MB.
func taskCount(f *config.File, vantage string, halfOpen bool) int {
	n := 0
	for i := range f.Expectations {
		e := &f.Expectations[i]
		if _, ok := e.Expect[vantage]; !ok {
			continue
		}
		switch {
		case e.IsRange() && kinds.Lookup(e.Probe).RunPorts != nil && !kinds.Lookup(e.Probe).Sweeps:
			size, _ := kinds.Lookup(e.Probe).SampleOf(kinds.Params{Section: e.Section()})
			n += size + 4 // the edges and the controls
		case e.IsRange() && (kinds.Lookup(e.Probe).SweepPorts != nil || halfOpen && halfOpenAt(f, e, vantage)):
			n++ // one task for the whole sweep
		case e.IsRange():
			n += max(0, e.RangeHi-e.RangeLo+1-len(e.Excluded))
		default:
			n += len(e.PortList)
		}
	}
	return n
}

// halfOpenAt says whether e's sweep from vantage is one half-open task
// over its first family (a capacity hint: an IPv6 row of the same sweep
// adds its ports); an address it cannot reach is Make's to report.
func halfOpenAt(f *config.File, e *config.Expectation, vantage string) bool {
	fams, err := f.Families(e, vantage)
	return err == nil && len(fams) > 0 && halfOpenOver(f, e, vantage, fams[0])
}

// halfOpenOver says whether e's sweep from vantage over family fam is
// one a half-open scan can send (HalfOpenable, at the address Make
// dials); an address it cannot reach is Make's to report.
func halfOpenOver(f *config.File, e *config.Expectation, vantage, fam string) bool {
	addr, _, err := f.Reach(e, vantage, fam)
	return err == nil && HalfOpenable(e, kinds.Params{Section: e.Section()}, addr)
}

// HalfOpenSweeps says whether f's plan for vantage, made with
// Options.HalfOpen, holds a half-open sweep: whether a run from vantage
// has a use for a raw socket.
func HalfOpenSweeps(f *config.File, vantage string) bool {
	for i := range f.Expectations {
		e := &f.Expectations[i]
		if _, ok := e.Expect[vantage]; !ok || !e.IsRange() {
			continue
		}
		fams, err := f.Families(e, vantage)
		if err != nil {
			continue
		}
		for _, fam := range fams {
			if halfOpenOver(f, e, vantage, fam) {
				return true
			}
		}
	}
	return false
}

// taskKey identifies a probe for merging duplicates: the same kind, to the
// same address, port and transport, with the same options. A name is
// dialled over a family (Target.Family): over IPv4 and over IPv6 it is two
// probes, each its family's evidence.
type taskKey struct {
	kind, transport, host, family string
	port                          int
	timeout                       time.Duration
	sections                      string
}

// sectionsKey is an expectation's sections as text, computed once per
// expectation rather than once per port (a sweep has 65535 ports).
func sectionsKey(s kinds.Sections) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func differs(m map[string]string) bool {
	first := ""
	for _, w := range m {
		if first == "" {
			first = w
		} else if w != first {
			return true
		}
	}
	return false
}

// DialFamily is the family row c's address is dialled over: its tasks'
// (a name whose row names no family is dialled over IPv4), or the row's
// own when it has no port.
func (p *Plan) DialFamily(c Row) string {
	if len(c.Ports) > 0 {
		return p.Tasks[c.Ports[0].Task].Target.Family
	}
	return c.Family
}
