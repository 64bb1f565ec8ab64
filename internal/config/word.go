package config

// The words an expectation uses for a port's state (open, closed, filtered
// and their unions), and what each admits.

import "probe/probes"

// Word is an expected state, as written in the config.
type Word string

const (
	Open        Word = "open"        // the service answers
	Closed      Word = "closed"      // the host says nothing listens
	Filtered    Word = "filtered"    // something drops the packets
	Reachable   Word = "reachable"   // open or closed: packets pass the firewall
	Unreachable Word = "unreachable" // filtered: packets do not reach the host
	NotOpen     Word = "not_open"    // closed or filtered: nothing answers
)

// Words lists every word, in the order documentation shows them.
var Words = []Word{Open, Closed, Filtered, Reachable, Unreachable, NotOpen}

// Valid reports whether w is one of Words.
func (w Word) Valid() bool {
	for _, v := range Words {
		if v == w {
			return true
		}
	}
	return false
}

// Admits reports whether an observed state satisfies the word.
// open|filtered satisfies none: it shows neither an answer nor a drop.
func (w Word) Admits(s probes.State) bool {
	switch w {
	case Open:
		return s == probes.Open
	case Closed:
		return s == probes.Closed
	case Filtered, Unreachable:
		return s == probes.Filtered
	case Reachable:
		return s == probes.Open || s == probes.Closed
	case NotOpen:
		return s == probes.Closed || s == probes.Filtered
	}
	return false
}

// Allows reports whether the word wants the service to answer (an
// allow-expectation), as opposed to wanting the port shut.
func (w Word) Allows() bool { return w == Open || w == Reachable }
