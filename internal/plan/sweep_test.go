package plan

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"probe/internal/config"
)

// sweepFile is one server's declared web ports and a sweep of the rest,
// at address, with section appended.
func sweepFile(address, section string) string {
	return `
[[vantage]]
name = "internet"
catch_all = true
[[target]]
name = "api"
address = "` + address + `"
[[expectation]]
id = "web"
target = "api"
ports = [80, 443]
transport = "tcp"
probe = "tcp"
expect = { internet = "open" }
[[expectation]]
id = "nothing-else"
target = "api"
range = "1-65535"
except_declared = true
transport = "tcp"
probe = "tcp"
expect = { internet = "not_open" }
` + section
}

func TestSweepProbesEveryUndeclaredPortOnce(t *testing.T) {
	f, err := config.Parse("sweep.toml", []byte(sweepFile("203.0.113.10", "")))
	if err != nil {
		t.Fatal(err)
	}
	p, err := Make(f, "internet", Options{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	c := p.Rows[1]
	if !c.Sweep || len(c.Ports) != 65533 {
		t.Fatalf("sweep %v with %d ports; want a sweep of 65535-2 ports", c.Sweep, len(c.Ports))
	}
	if got := len(p.Tasks); got != 65535 {
		t.Errorf("tasks %d; want 65535: every port once, the declared two by their own check", got)
	}
	seen := map[int]bool{}
	for _, pt := range c.Ports {
		task := p.Tasks[pt.Task]
		if pt.Port == 80 || pt.Port == 443 || seen[pt.Port] || task.Target.Port != pt.Port || !task.Identify {
			t.Fatalf("port %d: swept twice, declared, or its task (%d, identify %v) does not match", pt.Port, task.Target.Port, task.Identify)
		}
		seen[pt.Port] = true
	}
	if p.Tasks[p.Rows[0].Ports[0].Task].Identify {
		t.Error("a declared port's task asks to identify; only a sweep's findings do")
	}
}

// benchFile is 1,000 targets with 100 expectations each: 100,000 checks,
// half single ports, half port lists, a tenth sampled ranges.
func benchFile(b *testing.B) *config.File {
	b.Helper()
	var sb strings.Builder
	sb.WriteString("[[vantage]]\nname = \"internet\"\ncatch_all = true\n")
	for t := range benchTargets {
		fmt.Fprintf(&sb, "[[target]]\nname = \"t%d\"\naddress = \"10.%d.%d.1\"\n", t, t/250, t%250)
	}
	for t := range benchTargets {
		for e := range 100 {
			fmt.Fprintf(&sb, "[[expectation]]\nid = \"t%d-e%d\"\ntarget = \"t%d\"\ntransport = \"tcp\"\nprobe = \"tcp\"\nexpect = { internet = \"not_open\" }\n", t, e, t)
			switch {
			case e%10 == 9:
				fmt.Fprintf(&sb, "range = \"%d-%d\"\ntransport = \"udp\"\nprobe = \"rtp\"\n", 20000+e*10, 20000+e*10+9)
			case e%2 == 0:
				fmt.Fprintf(&sb, "port = %d\n", 1000+e)
			default:
				fmt.Fprintf(&sb, "ports = [%d, %d]\n", 2000+e, 3000+e)
			}
		}
	}
	// A duplicate key (transport, probe) is a TOML error; keep the last.
	text := strings.NewReplacer("transport = \"tcp\"\nprobe = \"tcp\"\nexpect = { internet = \"not_open\" }\nrange", "expect = { internet = \"not_open\" }\nrange").Replace(sb.String())
	f, err := config.Parse("bench.toml", []byte(text))
	if err != nil {
		b.Fatal(err)
	}
	return f
}

func BenchmarkPlan1000x100(b *testing.B) {
	f := benchFile(b)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		p, err := Make(f, "internet", Options{Seed: 1})
		if err != nil || len(p.Rows) != 100000 {
			b.Fatalf("%v, %d checks", err, len(p.Rows))
		}
	}
}

func BenchmarkPlanSweep65535(b *testing.B) {
	f, err := config.Parse("sweep.toml", []byte(`
[[vantage]]
name = "internet"
catch_all = true
[[target]]
name = "api"
address = "203.0.113.10"
[[expectation]]
id = "nothing-else"
target = "api"
range = "1-65535"
except_declared = true
transport = "tcp"
probe = "tcp"
expect = { internet = "not_open" }
`))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Make(f, "internet", Options{Seed: 1}); err != nil {
			b.Fatal(err)
		}
	}
}

var benchTargets = 1000

// A sweep of a small range probes exactly the ports no other expectation
// declares, down to none.
func TestSweepOfASmallRange(t *testing.T) {
	tests := []struct {
		name     string
		rng      string
		declared string
		want     []int
	}{
		{"one_port", "8000-8000", "[80]", []int{8000}},
		{"two_ports_one_declared", "8000-8001", "[8000]", []int{8001}},
		{"every_port_declared", "8000-8001", "[8000, 8001]", nil},
		{"three_ports", "8000-8002", "[80]", []int{8000, 8001, 8002}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := config.Parse("sweep.toml", []byte(fmt.Sprintf(`
[[vantage]]
name = "internet"
catch_all = true
[[target]]
name = "api"
address = "203.0.113.10"
[[expectation]]
id = "declared"
target = "api"
ports = %s
transport = "tcp"
probe = "tcp"
expect = { internet = "open" }
[[expectation]]
id = "rest"
target = "api"
range = %q
except_declared = true
transport = "tcp"
probe = "tcp"
expect = { internet = "not_open" }
`, tt.declared, tt.rng)))
			if err != nil {
				t.Fatal(err)
			}
			p, err := Make(f, "internet", Options{Seed: 1})
			if err != nil {
				t.Fatal(err)
			}
			var got []int
			for _, pt := range p.Rows[1].Ports {
				got = append(got, p.Tasks[pt.Task].Target.Port)
			}
			if !p.Rows[1].Sweep || !slices.Equal(got, tt.want) {
				t.Errorf("sweep %v probes %v; want %v", p.Rows[1].Sweep, got, tt.want)
			}
			// A task per port: a sweep with no port left adds no probe.
			if n := p.Probes(); n != len(p.Tasks) {
				t.Errorf("%d probes counted for %d tasks", n, len(p.Tasks))
			}
		})
	}
}

// With HalfOpen, a sweep the half-open scan can send is one task that
// every port of its row names, so a 65535-port sweep costs one task, not
// 65535; a sweep it cannot send (a banner to read, a name or an IPv6
// address) keeps a task per port, and HalfOpenSweeps, which decides
// whether a run opens a raw socket, agrees.
func TestHalfOpenSweepIsOneTask(t *testing.T) {
	for _, tc := range []struct {
		name, address, section string
		tasks                  int
	}{
		{"an IPv4 address", "203.0.113.10", "", 3},
		{"a name", "api.example.com", "", 65535},
		{"a banner to read", "203.0.113.10", "[expectation.tcp]\nbanner = \"SSH\"\n", 65535},
		{"an IPv6 address", "2001:db8::10", "", 65535},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := config.Parse("sweep.toml", []byte(sweepFile(tc.address, tc.section)))
			if err != nil {
				t.Fatal(err)
			}
			p, err := Make(f, "internet", Options{Seed: 1, HalfOpen: true})
			if err != nil {
				t.Fatal(err)
			}
			if len(p.Tasks) != tc.tasks {
				t.Fatalf("%d tasks; want %d", len(p.Tasks), tc.tasks)
			}
			c := p.Rows[1]
			if len(c.Ports) != 65533 {
				t.Fatalf("%d ports in the sweep; want 65533", len(c.Ports))
			}
			task := p.Tasks[c.Ports[0].Task]
			if half := tc.tasks == 3; task.HalfOpen() != half {
				t.Fatalf("the sweep's task is half-open: %v; want %v", task.HalfOpen(), half)
			}
			// Whether a run wants a raw socket is the plan's own question.
			if got := HalfOpenSweeps(f, "internet"); got != task.HalfOpen() {
				t.Errorf("HalfOpenSweeps says %v; the plan's sweep is half-open: %v", got, task.HalfOpen())
			}
			if !task.HalfOpen() {
				return
			}
			for _, pt := range c.Ports {
				if pt.Task != c.Ports[0].Task {
					t.Fatalf("port %d names task %d; want the sweep's one task %d", pt.Port, pt.Task, c.Ports[0].Task)
				}
			}
			if task.Target.Port != 0 || !task.Identify || task.Target.Host != tc.address {
				t.Errorf("the sweep's task %+v; want port 0, identify, the target's address", task)
			}
			if p.Tasks[p.Rows[0].Ports[0].Task].HalfOpen() {
				t.Error("a declared port's task is half-open; only a sweep's is")
			}
		})
	}
}

// A UDP sweep's ports go out together (the kind sends them from one
// socket): one task, in the row's group (paced beside the host's ranges),
// that every port of the row names, as a half-open sweep is; a TCP sweep
// sent as connects is a task per port, in no group.
func TestUDPSweepIsOneTask(t *testing.T) {
	for _, tc := range []struct {
		transport, probe string
		whole            bool
	}{
		{"tcp", "tcp", false},
		{"udp", "udp", true},
	} {
		t.Run(tc.probe, func(t *testing.T) {
			f, err := config.Parse("sweep.toml", []byte(fmt.Sprintf(`
[[vantage]]
name = "internet"
catch_all = true
[[target]]
name = "api"
address = "203.0.113.10"
[[expectation]]
id = "declared"
target = "api"
ports = [8001]
transport = %[1]q
probe = %[2]q
expect = { internet = "not_open" }
[[expectation]]
id = "rest"
target = "api"
range = "8000-8003"
except_declared = true
transport = %[1]q
probe = %[2]q
expect = { internet = "not_open" }
`, tc.transport, tc.probe)))
			if err != nil {
				t.Fatal(err)
			}
			p, err := Make(f, "internet", Options{Seed: 1})
			if err != nil {
				t.Fatal(err)
			}
			c := p.Rows[1]
			var ports []int
			var groups []string
			tasks := map[int]bool{}
			for _, pt := range c.Ports {
				ports = append(ports, pt.Port)
				groups = append(groups, p.Tasks[pt.Task].Group)
				tasks[pt.Task] = true
			}
			if !c.Sweep || !slices.Equal(ports, []int{8000, 8002, 8003}) {
				t.Fatalf("sweep %v of ports %v; want 8000, 8002, 8003 (8001 is declared)", c.Sweep, ports)
			}
			want := []string{"", "", ""}
			if tc.whole {
				want = []string{"rest", "rest", "rest"}
			}
			if !slices.Equal(groups, want) {
				t.Errorf("groups %q; want %q", groups, want)
			}
			task := p.Tasks[c.Ports[0].Task]
			switch {
			case tc.whole && (len(tasks) != 1 || !task.Whole || task.HalfOpen() || task.Target.Port != 0 || len(p.Tasks) != 2):
				t.Errorf("%d tasks for the sweep (%d in all), the first %+v; want one whole UDP task, port 0, beside the declared port's", len(tasks), len(p.Tasks), task)
			case !tc.whole && (len(tasks) != 3 || task.Whole):
				t.Errorf("%d tasks for the sweep, the first whole: %v; want one connect per port", len(tasks), task.Whole)
			}
			if d := p.Tasks[p.Rows[0].Ports[0].Task]; d.Whole || d.Target.Port != 8001 {
				t.Errorf("the declared port's task %+v; want its own, to 8001", d)
			}
			if got := HalfOpenSweeps(f, "internet"); got != !tc.whole {
				t.Errorf("HalfOpenSweeps %v; want %v: a raw socket serves a TCP sweep, never a UDP one", got, !tc.whole)
			}
			if n := p.Probes(); n != 4 {
				t.Errorf("%d probes; want 4: the declared port and the sweep's 3, however many tasks they are", n)
			}
		})
	}
}

// A file whose only row is a half-open sweep plans that one task.
func TestHalfOpenSweepAlone(t *testing.T) {
	f, err := config.Parse("sweep.toml", []byte(`
[[vantage]]
name = "internet"
catch_all = true
[[target]]
name = "api"
address = "203.0.113.10"
[[expectation]]
id = "everything"
target = "api"
range = "1-65535"
transport = "tcp"
probe = "tcp"
expect = { internet = "not_open" }
`))
	if err != nil {
		t.Fatal(err)
	}
	p, err := Make(f, "internet", Options{Seed: 1, HalfOpen: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Tasks) != 1 || !p.Tasks[0].HalfOpen() || len(p.Rows[0].Ports) != 65535 {
		t.Errorf("%d tasks (first half-open: %v) for %d ports; want one half-open task for all 65535", len(p.Tasks), len(p.Tasks) > 0 && p.Tasks[0].HalfOpen(), len(p.Rows[0].Ports))
	}
}
