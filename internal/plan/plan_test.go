package plan

import (
	"slices"
	"testing"

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
