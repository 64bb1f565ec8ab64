package config

import (
	"testing"
)

func TestReferenceFileLoads(t *testing.T) {
	f, err := Load("../../expectations.toml")
	if err != nil {
		t.Fatalf("Load(expectations.toml): %v", err)
	}
	if got, want := len(f.Expectations), 15; got != want {
		t.Errorf("expectations = %d; want %d", got, want)
	}
	e := f.Expectations[0]
	if e.SSH == nil {
		t.Errorf("expectation %s: ssh section not decoded", e.ID)
	}
	if f.Defaults.Timeout.Std().String() != "3s" {
		t.Errorf("timeout = %v", f.Defaults.Timeout.Std())
	}
}
