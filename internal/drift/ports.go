package drift

import (
	"slices"
	"strconv"
	"strings"
)

// span is an inclusive port range.
type span struct{ lo, hi int }

// ports is a set of ports as sorted, disjoint, non-adjacent spans.
type ports []span

// add returns p with lo-hi added.
func (p ports) add(lo, hi int) ports {
	if lo > hi {
		return p
	}
	out := append(slices.Clone(p), span{lo, hi})
	slices.SortFunc(out, func(a, b span) int { return a.lo - b.lo })
	merged := out[:0]
	for _, s := range out {
		if n := len(merged); n > 0 && s.lo <= merged[n-1].hi+1 {
			merged[n-1].hi = max(merged[n-1].hi, s.hi)
			continue
		}
		merged = append(merged, s)
	}
	return merged
}

// minus returns the ports of p that are not in q.
func (p ports) minus(q ports) ports {
	var out ports
	for _, s := range p {
		lo := s.lo
		for _, t := range q {
			if t.hi < lo || t.lo > s.hi {
				continue
			}
			if t.lo > lo {
				out = append(out, span{lo, t.lo - 1})
			}
			lo = t.hi + 1
			if lo > s.hi {
				break
			}
		}
		if lo <= s.hi {
			out = append(out, span{lo, s.hi})
		}
	}
	return out
}

// intersect returns the ports in both p and q.
func (p ports) intersect(q ports) ports { return p.minus(p.minus(q)) }

// String writes p as "22, 80, 16384-32768".
func (p ports) String() string {
	var b strings.Builder
	for i, s := range p {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(strconv.Itoa(s.lo))
		if s.hi != s.lo {
			b.WriteString("-" + strconv.Itoa(s.hi))
		}
	}
	return b.String()
}

// listOf makes a set of the ports in list.
func listOf(list []int) ports {
	var p ports
	for _, n := range list {
		p = p.add(n, n)
	}
	return p
}
