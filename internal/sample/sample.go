// Package sample chooses which ports of a range are probed: both edges, the
// ports just outside the range as controls, and a random sample of even
// ports inside it (RTP uses even ports, RTCP the odd one above).
//
// It is pure. The same range, size and seed always give the same ports, so a
// run that failed can be repeated exactly; the caller picks and records the
// seed (a config seed of 0 means "pick one", which is the caller's job).
package sample

import (
	"math/rand/v2"
	"slices"
)

// Sample is the set of ports chosen from one range.
type Sample struct {
	// Seed is the seed the random ports were drawn with.
	Seed int64 `json:"seed"`
	// Lo and Hi are the range's bounds, inclusive.
	Lo int `json:"lo"`
	Hi int `json:"hi"`
	// InRange are the probed ports inside the range, sorted: both edges
	// and the random even ports.
	InRange []int `json:"in_range"`
	// Controls are the ports just outside the range (Lo-1 and Hi+1, when
	// they are valid ports), sorted. They must behave like the rest of the
	// host, not like the range.
	Controls []int `json:"controls,omitempty"`
}

// MinPort and MaxPort bound a valid port number.
const (
	MinPort = 1
	MaxPort = 65535
)

// pcgStream is the PCG's second seed word. It is fixed so that a sample
// depends on the seed alone; changing it changes every recorded sample.
const pcgStream = 0x5EED_0F_2A9E_3550 // "RFC 3550"

// Ports samples the range lo..hi: the edges lo and hi, the controls lo-1
// and hi+1 when they lie within 1..65535, and n random even ports strictly
// between the edges, distinct. n is capped by the number of such even ports;
// a negative n counts as 0.
//
// lo and hi are expected to satisfy 1 <= lo <= hi <= 65535 (config
// validation sees to it). Bounds outside 1..65535 are clamped to it, and a
// range with lo > hi gives a sample with no ports.
func Ports(lo, hi, n int, seed int64) Sample {
	lo, hi = max(lo, MinPort), min(hi, MaxPort)
	s := Sample{Seed: seed, Lo: lo, Hi: hi, InRange: []int{}}
	if lo > hi {
		return s
	}
	if lo-1 >= MinPort {
		s.Controls = append(s.Controls, lo-1)
	}
	if hi+1 <= MaxPort {
		s.Controls = append(s.Controls, hi+1)
	}
	s.InRange = append(s.InRange, lo)
	if hi != lo {
		s.InRange = append(s.InRange, hi)
	}

	// The candidates are the even ports strictly between the edges:
	// first, first+2, ..., first+2*(count-1).
	first := lo + 1
	if first%2 != 0 {
		first++
	}
	count := 0
	if first < hi {
		count = (hi-1-first)/2 + 1
	}
	n = min(max(n, 0), count)

	// A partial Fisher-Yates shuffle over the candidate indexes, kept
	// sparse (only swapped slots are stored), draws n distinct candidates
	// with n random numbers however large the range is.
	r := rand.New(rand.NewPCG(uint64(seed), pcgStream))
	swapped := map[int]int{}
	at := func(i int) int {
		if v, ok := swapped[i]; ok {
			return v
		}
		return i
	}
	for i := range n {
		j := i + r.IntN(count-i)
		vi, vj := at(i), at(j)
		swapped[i], swapped[j] = vj, vi
		s.InRange = append(s.InRange, first+2*vj)
	}
	slices.Sort(s.InRange)
	return s
}

// IsControl reports whether port lies outside lo..hi, that is, whether a
// port of a range's sample is one of its controls.
func IsControl(port, lo, hi int) bool { return port < lo || port > hi }
