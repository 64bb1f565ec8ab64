package kinds

import (
	"context"
	"net"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pelletier/go-toml/v2"

	"probe/internal/testutil"
	"probe/probes"
	"probe/probes/postgres"
	"probe/probes/redis"
	"probe/probes/tlsinfo"
)

func ptrCode(c int) *int { return &c }

func TestPostgresSectionValidate(t *testing.T) {
	cases := []struct {
		name string
		s    PostgresSection
		keys []string
	}{
		{"empty", PostgresSection{}, nil},
		{"reference", PostgresSection{TLS: ptrBool(true), PlaintextRejected: ptrBool(true), AuthRequired: ptrBool(true), User: "probe", TLSChecks: TLSChecks{ServerName: "database.irisx.internal", ChainVerifies: ptrBool(true), MinDaysLeft: ptrInt(14), MinTLSVersion: "1.2"}}, nil},
		{"user with spaces", PostgresSection{User: " probe"}, []string{"user"}},
		{"database with a control character", PostgresSection{Database: "a\x00b"}, []string{"database"}},
		{"no TLS and plaintext rejected", PostgresSection{TLS: ptrBool(false), PlaintextRejected: ptrBool(true)}, []string{"plaintext_rejected"}},
		{"bad TLS version", PostgresSection{TLSChecks: TLSChecks{MinTLSVersion: "TLSv1.3"}}, []string{"min_tls_version"}},
		{"negative days", PostgresSection{TLSChecks: TLSChecks{MinDaysLeft: ptrInt(-1)}}, []string{"min_days_left"}},
		{"server name with port", PostgresSection{TLSChecks: TLSChecks{ServerName: "db:5432"}}, []string{"server_name"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { wantProblemsAt(t, c.s.Validate(), c.keys) })
	}
}

func TestRedisSectionValidate(t *testing.T) {
	cases := []struct {
		name string
		s    RedisSection
		keys []string
	}{
		{"empty", RedisSection{}, nil},
		{"reference", RedisSection{TLS: ptrBool(true), AuthRequired: ptrBool(true), TLSChecks: TLSChecks{ChainVerifies: ptrBool(true), MinDaysLeft: ptrInt(14)}}, nil},
		{"certificate checks without TLS", RedisSection{TLS: ptrBool(false), TLSChecks: TLSChecks{MinDaysLeft: ptrInt(1), ChainVerifies: ptrBool(true), MinTLSVersion: "1.2"}},
			[]string{"chain_verifies", "min_days_left", "min_tls_version"}},
		{"bad TLS version", RedisSection{TLSChecks: TLSChecks{MinTLSVersion: "1.4"}}, []string{"min_tls_version"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { wantProblemsAt(t, c.s.Validate(), c.keys) })
	}
}

// The keys the README documents decode strictly into the sections.
func TestDataTierSectionKeys(t *testing.T) {
	decode := func(doc string, v any) {
		t.Helper()
		dec := toml.NewDecoder(strings.NewReader(doc))
		dec.DisallowUnknownFields()
		if err := dec.Decode(v); err != nil {
			t.Fatal(err)
		}
	}
	var pg PostgresSection
	decode(`user = "probe"
database = "app"
tls = true
plaintext_rejected = true
auth_required = true
server_name = "db.example"
ca_file = "rds-ca.pem"
min_tls_version = "1.2"
min_days_left = 14
chain_verifies = true`, &pg)
	wantPG := PostgresSection{User: "probe", Database: "app", TLS: ptrBool(true), PlaintextRejected: ptrBool(true), AuthRequired: ptrBool(true), TLSChecks: TLSChecks{ServerName: "db.example", CAFile: "rds-ca.pem", MinTLSVersion: "1.2", MinDaysLeft: ptrInt(14), ChainVerifies: ptrBool(true)}}
	if !reflect.DeepEqual(pg, wantPG) {
		t.Errorf("decoded %+v; want %+v", pg, wantPG)
	}
	var rd RedisSection
	decode(`tls = true
auth_required = true
server_name = "cache.example"
ca_file = "ca.pem"
min_tls_version = "1.2"
min_days_left = 14
chain_verifies = true`, &rd)
	wantRD := RedisSection{TLS: ptrBool(true), AuthRequired: ptrBool(true), TLSChecks: TLSChecks{ServerName: "cache.example", CAFile: "ca.pem", MinTLSVersion: "1.2", MinDaysLeft: ptrInt(14), ChainVerifies: ptrBool(true)}}
	if !reflect.DeepEqual(rd, wantRD) {
		t.Errorf("decoded %+v; want %+v", rd, wantRD)
	}
}

func verifiedTLS(version string, days int) *tlsinfo.Facts {
	return &tlsinfo.Facts{Version: version, DaysLeft: days, NotAfter: "2027-01-01T00:00:00Z", VerifyName: "db.test", Verified: ptrBool(true)}
}

// judged runs a kind's Assert on facts, as the judge does for an open port,
// and returns assertion name → "pass", "fail", "undecided" or "critical".
func judged(kind string, facts any, section Section) map[string]string {
	out := map[string]string{}
	for _, a := range Lookup(kind).Assert(probes.Observation{State: probes.Open, Facts: facts, Outcome: "seen"}, Params{Section: section}) {
		switch {
		case a.Pass:
			out[a.Name] = "pass"
		case a.Undecided:
			out[a.Name] = "undecided"
		case a.Critical:
			out[a.Name] = "critical"
		default:
			out[a.Name] = "fail"
		}
		if a.Expected == "" || a.Observed == "" {
			out[a.Name] += " (without words)"
		}
	}
	return out
}

func TestCheckPostgres(t *testing.T) {
	all := &PostgresSection{TLS: ptrBool(true), PlaintextRejected: ptrBool(true), AuthRequired: ptrBool(true), TLSChecks: TLSChecks{MinDaysLeft: ptrInt(14), MinTLSVersion: "1.2", ChainVerifies: ptrBool(true)}}
	scram := &postgres.Startup{Answer: postgres.AuthRequested, AuthCode: ptrCode(10), Method: "sasl", Mechanisms: []string{"SCRAM-SHA-256"}}
	md5 := &postgres.Startup{Answer: postgres.AuthRequested, AuthCode: ptrCode(5), Method: "md5"}
	trust := &postgres.Startup{Answer: postgres.NoAuth, AuthCode: ptrCode(0), Method: "trust"}
	hba := &postgres.Startup{Answer: postgres.Refused, SQLState: "28000", Severity: "FATAL", Message: "pg_hba.conf rejects connection ... no encryption"}
	busy := &postgres.Startup{Answer: postgres.Refused, SQLState: "53300", Severity: "FATAL", Message: "sorry, too many clients already"}
	silent := &postgres.Startup{Answer: postgres.NoAnswer, Detail: "no answer before the timeout"}
	cases := []struct {
		name  string
		facts *postgres.Facts
		want  map[string]string
	}{
		{"the reference deployment", &postgres.Facts{SSLAnswer: "S", TLS: verifiedTLS("TLS 1.3", 60), User: "probe", TLSStartup: scram, PlaintextStartup: hba},
			map[string]string{"tls": "pass", "plaintext_rejected": "pass", "auth_required": "pass", "min_days_left": "pass", "min_tls_version": "pass", "chain_verifies": "pass"}},
		{"plaintext accepted too", &postgres.Facts{SSLAnswer: "S", TLS: verifiedTLS("TLS 1.3", 60), TLSStartup: scram, PlaintextStartup: md5},
			map[string]string{"tls": "pass", "plaintext_rejected": "fail", "auth_required": "pass", "min_days_left": "pass", "min_tls_version": "pass", "chain_verifies": "pass"}},
		{"trust over TLS", &postgres.Facts{SSLAnswer: "S", TLS: verifiedTLS("TLS 1.2", 60), TLSStartup: trust, PlaintextStartup: hba},
			map[string]string{"tls": "pass", "plaintext_rejected": "pass", "auth_required": "critical", "min_days_left": "pass", "min_tls_version": "pass", "chain_verifies": "pass"}},
		{"no TLS at all", &postgres.Facts{SSLAnswer: "N", PlaintextStartup: scram},
			map[string]string{"tls": "fail", "plaintext_rejected": "fail", "auth_required": "pass", "min_days_left": "fail", "min_tls_version": "fail", "chain_verifies": "fail"}},
		{"trust without TLS", &postgres.Facts{SSLAnswer: "N", PlaintextStartup: trust},
			map[string]string{"tls": "fail", "plaintext_rejected": "critical", "auth_required": "critical", "min_days_left": "fail", "min_tls_version": "fail", "chain_verifies": "fail"}},
		{"old TLS, near expiry, untrusted", &postgres.Facts{SSLAnswer: "S", TLS: &tlsinfo.Facts{Version: "TLS 1.1", DaysLeft: 3, Verified: ptrBool(false), VerifyError: "unknown authority"}, TLSStartup: scram, PlaintextStartup: hba},
			map[string]string{"tls": "pass", "plaintext_rejected": "pass", "auth_required": "pass", "min_days_left": "fail", "min_tls_version": "fail", "chain_verifies": "fail"}},
		{"the probe's role turned away, the server busy", &postgres.Facts{SSLAnswer: "S", TLS: verifiedTLS("TLS 1.3", 60), User: "probe", TLSStartup: hba, PlaintextStartup: busy},
			map[string]string{"tls": "pass", "plaintext_rejected": "undecided", "auth_required": "undecided", "min_days_left": "pass", "min_tls_version": "pass", "chain_verifies": "pass"}},
		{"handshake failed", &postgres.Facts{SSLAnswer: "S", TLS: &tlsinfo.Facts{}, PlaintextStartup: silent},
			map[string]string{"tls": "fail", "plaintext_rejected": "undecided", "auth_required": "undecided", "min_days_left": "fail", "min_tls_version": "fail", "chain_verifies": "fail"}},
		{"no facts", nil,
			map[string]string{"tls": "fail", "plaintext_rejected": "undecided", "auth_required": "undecided", "min_days_left": "fail", "min_tls_version": "fail", "chain_verifies": "fail"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var facts any
			if c.facts != nil {
				facts = c.facts
			}
			if got := judged("postgres", facts, all); !reflect.DeepEqual(got, c.want) {
				t.Errorf("got %v\nwant %v", got, c.want)
			}
		})
	}
	// The other way round: a file that documents a server without TLS.
	loose := &PostgresSection{TLS: ptrBool(false), PlaintextRejected: ptrBool(false), AuthRequired: ptrBool(false)}
	got := judged("postgres", &postgres.Facts{SSLAnswer: "N", PlaintextStartup: trust}, loose)
	if want := map[string]string{"tls": "pass", "plaintext_rejected": "pass", "auth_required": "pass"}; !reflect.DeepEqual(got, want) {
		t.Errorf("loose: got %v, want %v", got, want)
	}
}

func TestCheckRedis(t *testing.T) {
	all := &RedisSection{TLS: ptrBool(true), AuthRequired: ptrBool(true), TLSChecks: TLSChecks{MinDaysLeft: ptrInt(14), ChainVerifies: ptrBool(true)}}
	reply := func(s string) *redis.Reply { return &redis.Reply{Type: s[:1], Text: s[1:]} }
	noReply := redis.Exchange{Outcome: "reset"}
	overTLS := func(s string) *redis.Exchange { return &redis.Exchange{Reply: reply(s)} }
	cases := []struct {
		name  string
		facts *redis.Facts
		want  map[string]string
	}{
		{"the reference deployment", &redis.Facts{Plaintext: noReply, TLS: verifiedTLS("TLS 1.3", 60), TLSPing: overTLS("-NOAUTH Authentication required.")},
			map[string]string{"tls": "pass", "auth_required": "pass", "min_days_left": "pass", "chain_verifies": "pass"}},
		{"TLS without a password", &redis.Facts{Plaintext: noReply, TLS: verifiedTLS("TLS 1.3", 60), TLSPing: overTLS("+PONG")},
			map[string]string{"tls": "pass", "auth_required": "critical", "min_days_left": "pass", "chain_verifies": "pass"}},
		{"a password without TLS", &redis.Facts{Plaintext: redis.Exchange{Reply: reply("-NOAUTH Authentication required.")}},
			map[string]string{"tls": "fail", "auth_required": "pass", "min_days_left": "fail", "chain_verifies": "fail"}},
		{"neither", &redis.Facts{Plaintext: redis.Exchange{Reply: reply("+PONG")}},
			map[string]string{"tls": "fail", "auth_required": "critical", "min_days_left": "fail", "chain_verifies": "fail"}},
		{"ACL without PING", &redis.Facts{Plaintext: noReply, TLS: verifiedTLS("TLS 1.3", 60), TLSPing: overTLS("-NOPERM this user has no permissions to run the 'ping' command")},
			map[string]string{"tls": "pass", "auth_required": "undecided", "min_days_left": "pass", "chain_verifies": "pass"}},
		{"protected mode", &redis.Facts{Plaintext: redis.Exchange{Reply: reply("-DENIED Redis is running in protected mode")}},
			map[string]string{"tls": "fail", "auth_required": "fail", "min_days_left": "fail", "chain_verifies": "fail"}},
		{"TLS, then silence", &redis.Facts{Plaintext: noReply, TLS: verifiedTLS("TLS 1.3", 60), TLSPing: &redis.Exchange{Outcome: "no answer before the timeout"}},
			map[string]string{"tls": "undecided", "auth_required": "undecided", "min_days_left": "pass", "chain_verifies": "pass"}},
		{"not Redis", &redis.Facts{Plaintext: redis.Exchange{Outcome: "not RESP", Bytes: "SSH-2.0"}, TLS: &tlsinfo.Facts{}},
			map[string]string{"tls": "undecided", "auth_required": "undecided", "min_days_left": "fail", "chain_verifies": "fail"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := judged("redis", c.facts, all); !reflect.DeepEqual(got, c.want) {
				t.Errorf("got %v\nwant %v", got, c.want)
			}
		})
	}
}

func TestTLSChanges(t *testing.T) {
	old := verifiedTLS("TLS 1.3", 60)
	kinds := func(ch []FactChange) []string {
		var out []string
		for _, c := range ch {
			if c.Detail == "" || !c.Matters {
				t.Errorf("change %+v: want words, and one that matters", c)
			}
			out = append(out, c.Kind)
		}
		return out
	}
	if got := kinds(tlsChanges(old, verifiedTLS("TLS 1.2", 60))); !reflect.DeepEqual(got, []string{"tls-version-dropped"}) {
		t.Errorf("1.3 to 1.2: %v", got)
	}
	if got := kinds(tlsChanges(old, &tlsinfo.Facts{})); !reflect.DeepEqual(got, []string{"tls-lost"}) {
		t.Errorf("TLS gone: %v", got)
	}
	if got := tlsChanges(verifiedTLS("TLS 1.2", 60), old); len(got) != 0 {
		t.Errorf("1.2 to 1.3 is no news: %v", got)
	}
	if got := tlsChanges(nil, old); len(got) != 0 {
		t.Errorf("TLS gained is no news: %v", got)
	}
}

// The kinds' Run gives each probe the section's options: against fakes on
// loopback, the postgres kind makes the plaintext connection only when
// plaintext_rejected is asked, and names the section's user.
func TestPostgresKindRun(t *testing.T) {
	var (
		mu    sync.Mutex
		users []string
	)
	ln := testutil.ServeTCP(t, func(c net.Conn) {
		_ = c.SetDeadline(time.Now().Add(3 * time.Second))
		buf := make([]byte, 256)
		n, err := c.Read(buf)
		if err != nil {
			return
		}
		if n == 8 { // SSLRequest
			_, _ = c.Write([]byte("N"))
			if n, err = c.Read(buf); err != nil {
				return
			}
		}
		fields := strings.Split(string(buf[8:n]), "\x00")
		if len(fields) > 1 && fields[0] == "user" {
			mu.Lock()
			users = append(users, fields[1])
			mu.Unlock()
		}
		_, _ = c.Write([]byte("R\x00\x00\x00\x0c\x00\x00\x00\x05salt"))
	})
	target := probes.Target{Name: "db", Host: "127.0.0.1", Port: testutil.Port(ln.Addr()), Transport: "tcp"}
	sec := &PostgresSection{User: "monitor", PlaintextRejected: ptrBool(true), AuthRequired: ptrBool(true)}
	k := Lookup("postgres")
	if n := k.Exchanges(Params{Section: sec}); n != 2 {
		t.Errorf("Exchanges = %d; want 2 (two connections at most)", n)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	o := k.Run(ctx, target, Params{Section: sec})
	got := judged("postgres", o.Facts, sec)
	if want := map[string]string{"plaintext_rejected": "fail", "auth_required": "pass"}; !reflect.DeepEqual(got, want) {
		t.Errorf("got %v (%s); want %v", got, o.Outcome, want)
	}
	mu.Lock()
	defer mu.Unlock()
	if strings.Join(users, ",") != "monitor" {
		t.Errorf("the server saw users %q; want the section's, once", users)
	}
}
