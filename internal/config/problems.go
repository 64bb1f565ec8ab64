package config

import (
	"fmt"
	"sort"
	"strings"
)

// Problem is one thing wrong with a config file, located as exactly as the
// decoder allows.
type Problem struct {
	File string // the file's path as given
	Line int    // 1-based; 0 when the problem concerns the whole file
	Col  int    // 1-based; 0 when unknown
	Key  string // the key, as a path: expectation[3].expect.admin
	Msg  string // what is wrong, and what would be right
}

func (p Problem) String() string {
	if p.Key == "" {
		return p.place() + ": " + p.Msg
	}
	return p.Location() + ": " + p.Msg
}

// Location is where the problem is, without what: "file:line:col: key".
func (p Problem) Location() string {
	if p.Key == "" {
		return p.place()
	}
	return p.place() + ": " + p.Key
}

func (p Problem) place() string {
	var b strings.Builder
	b.WriteString(p.File)
	if p.Line > 0 {
		fmt.Fprintf(&b, ":%d", p.Line)
		if p.Col > 0 {
			fmt.Fprintf(&b, ":%d", p.Col)
		}
	}
	return b.String()
}

// Problems is every problem found in a file. It is the error Load returns.
type Problems []Problem

func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

func (ps Problems) sorted() Problems {
	sort.SliceStable(ps, func(i, j int) bool {
		if ps[i].Line != ps[j].Line {
			return ps[i].Line < ps[j].Line
		}
		return ps[i].Col < ps[j].Col
	})
	return ps
}
