package kinds

import (
	"context"
	"reflect"
	"testing"
	"time"

	"probe/probes"
)

// wantProblemsAt checks that a section's validate found problems at
// exactly the keys want (sorted), each with a message.
func wantProblemsAt(t *testing.T, problems []FieldError, want []string) {
	t.Helper()
	var keys []string
	for _, e := range problems {
		keys = append(keys, e.Key)
		if e.Msg == "" {
			t.Errorf("%s: empty message", e.Key)
		}
	}
	if !reflect.DeepEqual(keys, want) {
		t.Errorf("problems at %q; want %q", keys, want)
	}
}

// wantChecks runs kind against tg, which must be found open, and checks
// that its checks are exactly want (check name → pass).
func wantChecks(t *testing.T, kind *Kind, tg probes.Target, params Params, want map[string]bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	o := kind.Run(ctx, tg, params)
	if o.State != probes.Open || o.Error != "" {
		t.Fatalf("state = %q, error = %q (%s: %s); want open", o.State, o.Error, o.Outcome, o.Detail)
	}
	got := map[string]bool{}
	for _, ch := range kind.Assert(o, params) {
		got[ch.Name] = ch.Pass
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("checks = %v; want %v", got, want)
	}
}
