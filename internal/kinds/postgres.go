package kinds

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"unicode"

	"probe/probes"
	"probe/probes/postgres"
	"probe/probes/tlsinfo"
)

// PostgresSection is [expectation.postgres]: the role the probe names and
// the assertions judged when the port answers. No assertion sends a
// password; see probes/postgres for what each one costs in connections and
// what the server logs.
type PostgresSection struct {
	// User is the role named in the StartupMessages; "probe" when empty.
	// It need not exist: the server asks an unknown role for a password as
	// it asks a known one.
	User string `toml:"user,omitempty" json:"user,omitempty"`
	// Database is the database named; the user's name when empty.
	Database string `toml:"database,omitempty" json:"database,omitempty"`
	// TLS, when set, is whether the server must agree to TLS (answer the
	// SSLRequest with S and complete the handshake).
	TLS *bool `toml:"tls,omitempty" json:"tls,omitempty"`
	// PlaintextRejected, when true, requires that a StartupMessage without
	// TLS be refused before any authentication request (pg_hba.conf has no
	// entry that lets an unencrypted connection in; RDS's rds.force_ssl).
	// When false, the server must answer it (ask for authentication, or let
	// the probe in).
	PlaintextRejected *bool `toml:"plaintext_rejected,omitempty" json:"plaintext_rejected,omitempty"`
	// AuthRequired, when true, requires that the server ask for a password
	// (SCRAM, MD5, cleartext) or another authentication, and never let the
	// probe in without one (trust). Asked over TLS when the server speaks
	// it. When false, trust is expected.
	AuthRequired *bool `toml:"auth_required,omitempty" json:"auth_required,omitempty"`
	// TLSChecks are the handshake's and certificate's keys: server_name,
	// ca_file, min_tls_version, min_days_left, chain_verifies.
	TLSChecks
}

// Validate checks the section.
func (s *PostgresSection) Validate() []FieldError {
	errs := s.TLSChecks.validate()
	add := func(key, format string, args ...any) {
		errs = append(errs, FieldError{Key: key, Msg: fmt.Sprintf(format, args...)})
	}
	for _, kv := range [][2]string{{"database", s.Database}, {"user", s.User}} {
		if v := kv[1]; strings.TrimSpace(v) != v || strings.ContainsFunc(v, unicode.IsControl) {
			add(kv[0], "%q is not a PostgreSQL name (no surrounding spaces or control characters)", v)
		}
	}
	if s.TLS != nil && !*s.TLS && s.PlaintextRejected != nil && *s.PlaintextRejected {
		add("plaintext_rejected", "true with tls = false describes a server that lets no one in")
	}
	slices.SortFunc(errs, func(a, b FieldError) int { return strings.Compare(a.Key, b.Key) })
	return errs
}

// ResolveFiles takes a relative ca_file from dir, and checks it is a file.
func (s *PostgresSection) ResolveFiles(dir string) []FieldError { return s.TLSChecks.resolveFiles(dir) }

// options turns the section and the command line into probe options. A
// nil section probes the SSLRequest and the handshake only.
func (s *PostgresSection) options(p Params) postgres.Options {
	if s == nil {
		return postgres.Options{CAFiles: (*TLSChecks)(nil).caFiles(p)}
	}
	return postgres.Options{
		User: s.User, Database: s.Database, ServerName: s.ServerName, CAFiles: s.TLSChecks.caFiles(p),
		AskAuth: s.AuthRequired != nil, Plaintext: s.PlaintextRejected != nil,
	}
}

func init() {
	Register(&Kind{
		Name:       "postgres",
		Transports: []string{"tcp"},
		Section:    func() Section { return new(PostgresSection) },
		Run: func(ctx context.Context, t probes.Target, p Params) probes.Observation {
			return postgres.Probe(ctx, t, SectionOf[*PostgresSection](p).options(p))
		},
		Exchanges: func(p Params) int { return postgres.Connections(SectionOf[*PostgresSection](p).options(p)) },
		Assert:    checkPostgres,
		Facts:     func() any { return new(postgres.Facts) },
		Metrics:   certificateMetrics(postgresTLS),
		Changes: func(old, new any) []FactChange {
			return tlsChanges(postgresTLS(old), postgresTLS(new))
		},
	})
}

// postgresTLS is the handshake in the postgres kind's facts; nil without one.
func postgresTLS(facts any) *tlsinfo.Facts {
	if f, _ := facts.(*postgres.Facts); f != nil {
		return f.TLS
	}
	return nil
}

// checkPostgres judges a PostgreSQL probe's facts, in the order of the
// assertions' names.
func checkPostgres(o probes.Observation, p Params) []Assertion {
	s := SectionOf[*PostgresSection](p)
	if s == nil {
		return nil
	}
	f, _ := o.Facts.(*postgres.Facts)
	if f == nil {
		f = &postgres.Facts{}
	}
	var out []Assertion
	if s.AuthRequired != nil {
		out = append(out, pgAuthRequired(f, *s.AuthRequired))
	}
	if s.PlaintextRejected != nil {
		out = append(out, pgPlaintextRejected(f, *s.PlaintextRejected))
	}
	if s.TLS != nil {
		a := Assertion{Name: "tls", Expected: "TLS offered (the SSLRequest answered S, the handshake completed)", Observed: pgTLSSeen(f, o)}
		if !*s.TLS {
			a.Expected = "TLS not offered (the SSLRequest answered N)"
		}
		a.Pass = f.SSLAnswer != "" && f.TLSUp() == *s.TLS
		out = append(out, a)
	}
	out = append(out, s.TLSChecks.assert(f.TLS)...)
	slices.SortStableFunc(out, func(a, b Assertion) int { return strings.Compare(a.Name, b.Name) })
	return out
}

func pgTLSSeen(f *postgres.Facts, o probes.Observation) string {
	switch {
	case f.TLSUp():
		return "S, " + f.TLS.Version
	case f.SSLAnswer == "S":
		return "S, then the handshake failed: " + o.Outcome
	case f.SSLAnswer == "N":
		return "N: the server does not offer TLS"
	case f.SSLAnswer == "E":
		return "an error: the server does not know the SSLRequest"
	}
	return "(not seen: " + o.Outcome + ")"
}

func pgAuthRequired(f *postgres.Facts, want bool) Assertion {
	a := Assertion{Name: "auth_required", Expected: "a password or other authentication asked for, never trust"}
	if !want {
		a.Expected = "no authentication asked for (trust)"
	}
	st, where := f.TLSStartup, "over TLS"
	if st == nil {
		st, where = f.PlaintextStartup, "without TLS"
	}
	if st == nil {
		a.Observed, a.Undecided = "no StartupMessage was answered", true
		return a
	}
	a.Observed = where + ": " + st.Summary()
	switch st.Answer {
	case postgres.AuthRequested:
		a.Pass = want
	case postgres.NoAuth:
		a.Pass = !want
		a.Critical = want // anyone who reaches the port is in, as that role
	case postgres.Refused:
		// pg_hba.conf turned the probe's role away before any method:
		// what it asks of the roles it lets in is not shown.
		a.Observed += fmt.Sprintf("; %q was turned away before any method, so what the server asks of the roles it lets in is not shown (set user)", f.User)
		a.Undecided = true
	default:
		a.Undecided = true
	}
	return a
}

func pgPlaintextRejected(f *postgres.Facts, want bool) Assertion {
	a := Assertion{Name: "plaintext_rejected", Expected: "a StartupMessage without TLS refused before any authentication request"}
	if !want {
		a.Expected = "a StartupMessage without TLS answered, not refused"
	}
	st := f.PlaintextStartup
	if st == nil {
		a.Observed, a.Undecided = "no StartupMessage without TLS was answered", true
		return a
	}
	a.Observed = st.Summary()
	switch {
	case st.Answer == postgres.Refused && st.SQLState == "28000":
		// invalid_authorization_specification: pg_hba.conf's refusal.
		a.Pass = want
	case st.Answer == postgres.AuthRequested:
		// A client would send its password, or its hash, in the clear.
		a.Pass = !want
	case st.Answer == postgres.NoAuth:
		a.Pass = !want
		a.Critical = want
	default:
		// No answer, or a refusal for another reason (too many
		// connections, starting up): nothing is shown either way.
		a.Undecided = true
	}
	return a
}
