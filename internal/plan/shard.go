package plan

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"probe/internal/config"
)

// Shard is one of Count parts of a vantage's checks (Index from 1), so that
// several runners at one vantage share its work (--shard I/N).
//
// The unit of the split is the target, not the expectation: a verdict that
// rests on silence or refusal passes only if the same run showed the same
// target alive, so every check of one target must run in the same shard.
// Targets are dealt round-robin in name order, which balances the number
// of targets per shard and depends on nothing but the file and the vantage.
type Shard struct {
	Index, Count int
}

// ParseShard reads "I/N" with 1 <= I <= N.
func ParseShard(s string) (Shard, error) {
	a, b, ok := strings.Cut(s, "/")
	i, err1 := strconv.Atoi(a)
	n, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil {
		return Shard{}, fmt.Errorf("shard %q: want I/N, e.g. 1/3", s)
	}
	if n < 1 || i < 1 || i > n {
		return Shard{}, fmt.Errorf("shard %q: want 1 <= I <= N", s)
	}
	return Shard{Index: i, Count: n}, nil
}

// Select returns the ids of the expectations of f that shard s of vantage
// runs, in file order. Expectations that say nothing for vantage are in no
// shard.
func (s Shard) Select(f *config.File, vantage string) []string {
	var names []string
	for _, e := range f.Expectations {
		if _, ok := e.Expect[vantage]; ok && !slices.Contains(names, e.Target) {
			names = append(names, e.Target)
		}
	}
	slices.Sort(names)
	var ids []string
	for _, e := range f.Expectations {
		if _, ok := e.Expect[vantage]; !ok {
			continue
		}
		if slices.Index(names, e.Target)%s.Count == s.Index-1 {
			ids = append(ids, e.ID)
		}
	}
	return ids
}
