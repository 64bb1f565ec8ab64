package runner

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"probe/internal/config"
	"probe/internal/plan"
	"probe/internal/report"
	"probe/internal/testutil"
)

// networkedFile writes a file with a runner on "app", whose loopback port
// is a listener of the test's, and a database reached by name.
func networkedFile(t *testing.T, port int) *config.File {
	t.Helper()
	src := fmt.Sprintf(`
[[vantage]]
name = "app"
network = "vpc"
host = "app"
cidrs = ["203.0.113.10/32"]

[[vantage]]
name = "internet"
network = "internet"
catch_all = true

[[target]]
name = "app"
public = "203.0.113.10"
private = "10.0.1.10"

[[target]]
name = "db"
private = "db.internal.example"

[[target]]
name = "cdn"
public = "cdn.example"

[[expectation]]
id = "app-local"
target = "app"
port = %d
transport = "tcp"
probe = "tcp"
at = "loopback"
expect = { app = "open" }

[[expectation]]
id = "db"
target = "db"
port = 5432
transport = "tcp"
probe = "tcp"
expect = { app = "open" }

[[expectation]]
id = "cdn"
target = "cdn"
port = %d
transport = "tcp"
probe = "tcp"
expect = { internet = "filtered" }
`, port, port)
	path := filepath.Join(t.TempDir(), "net.toml")
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// TestNameThatDoesNotResolveProbesNothing: the run stops before the first
// packet, and the error says where the name was given.
func TestNameThatDoesNotResolveProbesNothing(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var accepted atomic.Int32
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			c.Close()
		}
	}()
	f := networkedFile(t, ln.Addr().(*net.TCPAddr).Port)
	nxdomain := func(ctx context.Context, name string) ([]string, error) {
		return nil, &net.DNSError{Err: "no such host", Name: name, IsNotFound: true}
	}
	rep, err := Run(context.Background(), f, Options{Vantage: Located{Name: "app"}, Resolve: nxdomain})
	if err == nil {
		t.Fatalf("Run made a report (%d results) from a name that does not resolve", len(rep.Results))
	}
	want := f.Path + ":20:1: target[1].private: \"db.internal.example\" does not resolve"
	if !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "nothing was probed") {
		t.Errorf("error %q; want it to say %q and that nothing was probed", err, want)
	}
	if n := accepted.Load(); n != 0 {
		t.Errorf("%d connections reached the loopback target; want none", n)
	}
	// A resolver that does not answer is the run's trouble, not the
	// file's: the run goes on, and the name's rows say so.
	down := func(ctx context.Context, name string) ([]string, error) {
		return nil, &net.DNSError{Err: "connection refused", Name: name, Server: "198.51.100.1:53"}
	}
	p, err := plan.Make(f, "app", plan.Options{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := resolveNames(context.Background(), f, p, down); err != nil {
		t.Errorf("a resolver outage stopped the run: %v", err)
	}
}

func TestPublicNameResolvingPrivatelyCannotPass(t *testing.T) {
	f := networkedFile(t, 1)
	p, err := plan.Make(f, "internet", plan.Options{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	lan := func(ctx context.Context, name string) ([]string, error) { return []string{"192.168.1.20"}, nil }
	doubts, err := resolveNames(context.Background(), f, p, lan)
	if err != nil {
		t.Fatal(err)
	}
	rep := &report.Report{Results: []report.Result{
		{ID: "cdn", Target: "cdn", At: config.AtPublic, Verdict: "pass", Reason: "filtered, as expected"},
	}}
	applyDoubts(rep, doubts)
	r := rep.Results[0]
	if r.Verdict != "inconclusive" || !strings.Contains(r.Reason, "192.168.1.20") || !strings.Contains(r.Reason, "own network") {
		t.Errorf("verdict %s, reason %q; want inconclusive, naming the private address", r.Verdict, r.Reason)
	}
	if rep.Summary.Inconclusive != 1 || rep.Summary.Pass != 0 {
		t.Errorf("summary %+v", rep.Summary)
	}
	// The same name resolving publicly casts no doubt.
	wan := func(ctx context.Context, name string) ([]string, error) { return []string{"198.51.100.80"}, nil }
	if doubts, err := resolveNames(context.Background(), f, p, wan); err != nil || len(doubts) != 0 {
		t.Errorf("public resolution: doubts %v, err %v; want none", doubts, err)
	}
}

func TestCheckHostWantsThePrivateAddressHere(t *testing.T) {
	f := networkedFile(t, 1)
	defer func(old func() ([]netip.Addr, error)) { localAddrs = old }(localAddrs)
	tests := []struct {
		have []netip.Addr
		err  error
		want string // "" for no error
	}{
		{[]netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("10.0.1.10")}, nil, ""},
		{[]netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("10.0.1.20")}, nil,
			"vantage app runs on app, but no interface here holds its private address 10.0.1.10 (" + f.Path + ":16:1: target[0].private)"},
		{nil, errors.New("no netlink"), "cannot be listed: no netlink"},
	}
	for _, tt := range tests {
		localAddrs = func() ([]netip.Addr, error) { return tt.have, tt.err }
		err := checkHost(f, "app")
		if (tt.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("with %v: error %v; want %q", tt.have, err, tt.want)
		}
	}
	localAddrs = func() ([]netip.Addr, error) { return nil, nil }
	if err := checkHost(f, "internet"); err != nil {
		t.Errorf("a vantage with no host: %v", err)
	}
}

// cdnPlan plans, from the internet, a file whose one row probes the
// public name cdn.example (given at line 9) on 443/tcp, naming family, or
// none when it is "".
func cdnPlan(t *testing.T, family string) (*config.File, *plan.Plan) {
	t.Helper()
	if family != "" {
		family = fmt.Sprintf("family = %q\n", family)
	}
	f, err := config.Parse("named.toml", fmt.Appendf(nil, `
[[vantage]]
name = "internet"
network = "internet"
catch_all = true

[[target]]
name = "cdn"
public = "cdn.example"

[[expectation]]
id = "cdn"
target = "cdn"
port = 443
transport = "tcp"
probe = "tcp"
%sexpect = { internet = "filtered" }
`, family))
	if err != nil {
		t.Fatal(err)
	}
	p, err := plan.Make(f, "internet", plan.Options{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	return f, p
}

// Two targets at one public name share the plan's task (named for the
// first), and a private address the name resolves to casts its doubt on
// both: the second's silence must not pass on the first's answers.
func TestPublicNameResolvingPrivatelyDoubtsEveryTargetAtIt(t *testing.T) {
	f, err := config.Parse("shared.toml", []byte(`
[[vantage]]
name = "internet"
network = "internet"
catch_all = true
[[target]]
name = "one"
public = "app.example"
[[target]]
name = "two"
public = "app.example"
[[expectation]]
id = "one-ssh"
target = "one"
port = 22
transport = "tcp"
probe = "tcp"
expect = { internet = "filtered" }
[[expectation]]
id = "two-ssh"
target = "two"
port = 22
transport = "tcp"
probe = "tcp"
expect = { internet = "filtered" }
`))
	if err != nil {
		t.Fatal(err)
	}
	p, err := plan.Make(f, "internet", plan.Options{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Tasks) != 1 {
		t.Fatalf("%d tasks; want the two rows' one", len(p.Tasks))
	}
	lan := func(ctx context.Context, name string) ([]string, error) { return []string{"192.168.1.20"}, nil }
	doubts, err := resolveNames(context.Background(), f, p, lan)
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"one@public", "two@public"} {
		if !strings.Contains(doubts[path], "192.168.1.20") {
			t.Errorf("%s: doubt %q; want the private address named (doubts %v)", path, doubts[path], doubts)
		}
	}
}

// A name probed over both families: each row's tasks dial it over their
// family (its A, its AAAA records), and before anything is sent the name
// must have a record of each: none of one stops the run at the key that
// gave the name. A private AAAA record casts its doubt on the IPv6 results
// alone.
func TestNameOverEachFamily(t *testing.T) {
	f, p := cdnPlan(t, "both")
	var dialled []string
	for _, task := range p.Tasks {
		dialled = append(dialled, task.Target.Name+" "+task.Target.Host+" "+task.Target.Network("tcp"))
	}
	if strings.Join(dialled, "; ") != "cdn@public cdn.example tcp4; cdn@public/ipv6 cdn.example tcp6" {
		t.Errorf("tasks dial %q; want the name over tcp4 and over tcp6", dialled)
	}
	answers := func(addrs ...string) Resolver {
		return func(ctx context.Context, name string) ([]string, error) { return addrs, nil }
	}
	_, err := resolveNames(context.Background(), f, p, answers("198.51.100.80"))
	if want := "named.toml:9:1: target[0].public: \"cdn.example\" has no AAAA record, so it cannot be probed over ipv6"; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("a name without an AAAA record: %v; want %q", err, want)
	}
	doubts, err := resolveNames(context.Background(), f, p, answers("198.51.100.80", "fd00::80"))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := doubts["cdn@public/ipv6"]; !ok || len(doubts) != 1 || !strings.Contains(doubts["cdn@public/ipv6"], "fd00::80") {
		t.Errorf("doubts %v; want the private AAAA record's, on the IPv6 results alone", doubts)
	}
	if doubts, err := resolveNames(context.Background(), f, p, answers("198.51.100.80", "2001:db8::80")); err != nil || len(doubts) != 0 {
		t.Errorf("public A and AAAA records: doubts %v, err %v; want none", doubts, err)
	}
}

// A row of a name that names no family is planned over IPv4 alone (a
// public name is not known to have IPv6), so it is dialled over IPv4
// alone: never as the resolver orders the records, which would send it
// over IPv6 from an address STUN never saw. A name with AAAA records only
// is refused before anything is sent, naming the key.
func TestNameWithoutFamilyIsDialledOverIPv4(t *testing.T) {
	f, p := cdnPlan(t, "")
	if len(p.Tasks) != 1 || p.Tasks[0].Target.Network("tcp") != "tcp4" || p.Rows[0].Family != "" {
		t.Fatalf("tasks %+v, row family %q; want one task dialled over tcp4, its row's results without a family", p.Tasks, p.Rows[0].Family)
	}
	v6only := func(ctx context.Context, name string) ([]string, error) { return []string{"2001:db8::80"}, nil }
	if _, err := resolveNames(context.Background(), f, p, v6only); err == nil || !strings.Contains(err.Error(), `named.toml:9:1: target[0].public: "cdn.example" has no A record`) {
		t.Errorf("a name with AAAA records only: %v; want it refused at target[0].public", err)
	}
}

// A run sends a name one probe per family its rows name, each dialled at
// that family's records, as probe plan lists them: over IPv4 localhost
// answers at 127.0.0.1; over IPv6 it has no address here (this machine's
// hosts file gives it none, though the resolver the run checks names
// with is told of ::1), so that probe cannot be made, and says why rather
// than reaching the IPv4 address.
func TestRunSendsANameOverEachFamily(t *testing.T) {
	port := testutil.Port(testutil.Greeter(t, "127.0.0.1:0", "").Addr())
	f, err := config.Parse("local.toml", fmt.Appendf(nil, `
[defaults]
timeout = "1s"
[[vantage]]
name = "internet"
network = "internet"
catch_all = true
[[target]]
name = "local"
public = "localhost"
[[expectation]]
id = "web"
target = "local"
port = %d
transport = "tcp"
probe = "tcp"
family = "both"
expect = { internet = "open" }
`, port))
	if err != nil {
		t.Fatal(err)
	}
	p, err := plan.Make(f, "internet", plan.Options{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	both := func(ctx context.Context, name string) ([]string, error) { return []string{"127.0.0.1", "::1"}, nil }
	rep, err := Run(context.Background(), f, Options{
		Vantage:  Located{Name: "internet", Established: "stun-confirmed", NetworkEvidence: "test"},
		Resolve:  both,
		Progress: func(done, n int) { total = n },
	})
	if err != nil {
		t.Fatal(err)
	}
	if total != 2 || len(p.Tasks) != total {
		t.Errorf("the run sent %d probes, the plan lists %d; want 2, one per family", total, len(p.Tasks))
	}
	var got []string
	for _, r := range rep.Results {
		o := r.Evidence[0].Observation
		got = append(got, fmt.Sprintf("%s %s %s %s", r.Family, r.Verdict, o.State, o.Error))
	}
	if want := []string{"ipv4 pass open ", "ipv6 error  resolve"}; !slices.Equal(got, want) {
		t.Errorf("results %q; want %q", got, want)
	}
}
