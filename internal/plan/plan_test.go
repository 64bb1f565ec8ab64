package plan

import (
	"slices"
	"testing"
	"time"

	"probe/internal/config"
)

const planFile = `
[[vantage]]
name = "admin"
cidrs = ["198.51.100.238/32"]

[[vantage]]
name = "internet"
catch_all = true

[[target]]
name = "api"
address = "203.0.113.10"

[[target]]
name = "db"
address = "192.0.2.10"
nothing_open_from = ["internet"]

[[expectation]]
id = "ssh"
target = "api"
port = 22
transport = "tcp"
probe = "tcp"
expect = { admin = "open", internet = "filtered" }

[[expectation]]
id = "ssh-again"
target = "api"
port = 22
transport = "tcp"
probe = "tcp"
expect = { internet = "filtered" }

[[expectation]]
id = "web"
target = "api"
ports = [80, 443]
transport = "tcp"
probe = "tcp"
expect = { internet = "open", admin = "open" }

[[expectation]]
id = "rtp"
target = "api"
range = "16384-32768"
transport = "udp"
probe = "rtp"
expect = { internet = "unreachable" }
[expectation.rtp]
sample = 4

[[expectation]]
id = "db"
target = "db"
port = 5432
transport = "tcp"
probe = "tcp"
expect = { internet = "unreachable" }
`

func load(t *testing.T) *config.File {
	t.Helper()
	f, err := config.Parse("plan.toml", []byte(planFile))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestMake(t *testing.T) {
	tests := []struct {
		name          string
		vantage       string
		checks        []string
		tasks         int
		notApplicable []string
	}{
		// ssh and ssh-again probe the same port the same way: one task.
		// rtp: 2 edges + 4 sampled + 2 controls = 8 tasks.
		{"internet", "internet", []string{"ssh", "ssh-again", "web", "rtp", "db"}, 1 + 2 + 8 + 1, nil},
		{"admin", "admin", []string{"ssh", "web"}, 3, []string{"ssh-again", "rtp", "db"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Make(load(t), tt.vantage, Options{Seed: 42})
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, c := range p.Rows {
				ids = append(ids, c.ID)
			}
			if !slices.Equal(ids, tt.checks) {
				t.Errorf("checks = %v; want %v", ids, tt.checks)
			}
			if len(p.Tasks) != tt.tasks {
				t.Errorf("tasks = %d; want %d", len(p.Tasks), tt.tasks)
			}
			if !slices.Equal(p.NotApplicable, tt.notApplicable) {
				t.Errorf("not applicable = %v; want %v", p.NotApplicable, tt.notApplicable)
			}
		})
	}
}

func TestMakeDetails(t *testing.T) {
	p, err := Make(load(t), "internet", Options{Seed: 42})
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]Row{}
	for _, c := range p.Rows {
		byID[c.ID] = c
	}
	if byID["ssh"].Ports[0].Task != byID["ssh-again"].Ports[0].Task {
		t.Errorf("duplicate probes of api 22/tcp were not merged")
	}
	if !byID["ssh"].Differs || byID["db"].Differs != true {
		t.Errorf("Differs: ssh %v, db %v; want both true (db names one vantage of two)", byID["ssh"].Differs, byID["db"].Differs)
	}
	if !byID["db"].NothingOpen || byID["ssh"].NothingOpen {
		t.Errorf("NothingOpen: db %v, ssh %v; want true, false", byID["db"].NothingOpen, byID["ssh"].NothingOpen)
	}
	rtp := byID["rtp"]
	var in, controls []int
	for _, pt := range rtp.Ports {
		if pt.Control {
			controls = append(controls, pt.Port)
		} else {
			in = append(in, pt.Port)
		}
		if task := p.Tasks[pt.Task]; task.Group == "" || task.Target.Port != pt.Port {
			t.Errorf("range port %d: task %+v; want a grouped task for that port", pt.Port, task)
		}
	}
	if !slices.Equal(controls, []int{16383, 32769}) {
		t.Errorf("controls = %v; want the ports just outside the range", controls)
	}
	if len(in) != 6 || in[0] != 16384 || in[len(in)-1] != 32768 {
		t.Errorf("in-range ports = %v; want both edges and 4 sampled", in)
	}
	if rtp.Sample == nil || rtp.Sample.Seed != 42 {
		t.Errorf("sample = %+v; want seed 42 recorded", rtp.Sample)
	}
	again, _ := Make(load(t), "internet", Options{Seed: 42})
	for i := range p.Tasks {
		if p.Tasks[i].Target != again.Tasks[i].Target {
			t.Fatalf("the same seed planned different ports: %v vs %v", p.Tasks[i].Target, again.Tasks[i].Target)
		}
	}
	other, _ := Make(load(t), "internet", Options{Seed: 43})
	if slices.EqualFunc(p.Tasks, other.Tasks, func(a, b Task) bool { return a.Target == b.Target }) {
		t.Errorf("seeds 42 and 43 sampled the same ports")
	}
}

func TestMakeUnknownVantage(t *testing.T) {
	if _, err := Make(load(t), "office", Options{}); err == nil {
		t.Errorf("planning for an undeclared vantage succeeded")
	}
}

// planOf plans src, a whole file, for vantage with the run's seed 42.
func planOf(t *testing.T, src, vantage string) *Plan {
	t.Helper()
	f, err := config.Parse("plan.toml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	p, err := Make(f, vantage, Options{Seed: 42})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// rowOf finds the row id of p.
func rowOf(t *testing.T, p *Plan, id string) Row {
	t.Helper()
	for _, r := range p.Rows {
		if r.ID == id {
			return r
		}
	}
	t.Fatalf("no row %s in the plan", id)
	return Row{}
}

const twoVantages = `
[[vantage]]
name = "admin"
cidrs = ["198.51.100.238/32"]
[[vantage]]
name = "internet"
catch_all = true
[[target]]
name = "api"
address = "203.0.113.10"
`

// An expectation's own timeout is what its probes wait; the others wait
// the file's default.
func TestMakeTimeoutPerExpectation(t *testing.T) {
	p := planOf(t, twoVantages+`
[defaults]
timeout = "2s"
[[expectation]]
id = "default"
target = "api"
port = 22
transport = "tcp"
probe = "tcp"
expect = { internet = "filtered" }
[[expectation]]
id = "own"
target = "api"
port = 80
transport = "tcp"
probe = "tcp"
timeout = "500ms"
expect = { internet = "open" }
`, "internet")
	for _, tt := range []struct {
		id   string
		want time.Duration
	}{
		{"default", 2 * time.Second},
		{"own", 500 * time.Millisecond},
	} {
		if got := p.Tasks[rowOf(t, p, tt.id).Ports[0].Task].Params.Timeout; got != tt.want {
			t.Errorf("%s waits %v; want %v", tt.id, got, tt.want)
		}
	}
}

// A seed pinned in [expectation.rtp] draws the same ports whatever the
// run's seed, and is the seed the report records for that range.
func TestMakePinnedRangeSeed(t *testing.T) {
	src := twoVantages + `
[[expectation]]
id = "rtp"
target = "api"
range = "16384-32768"
transport = "udp"
probe = "rtp"
expect = { internet = "unreachable" }
[expectation.rtp]
sample = 6
seed = 7
`
	f, err := config.Parse("plan.toml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	var first []int
	for _, runSeed := range []int64{42, 43, 1 << 40} {
		p, err := Make(f, "internet", Options{Seed: runSeed})
		if err != nil {
			t.Fatal(err)
		}
		r := rowOf(t, p, "rtp")
		if r.Sample == nil || r.Sample.Seed != 7 {
			t.Fatalf("run seed %d: sample %+v; want the pinned seed 7", runSeed, r.Sample)
		}
		var ports []int
		for _, pt := range r.Ports {
			ports = append(ports, pt.Port)
		}
		if first == nil {
			first = ports
		} else if !slices.Equal(ports, first) {
			t.Errorf("run seed %d probes %v; run seed 42 probed %v", runSeed, ports, first)
		}
	}
}

// An expectation whose word is the same for every vantage of the file does
// not depend on where the run stands; one that names another word, or
// leaves a vantage out, does.
func TestMakeDiffersBetweenVantages(t *testing.T) {
	tests := []struct {
		expect string
		want   bool
	}{
		{`{ admin = "open", internet = "open" }`, false},
		{`{ admin = "open", internet = "filtered" }`, true},
		{`{ internet = "open" }`, true},
	}
	for _, tt := range tests {
		t.Run(tt.expect, func(t *testing.T) {
			p := planOf(t, twoVantages+`
[[expectation]]
id = "web"
target = "api"
port = 443
transport = "tcp"
probe = "tcp"
expect = `+tt.expect+"\n", "internet")
			if got := rowOf(t, p, "web").Differs; got != tt.want {
				t.Errorf("differs = %v; want %v", got, tt.want)
			}
		})
	}
}

// A run without a seed takes one from the clock, the same for the same
// instant, and small enough to survive a JSON number (2^53), so the seed in
// the report repeats the run.
func TestMakeSeedFromClock(t *testing.T) {
	// Bit 53 of this instant's UnixNano is set: the seed must drop it.
	at := time.Date(2026, 11, 26, 3, 0, 0, 0, time.UTC)
	seedAt := func(at time.Time) int64 {
		p, err := Make(load(t), "internet", Options{Now: func() time.Time { return at }})
		if err != nil {
			t.Fatal(err)
		}
		return p.Seed
	}
	s := seedAt(at)
	if s <= 0 || s >= 1<<53 {
		t.Errorf("seed %d; want 0 < seed < 2^53", s)
	}
	if again := seedAt(at); again != s {
		t.Errorf("the same instant gave seeds %d and %d", s, again)
	}
	if later := seedAt(at.Add(time.Nanosecond)); later == s {
		t.Errorf("two instants gave the same seed %d", s)
	}
}

// A port whose check expects an answer is asked twice before a silence
// decides; a deny-expectation's, a control's and a range sample's (one
// packet per port) are not. Two checks of one port share a task that owes
// an answer if either does, whichever comes first in the file.
func TestMakeAnswerOwed(t *testing.T) {
	p := planOf(t, twoVantages+`
[[expectation]]
id = "web-again"
target = "api"
port = 443
transport = "tcp"
probe = "tcp"
expect = { internet = "not_open", admin = "open" }
[[expectation]]
id = "web"
target = "api"
port = 443
transport = "tcp"
probe = "tcp"
expect = { internet = "open" }
[[expectation]]
id = "ssh"
target = "api"
port = 22
transport = "tcp"
probe = "tcp"
expect = { internet = "filtered" }
[[expectation]]
id = "ssh-again"
target = "api"
port = 22
transport = "tcp"
probe = "tcp"
expect = { internet = "filtered" }
[[expectation]]
id = "rtp"
target = "api"
range = "16384-32768"
transport = "udp"
probe = "rtp"
expect = { internet = "reachable" }
`, "internet")
	owed := func(id string, control bool) []bool {
		var out []bool
		for _, pt := range rowOf(t, p, id).Ports {
			if pt.Control == control {
				out = append(out, p.Tasks[pt.Task].AnswerOwed)
			}
		}
		return out
	}
	tests := []struct {
		id      string
		control bool
		want    bool
	}{
		{"web", false, true},
		{"web-again", false, true}, // not owed alone; merged with web's task, planned after it
		{"ssh", false, false},
		{"ssh-again", false, false},
		{"rtp", false, false},
		{"rtp", true, false},
	}
	for _, tt := range tests {
		got := owed(tt.id, tt.control)
		if len(got) == 0 {
			t.Fatalf("%s has no ports (control %v)", tt.id, tt.control)
		}
		for _, o := range got {
			if o != tt.want {
				t.Errorf("%s (control %v): answer owed %v; want %v", tt.id, tt.control, o, tt.want)
			}
		}
	}
	if rowOf(t, p, "web").Ports[0].Task != rowOf(t, p, "web-again").Ports[0].Task {
		t.Errorf("two checks of 443/tcp were not merged into one task")
	}
}

// A range sampled down to one port still probes its two edges, that port
// and the two controls just outside, even as the file's only row.
func TestMakeSmallestSample(t *testing.T) {
	p := planOf(t, twoVantages+`
[[expectation]]
id = "rtp"
target = "api"
range = "16384-16388"
transport = "udp"
probe = "rtp"
expect = { internet = "unreachable" }
[expectation.rtp]
sample = 1
`, "internet")
	var in, controls []int
	for _, pt := range rowOf(t, p, "rtp").Ports {
		if pt.Control {
			controls = append(controls, p.Tasks[pt.Task].Target.Port)
		} else {
			in = append(in, p.Tasks[pt.Task].Target.Port)
		}
	}
	if len(in) != 3 || in[0] != 16384 || in[2] != 16388 || !slices.Equal(controls, []int{16383, 16389}) {
		t.Errorf("in range %v, controls %v; want 16384, one sampled port, 16388, and controls 16383, 16389", in, controls)
	}
}
