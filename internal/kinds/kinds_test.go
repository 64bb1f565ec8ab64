package kinds

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"probe/probes"
	httpprobe "probe/probes/http"
	"probe/probes/postgres"
	"probe/probes/redis"
	"probe/probes/sip"
	"probe/probes/ssh"
	"probe/probes/udpsweep"
)

// factCase is, for one kind, the facts its probe writes, and a change to
// them that its Changes must report.
type factCase struct {
	// probeFacts is a new value of the probe's own facts type.
	probeFacts func() any
	// change alters filled facts in a way Changes must name.
	change func(facts any)
	// changeKind is the change it must name.
	changeKind string
}

// factCases has a case for every kind whose facts feed metrics or changes:
// a new kind with facts adds its own (TestKinds fails until it does).
var factCases = map[string]factCase{
	"postgres": {
		probeFacts: func() any { return new(postgres.Facts) },
		change:     func(f any) { f.(*postgres.Facts).TLS.Version = "" },
		changeKind: "tls-lost",
	},
	"redis": {
		probeFacts: func() any { return new(redis.Facts) },
		change: func(f any) {
			f.(*redis.Facts).TLS.NotAfter = time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC).Format(time.RFC3339)
		},
		changeKind: "certificate-renewed",
	},
	"http": {
		probeFacts: func() any { return new(httpprobe.Facts) },
		change: func(f any) {
			f.(*httpprobe.Facts).TLS.NotAfter = time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC).Format(time.RFC3339)
		},
		changeKind: "certificate-renewed",
	},
	"sip": {
		probeFacts: func() any { return new(sip.Facts) },
		change:     func(f any) { f.(*sip.Facts).UserAgent = "FreeSWITCH-mod_sofia/1.10.13" },
		changeKind: "sip-agent-changed",
	},
	"udp": {
		probeFacts: func() any { return new(udpsweep.Facts) },
		change:     func(f any) { f.(*udpsweep.Facts).Said = "SIP/2.0 200 OK; User-Agent: FreeSWITCH-mod_sofia/1.10.13" },
		changeKind: "udp-answer-changed",
	},
	"ssh": {
		probeFacts: func() any { return new(ssh.Facts) },
		change:     func(f any) { f.(*ssh.Facts).HostKeyFingerprint = "SHA256:" + strings.Repeat("B", 43) },
		changeKind: "ssh-host-key-changed",
	},
}

// TestKinds holds every registered kind to what the rest of the program
// relies on: its section is a struct whose keys are tagged alike for TOML
// and JSON; the facts its probe writes read back into its Facts type with
// nothing lost; every metric it declares finds its samples in those facts,
// and its Changes see a change to them.
func TestKinds(t *testing.T) {
	for _, name := range Names() {
		k := Lookup(name)
		t.Run(name, func(t *testing.T) {
			if k.Section != nil {
				checkSectionTags(t, reflect.TypeOf(k.Section()).Elem())
			}
			if k.RunPorts == nil && k.Sample != nil {
				t.Error("Sample without RunPorts: only a kind that probes a range's ports together samples it")
			}
			if k.SweepPorts != nil && !k.Sweeps {
				t.Error("SweepPorts without Sweeps: a kind whose ranges are not swept has no sweep to send together")
			}
			c, ok := factCases[name]
			if k.Facts == nil {
				if ok {
					t.Error("a fact case for a kind without a Facts type")
				}
				return
			}
			if !ok {
				t.Fatal("no fact case in factCases: add the facts the probe writes and a change its Changes must see")
			}
			written := filled(t, c.probeFacts())
			raw, err := json.Marshal(written)
			if err != nil {
				t.Fatal(err)
			}
			// Read back as a saved report holds them: a JSON object.
			var obj map[string]any
			if err := json.Unmarshal(raw, &obj); err != nil {
				t.Fatal(err)
			}
			facts := k.FactsOf(probes.Observation{Facts: obj})
			if facts == nil {
				t.Fatal("FactsOf read nothing from the probe's facts")
			}
			dec := json.NewDecoder(bytes.NewReader(raw))
			dec.DisallowUnknownFields()
			if err := dec.Decode(k.Facts()); err != nil {
				t.Fatalf("the probe's facts do not read into the kind's Facts type: %v", err)
			}
			if back, _ := json.Marshal(facts); !bytes.Equal(back, raw) {
				t.Errorf("facts lost on the way back:\nwritten %s\nread    %s", raw, back)
			}
			for _, m := range k.Metrics {
				checkMetric(t, m, facts)
			}
			if k.Changes == nil {
				return
			}
			if got := k.Changes(facts, facts); len(got) != 0 {
				t.Errorf("Changes of facts against themselves = %+v; want none", got)
			}
			changed := k.FactsOf(probes.Observation{Facts: obj})
			c.change(changed)
			got := k.Changes(facts, changed)
			if !slices.ContainsFunc(got, func(fc FactChange) bool { return fc.Kind == c.changeKind && fc.Detail != "" }) {
				t.Errorf("Changes = %+v; want a %s with its detail", got, c.changeKind)
			}
		})
	}
	for name := range factCases {
		if Lookup(name) == nil {
			t.Errorf("fact case for %q, which is not a kind", name)
		}
	}
}

// Two kinds that feed one family declare it alike.
func TestMetricFamiliesAgree(t *testing.T) {
	help := map[string]string{}
	for _, name := range Names() {
		for _, m := range Lookup(name).Metrics {
			if h, ok := help[m.Name]; ok && h != m.Help {
				t.Errorf("%s: %s's help %q differs from another kind's %q", m.Name, name, m.Help, h)
			}
			help[m.Name] = m.Help
		}
	}
}

var (
	metricName = regexp.MustCompile(`^probe_[a-z0-9_]+$`)
	labelName  = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)
)

func checkMetric(t *testing.T, m Metric, facts any) {
	t.Helper()
	if !metricName.MatchString(m.Name) || m.Help == "" {
		t.Errorf("metric %q (help %q): want a probe_ name and a help text", m.Name, m.Help)
	}
	samples := m.Samples(facts)
	if len(samples) == 0 {
		t.Errorf("%s: no sample from facts that have every field set", m.Name)
	}
	for _, s := range samples {
		if len(s.Labels)%2 != 0 {
			t.Errorf("%s: labels %q are not name, value pairs", m.Name, s.Labels)
			continue
		}
		for i := 0; i < len(s.Labels); i += 2 {
			if !labelName.MatchString(s.Labels[i]) || slices.Contains([]string{"vantage", "id", "target", "port"}, s.Labels[i]) {
				t.Errorf("%s: label %q is not a label name of its own (the report adds vantage, id, target and port)", m.Name, s.Labels[i])
			}
			if s.Labels[i+1] == "" {
				t.Errorf("%s: label %s is empty although every fact is set", m.Name, s.Labels[i])
			}
		}
	}
}

// checkSectionTags checks a section's fields: each has a TOML key, the
// same key in JSON (the plan merges probes by the section's JSON), and no
// two share one.
func checkSectionTags(t *testing.T, st reflect.Type) {
	t.Helper()
	if st.NumField() == 0 {
		t.Errorf("%s has no keys: a kind without options takes no Section", st)
	}
	seen := map[string]bool{}
	for _, f := range reflect.VisibleFields(st) {
		if f.Anonymous {
			continue // an embedded struct's keys are the section's own, listed beside
		}
		key, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
		jkey, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch {
		case !f.IsExported():
			continue
		case key == "" || key == "-":
			t.Errorf("%s.%s has no toml key", st, f.Name)
		case key != jkey:
			t.Errorf("%s.%s: toml key %q, json key %q; want them alike", st, f.Name, key, jkey)
		case seen[key]:
			t.Errorf("%s: key %q twice", st, key)
		}
		seen[key] = true
	}
}

// filled sets every field of the struct v points to, recursively: strings
// to a word, numbers to 1, booleans to true, one element in every list and
// map. A time written as text is a valid RFC 3339 time.
func filled(t *testing.T, v any) any {
	t.Helper()
	fill(reflect.ValueOf(v).Elem(), "")
	return v
}

func fill(v reflect.Value, name string) {
	switch v.Kind() {
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(v.Elem(), name)
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fill(v.Field(i), v.Type().Field(i).Name)
			}
		}
	case reflect.String:
		v.SetString("x-" + strings.ToLower(name))
		if strings.HasPrefix(name, "Not") { // NotAfter, NotBefore
			v.SetString(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC).Format(time.RFC3339))
		}
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(1)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(1)
	case reflect.Float32, reflect.Float64:
		v.SetFloat(1)
	case reflect.Slice:
		s := reflect.MakeSlice(v.Type(), 1, 1)
		fill(s.Index(0), name)
		v.Set(s)
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
		fill(k, name)
		fill(e, name)
		m.SetMapIndex(k, e)
		v.Set(m)
	}
}

// Every kind has its row in the README's table of probe kinds, which says
// what it sends: a kind is its probe package, its adapter file and that
// row.
func TestEveryKindInTheREADME(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, table, ok := strings.Cut(string(readme), "### Probe kinds and their sections")
	if !ok {
		t.Fatal("the README has no section \"Probe kinds and their sections\"")
	}
	for _, name := range Names() {
		transports := strings.Join(Lookup(name).Transports, ", ")
		if Lookup(name).Resolves {
			transports = "none: a name lookup"
		}
		row := fmt.Sprintf("\n| `%s` | %s |", name, transports)
		if !strings.Contains(table, row) {
			t.Errorf("no README row for kind %s with its transports (%q)", name, strings.TrimSpace(row))
		}
	}
}
