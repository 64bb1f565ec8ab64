package kinds

import (
	"context"
	"slices"
	"strings"

	"probe/probes"
	"probe/probes/redis"
	"probe/probes/tlsinfo"
)

// RedisSection is [expectation.redis]: the assertions judged when the port
// answers. The probe sends PING and nothing else, never AUTH; see
// probes/redis.
type RedisSection struct {
	// TLS, when true, requires that the port speak only TLS (ElastiCache's
	// in-transit encryption): PING without TLS draws no reply, and over
	// TLS it is answered. When false, PING must be answered without TLS.
	TLS *bool `toml:"tls,omitempty" json:"tls,omitempty"`
	// AuthRequired, when true, requires that PING draw -NOAUTH: a password
	// (requirepass, an auth token, an ACL default user that has one or is
	// off) is needed before any command. +PONG fails it, critically: anyone
	// who reaches the port can read and write the cache. When false, +PONG
	// is expected.
	AuthRequired *bool `toml:"auth_required,omitempty" json:"auth_required,omitempty"`
	// TLSChecks are the handshake's and certificate's keys: server_name,
	// ca_file, min_tls_version, min_days_left, chain_verifies.
	TLSChecks
}

// Validate checks the section.
func (s *RedisSection) Validate() []FieldError {
	errs := s.TLSChecks.validate()
	if s.TLS != nil && !*s.TLS {
		for key, set := range map[string]bool{
			"min_tls_version": s.MinTLSVersion != "", "min_days_left": s.MinDaysLeft != nil, "chain_verifies": s.ChainVerifies != nil,
		} {
			if set {
				errs = append(errs, FieldError{Key: key, Msg: "a port that answers without TLS makes no handshake to judge; it contradicts tls = false"})
			}
		}
	}
	slices.SortFunc(errs, func(a, b FieldError) int { return strings.Compare(a.Key, b.Key) })
	return errs
}

// ResolveFiles takes a relative ca_file from dir, and checks it is a file.
func (s *RedisSection) ResolveFiles(dir string) []FieldError { return s.TLSChecks.resolveFiles(dir) }

func (s *RedisSection) options(p Params) redis.Options {
	if s == nil {
		return redis.Options{CAFiles: (*TLSChecks)(nil).caFiles(p)}
	}
	return redis.Options{ServerName: s.ServerName, CAFiles: s.TLSChecks.caFiles(p)}
}

func init() {
	Register(&Kind{
		Name:       "redis",
		Transports: []string{"tcp"},
		Section:    func() Section { return new(RedisSection) },
		Run: func(ctx context.Context, t probes.Target, p Params) probes.Observation {
			return redis.Probe(ctx, t, SectionOf[*RedisSection](p).options(p))
		},
		Exchanges: func(Params) int { return redis.Connections },
		Assert:    checkRedis,
		Facts:     func() any { return new(redis.Facts) },
		Metrics:   certificateMetrics(redisTLS),
		Changes: func(old, new any) []FactChange {
			return tlsChanges(redisTLS(old), redisTLS(new))
		},
	})
}

// redisTLS is the handshake in the redis kind's facts; nil without one.
func redisTLS(facts any) *tlsinfo.Facts {
	if f, _ := facts.(*redis.Facts); f != nil {
		return f.TLS
	}
	return nil
}

// checkRedis judges a Redis probe's facts, in the order of the assertions'
// names.
func checkRedis(o probes.Observation, p Params) []Assertion {
	s := SectionOf[*RedisSection](p)
	if s == nil {
		return nil
	}
	f, _ := o.Facts.(*redis.Facts)
	if f == nil {
		f = &redis.Facts{}
	}
	var out []Assertion
	if s.AuthRequired != nil {
		out = append(out, redisAuthRequired(f, *s.AuthRequired, o))
	}
	if s.TLS != nil {
		a := Assertion{Name: "tls", Expected: "TLS only: PING without TLS unanswered, answered over TLS", Observed: o.Outcome}
		if !*s.TLS {
			a.Expected = "PING answered without TLS"
		}
		switch {
		case f.Plaintext.Reply != nil:
			a.Pass = !*s.TLS
		case f.TLSOnly():
			a.Pass = *s.TLS
		default:
			// Neither side answered in RESP: nothing is shown about TLS.
			a.Undecided = true
		}
		out = append(out, a)
	}
	out = append(out, s.TLSChecks.assert(f.TLS)...)
	slices.SortStableFunc(out, func(a, b Assertion) int { return strings.Compare(a.Name, b.Name) })
	return out
}

func redisAuthRequired(f *redis.Facts, want bool, o probes.Observation) Assertion {
	a := Assertion{Name: "auth_required", Expected: "PING answered -NOAUTH (a password needed before any command)"}
	if !want {
		a.Expected = "PING answered +PONG (no password)"
	}
	r := f.PingReply()
	if r == nil {
		a.Observed, a.Undecided = "no reply to PING ("+o.Outcome+")", true
		return a
	}
	a.Observed = r.String()
	switch {
	case r.Code() == "NOAUTH":
		a.Pass = want
	case r.Type == "+" && strings.EqualFold(r.Text, "PONG"):
		a.Pass = !want
		a.Critical = want // anyone who reaches the port reads and writes the cache
	case r.Code() == "DENIED":
		// Protected mode: no password is set, and the server serves
		// loopback only. Neither a password asked for nor a PONG.
		a.Observed += " (protected mode: no password is set)"
	case r.Code() == "NOPERM":
		// Logged in as the default user without a password, with rights
		// that leave out PING: what it may run instead is not shown.
		a.Observed += " (logged in as the default user without a password; its other rights are not shown)"
		a.Undecided = true
	default:
		a.Undecided = true
	}
	return a
}
