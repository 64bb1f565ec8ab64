package config

import (
	"strconv"
	"strings"
	"testing"
)

// FuzzParseRange feeds arbitrary text to the hand-written range parser
// ("16384-32768"): it must never panic, and whatever it accepts must be a
// real, ordered pair of ports that prints back to the same numbers.
func FuzzParseRange(f *testing.F) {
	for _, s := range []string{"16384-32768", "1-65535", "0-10", "10-1", "5-5", " 1 - 2 ", "-1-5", "1--2", "+1-+2", "99999-1", "a-b", "", "-", "1-2-3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		lo, hi, err := ParseRange(s)
		if err != nil {
			if lo != 0 || hi != 0 {
				t.Fatalf("%q: error %v with ports %d-%d", s, err, lo, hi)
			}
			return
		}
		if lo < 1 || hi > 65535 || lo > hi {
			t.Fatalf("%q accepted as %d-%d", s, lo, hi)
		}
		lo2, hi2, err := ParseRange(strconv.Itoa(lo) + "-" + strconv.Itoa(hi))
		if err != nil || lo2 != lo || hi2 != hi {
			t.Fatalf("%q → %d-%d does not round-trip: %d-%d, %v", s, lo, hi, lo2, hi2, err)
		}
		if !strings.Contains(s, "-") {
			t.Fatalf("%q accepted without a dash", s)
		}
	})
}
