package runner

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"probe/internal/config"
	"probe/internal/plan"
	"probe/internal/report"
)

// lookupFile is an RDS endpoint's row: its name must resolve only to
// private addresses, asked from the internet and from a runner inside.
func lookupFile(t *testing.T, name string) *config.File {
	t.Helper()
	src := `
[[vantage]]
name = "internet"
network = "internet"
catch_all = true

[[vantage]]
name = "app"
network = "vpc"
cidrs = ["203.0.113.10/32"]

[[target]]
name = "db"
private = "` + name + `"

[[expectation]]
id = "db-name"
target = "db"
probe = "resolve"
purpose = "not publicly accessible"
expect = { internet = "private", app = "private" }
`
	path := filepath.Join(t.TempDir(), "names.toml")
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func answers(addrs ...string) Resolver {
	return func(context.Context, string) ([]string, error) { return addrs, nil }
}

func TestResolveRows(t *testing.T) {
	nx := func(_ context.Context, name string) ([]string, error) {
		return nil, &net.DNSError{Err: "no such host", Name: name, IsNotFound: true}
	}
	down := func(_ context.Context, name string) ([]string, error) {
		return nil, &net.DNSError{Err: "i/o timeout", Name: name, IsTimeout: true}
	}
	for _, c := range []struct {
		name        string
		address     string
		resolve     Resolver
		established string
		verdict     string
		observed    string
		reason      string
		addrs       int
	}{
		{"private only", "db.example", answers("10.0.2.10", "10.0.3.10"), "stun-confirmed", "pass", "private", "resolves to 10.0.2.10 (private), 10.0.3.10 (private)", 2},
		{"made publicly accessible", "db.example", answers("198.51.100.7"), "stun-confirmed", "fail", "public", "expected every address to be private; db.example resolves to 198.51.100.7 (public)", 1},
		{"one public among private", "db.example", answers("10.0.2.10", "198.51.100.7"), "stun-confirmed", "fail", "mixed", "198.51.100.7 (public)", 2},
		{"loopback is neither", "db.example", answers("127.0.0.1"), "stun-confirmed", "fail", "other", "neither public nor private", 1},
		{"not confirmed: may stand inside", "db.example", answers("10.0.2.10"), "unconfirmed", "inconclusive", "private", "not confirmed over STUN", 1},
		{"does not resolve here", "db.example", nx, "stun-confirmed", "inconclusive", "none", "does not resolve from this vantage", 0},
		{"resolver down", "db.example", down, "stun-confirmed", "error", "error", "looking db.example up failed", 0},
		{"an IP, taken as given", "10.0.2.10", nx, "stun-confirmed", "pass", "private", "10.0.2.10 is given as an IP address, not a name (nothing to look up): private", 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := lookupFile(t, c.address)
			rep, err := Run(context.Background(), f, Options{Vantage: Located{Name: "internet", Established: c.established}, Resolve: c.resolve})
			if err != nil {
				t.Fatal(err)
			}
			if len(rep.Results) != 1 {
				t.Fatalf("%d results; want the one row", len(rep.Results))
			}
			r := rep.Results[0]
			if r.Verdict != c.verdict || r.Observed != c.observed || !strings.Contains(r.Reason, c.reason) {
				t.Errorf("verdict %s, observed %q, reason %q; want %s, %q, a reason with %q", r.Verdict, r.Observed, r.Reason, c.verdict, c.observed, c.reason)
			}
			if r.Resolved == nil || len(r.Resolved.Addresses) != c.addrs || r.Resolved.Name != c.address {
				t.Errorf("resolved %+v; want %s and %d addresses", r.Resolved, c.address, c.addrs)
			}
			if r.Address != c.address || r.At != config.AtPrivate || len(r.Ports) != 0 || r.Probe != "resolve" {
				t.Errorf("row %+v", r)
			}
			if want := report.Count(rep.Results); rep.Summary.Total != 1 || rep.Summary.Pass != want.Pass || rep.Summary.Fail != want.Fail {
				t.Errorf("summary %+v; want it to count the row (%+v)", rep.Summary, want)
			}
		})
	}
}

// The plan of a resolve row sends nothing: no task, one lookup, from any
// vantage (the internet cannot reach a private address, but it can ask
// what a name resolves to).
func TestResolveRowPlansNoProbe(t *testing.T) {
	f := lookupFile(t, "db.example")
	for _, v := range []string{"internet", "app"} {
		p, err := plan.Make(f, v, plan.Options{Seed: 1})
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Tasks) != 0 || len(p.Rows) != 0 || len(p.Lookups) != 1 || p.Lookups[0].Name != "db.example" || p.Lookups[0].Expected != "private" {
			t.Errorf("from %s: %d tasks, %d rows, lookups %+v; want one lookup of db.example and nothing sent", v, len(p.Tasks), len(p.Rows), p.Lookups)
		}
	}
}
