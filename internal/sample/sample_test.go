package sample

import (
	"slices"
	"testing"
)

func TestPortsTable(t *testing.T) {
	tests := []struct {
		name         string
		lo, hi, n    int
		wantIn       []int // nil: check only the properties
		wantControls []int
		wantRandom   int // how many ports beyond the edges
	}{
		{name: "rtp range", lo: 16384, hi: 32768, n: 8, wantControls: []int{16383, 32769}, wantRandom: 8},
		{name: "single port", lo: 5060, hi: 5060, n: 8, wantIn: []int{5060}, wantControls: []int{5059, 5061}},
		{name: "two ports", lo: 10, hi: 11, n: 8, wantIn: []int{10, 11}, wantControls: []int{9, 12}},
		{name: "odd edges, one even inside", lo: 11, hi: 13, n: 8, wantIn: []int{11, 12, 13}, wantControls: []int{10, 14}},
		{name: "even edges, n capped", lo: 10, hi: 20, n: 100, wantIn: []int{10, 12, 14, 16, 18, 20}, wantControls: []int{9, 21}},
		{name: "n zero", lo: 16384, hi: 32768, n: 0, wantIn: []int{16384, 32768}, wantControls: []int{16383, 32769}},
		{name: "negative n", lo: 100, hi: 200, n: -3, wantIn: []int{100, 200}, wantControls: []int{99, 201}},
		{name: "lowest port has no control below", lo: 1, hi: 4, n: 5, wantIn: []int{1, 2, 4}, wantControls: []int{5}},
		{name: "highest port has no control above", lo: 65532, hi: 65535, n: 5, wantIn: []int{65532, 65534, 65535}, wantControls: []int{65531}},
		{name: "whole port space", lo: 1, hi: 65535, n: 3, wantControls: nil, wantRandom: 3},
		{name: "clamped bounds", lo: -5, hi: 70000, n: 0, wantIn: []int{1, 65535}, wantControls: nil},
		{name: "inverted range", lo: 20, hi: 10, n: 4, wantIn: []int{}, wantControls: nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := Ports(tc.lo, tc.hi, tc.n, 42)
			if tc.wantIn != nil && !slices.Equal(s.InRange, tc.wantIn) {
				t.Errorf("InRange = %v; want %v", s.InRange, tc.wantIn)
			}
			if !slices.Equal(s.Controls, tc.wantControls) {
				t.Errorf("Controls = %v; want %v", s.Controls, tc.wantControls)
			}
			if tc.wantIn == nil {
				if got := len(s.InRange) - 2; got != tc.wantRandom {
					t.Errorf("random ports = %d; want %d (%v)", got, tc.wantRandom, s.InRange)
				}
			}
			checkProperties(t, s)
		})
	}
}

// checkProperties asserts what every sample must hold.
func checkProperties(t *testing.T, s Sample) {
	t.Helper()
	if s.Lo > s.Hi {
		if len(s.InRange) != 0 || len(s.Controls) != 0 {
			t.Errorf("inverted range sampled %v, %v; want nothing", s.InRange, s.Controls)
		}
		return
	}
	if !slices.IsSorted(s.InRange) || !slices.IsSorted(s.Controls) {
		t.Errorf("not sorted: %v, %v", s.InRange, s.Controls)
	}
	if len(slices.Compact(slices.Clone(s.InRange))) != len(s.InRange) {
		t.Errorf("repeated port in %v", s.InRange)
	}
	if !slices.Contains(s.InRange, s.Lo) || !slices.Contains(s.InRange, s.Hi) {
		t.Errorf("InRange %v lacks an edge of %d-%d", s.InRange, s.Lo, s.Hi)
	}
	for _, p := range s.InRange {
		if p < s.Lo || p > s.Hi {
			t.Errorf("port %d outside %d-%d", p, s.Lo, s.Hi)
		}
		if p != s.Lo && p != s.Hi && p%2 != 0 {
			t.Errorf("sampled port %d is odd", p)
		}
		if IsControl(p, s.Lo, s.Hi) {
			t.Errorf("IsControl(%d, %d, %d) = true for a port inside", p, s.Lo, s.Hi)
		}
	}
	for _, p := range s.Controls {
		if p != s.Lo-1 && p != s.Hi+1 {
			t.Errorf("control %d is not just outside %d-%d", p, s.Lo, s.Hi)
		}
		if p < MinPort || p > MaxPort {
			t.Errorf("control %d is not a port", p)
		}
		if !IsControl(p, s.Lo, s.Hi) {
			t.Errorf("IsControl(%d, %d, %d) = false for a control", p, s.Lo, s.Hi)
		}
	}
}

func TestPortsDeterministic(t *testing.T) {
	for _, seed := range []int64{1, 42, -7, 1 << 52} {
		a := Ports(16384, 32768, 20, seed)
		b := Ports(16384, 32768, 20, seed)
		if !slices.Equal(a.InRange, b.InRange) || a.Seed != seed {
			t.Errorf("seed %d: %v then %v; want the same ports", seed, a.InRange, b.InRange)
		}
	}
	// Different seeds must not all give the same sample.
	first := Ports(16384, 32768, 8, 1).InRange
	differ := false
	for seed := int64(2); seed < 10; seed++ {
		if !slices.Equal(Ports(16384, 32768, 8, seed).InRange, first) {
			differ = true
		}
	}
	if !differ {
		t.Errorf("seeds 1..9 all sampled %v; want the seed to matter", first)
	}
}

// A known seed gives a known sample: a change in the algorithm (or the PCG
// stream) would silently change what a recorded seed reproduces.
func TestPortsPinned(t *testing.T) {
	got := Ports(16384, 32768, 4, 20261126).InRange
	want := []int{16384, 18166, 29176, 29820, 32402, 32768}
	if !slices.Equal(got, want) {
		t.Errorf("Ports(16384, 32768, 4, 20261126).InRange = %v; want %v", got, want)
	}
}

// A sample drawn for the whole candidate set is exactly that set.
func TestPortsFullCoverage(t *testing.T) {
	s := Ports(100, 140, 1000, 9)
	var want []int
	for p := 100; p <= 140; p += 2 {
		want = append(want, p)
	}
	if !slices.Equal(s.InRange, want) {
		t.Errorf("InRange = %v; want every even port %v", s.InRange, want)
	}
}

func FuzzPorts(f *testing.F) {
	f.Add(16384, 32768, 8, int64(0))
	f.Add(1, 1, 1, int64(-1))
	f.Add(65535, 65535, 3, int64(7))
	f.Fuzz(func(t *testing.T, lo, hi, n int, seed int64) {
		lo, hi = lo%70000, hi%70000
		n %= 5000
		s := Ports(lo, hi, n, seed)
		checkProperties(t, s)
		if s.Lo <= s.Hi {
			evens := 0
			for p := s.Lo + 1; p < s.Hi; p++ {
				if p%2 == 0 {
					evens++
				}
			}
			edges := 2
			if s.Lo == s.Hi {
				edges = 1
			}
			if want := edges + min(max(n, 0), evens); len(s.InRange) != want {
				t.Errorf("Ports(%d, %d, %d) has %d ports; want %d", lo, hi, n, len(s.InRange), want)
			}
		}
	})
}
