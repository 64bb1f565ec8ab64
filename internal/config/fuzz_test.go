package config

import (
	"os"
	"probe/internal/kinds"
	"testing"
)

// FuzzParse feeds arbitrary bytes to the loader: it must never panic, and
// whatever it accepts must be internally consistent.
func FuzzParse(f *testing.F) {
	for _, name := range []string{"testdata/base.toml", "testdata/invalid-references.toml", "testdata/invalid-unknown-keys.toml", "../../expectations.toml"} {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("[[expectation]]\nrange = \"1-\"\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse("fuzz.toml", data)
		if err != nil {
			if _, ok := err.(Problems); !ok {
				t.Fatalf("error is %T, not Problems", err)
			}
			return
		}
		for _, e := range cfg.Expectations {
			k := kinds.Lookup(e.Probe)
			if k == nil {
				t.Fatalf("accepted expectation %q of no kind %q", e.ID, e.Probe)
			}
			if k.Resolves != (len(e.PortList) == 0 && !e.IsRange()) {
				t.Fatalf("accepted expectation %q of kind %s with ports %v, range %q (only a kind that resolves a name takes none)", e.ID, e.Probe, e.PortList, e.Range)
			}
			if cfg.Target(e.Target) == nil {
				t.Fatalf("accepted expectation %q with unknown target", e.ID)
			}
		}
	})
}
