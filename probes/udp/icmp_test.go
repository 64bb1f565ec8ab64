package udp

import (
	"math"
	"slices"
	"testing"
	"time"
)

func TestICMPLimitReplay(t *testing.T) {
	ms := func(ds ...int) []time.Duration {
		out := make([]time.Duration, len(ds))
		for i, d := range ds {
			out[i] = time.Duration(d) * time.Millisecond
		}
		return out
	}
	all := func(n int) []bool {
		out := make([]bool, n)
		for i := range out {
			out[i] = true
		}
		return out
	}
	tests := []struct {
		name  string
		rl    ICMPLimit
		at    []time.Duration
		spent []bool
		want  []float64
	}{
		{"default pacing never runs dry", LinuxICMPLimit, ms(0, 0, 0, 0, 0, 1000, 2000, 3000), all(8),
			[]float64{6, 5, 4, 3, 2, 2, 2, 2}},
		{"ten at once", LinuxICMPLimit, ms(0, 0, 0, 0, 0, 0, 0, 0, 0, 0), all(10),
			[]float64{6, 5, 4, 3, 2, 1, 0, 0, 0, 0}},
		{"refill between sends", LinuxICMPLimit, ms(0, 0, 0, 0, 0, 0, 0, 500), all(8),
			[]float64{6, 5, 4, 3, 2, 1, 0, 0.5}},
		{"sends that drew no error spend nothing", LinuxICMPLimit, ms(0, 0, 0), []bool{false, false, false}, []float64{6, 6, 6}},
		{"only the spent ones count", LinuxICMPLimit, ms(0, 0, 0, 0, 0, 0, 0, 0), []bool{false, false, true, true, true, true, true, true},
			[]float64{6, 6, 6, 5, 4, 3, 2, 1}},
		{"past the end of spent counts as spent", LinuxICMPLimit, ms(0, 0, 0), []bool{true}, []float64{6, 5, 4}},
		{"refill stops at the burst", LinuxICMPLimit, ms(0, 100000), all(2), []float64{6, 6}},
		{"an empty bucket spends nothing more", ICMPLimit{Burst: 1, Interval: time.Second}, ms(0, 0, 0, 500, 1000), all(5),
			[]float64{1, 0, 0, 0.5, 1}},
		{"no limit", ICMPLimit{Burst: 6, Interval: -1}, ms(0, 0, 0, 0, 0, 0, 0, 0), all(8),
			[]float64{6, 6, 6, 6, 6, 6, 6, 6}},
		{"a zero interval is no limit", ICMPLimit{Burst: 2, Interval: 0}, ms(0, 0, 0), all(3),
			[]float64{2, 2, 2}},
		{"a bucket that holds nothing", ICMPLimit{Burst: 0, Interval: time.Second}, ms(0, 5000), all(2), []float64{0, 0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.rl.Replay(tc.at, tc.spent)
			round := func(xs []float64) []float64 {
				out := make([]float64, len(xs))
				for i, x := range xs {
					out[i] = math.Round(x*1000) / 1000
				}
				return out
			}
			if !slices.Equal(round(got), tc.want) {
				t.Errorf("Replay = %v; want %v", round(got), tc.want)
			}
		})
	}
}
