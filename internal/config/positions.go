package config

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/pelletier/go-toml/v2/unstable"
)

// position is where a key sits in the file.
type position struct{ line, col int }

// positions maps every key path in a TOML document to where it is written.
// Paths are dotted, with array-of-tables elements as indexes:
// "expectation.3.expect.admin". The decoder reports only syntax and type
// errors with positions; this index lets validation errors point at their
// line too.
type positions map[string]position

func indexPositions(data []byte) positions {
	pos := positions{}
	var p unstable.Parser
	p.Reset(data)
	// Where each line starts, so that a key's line and column are a binary
	// search away: the parser's own Shape counts lines from the top of the
	// file for every key, which made a 10,000-row file take a minute.
	starts := []int{0}
	for i, b := range data {
		if b == '\n' {
			starts = append(starts, i+1)
		}
	}
	shape := func(r unstable.Range) position {
		off := int(r.Offset)
		line, _ := slices.BinarySearch(starts, off+1) // lines starting at or before off
		return position{line, off - starts[line-1] + 1}
	}
	arrays := map[string]int{} // array-of-tables path → elements seen
	var table []string         // the current table's resolved path
	resolve := func(parts []string) []string {
		var out []string
		for _, part := range parts {
			out = append(out, part)
			if n, ok := arrays[strings.Join(out, ".")]; ok {
				out = append(out, strconv.Itoa(n-1))
			}
		}
		return out
	}
	keyOf := func(n *unstable.Node) ([]string, position) {
		var parts []string
		var at position
		it := n.Key()
		for it.Next() {
			k := it.Node()
			if len(parts) == 0 {
				at = shape(k.Raw)
			}
			parts = append(parts, string(k.Data))
		}
		return parts, at
	}
	var keyvals func(prefix []string, n *unstable.Node)
	keyvals = func(prefix []string, n *unstable.Node) {
		parts, at := keyOf(n)
		path := append(append([]string{}, prefix...), parts...)
		joined := strings.Join(path, ".")
		if _, seen := pos[joined]; !seen {
			pos[joined] = at
		}
		v := n.Value()
		if v == nil {
			return
		}
		switch v.Kind {
		case unstable.InlineTable:
			children := v.Children()
			for children.Next() {
				keyvals(path, children.Node())
			}
		case unstable.Array:
			children := v.Children()
			for i := 0; children.Next(); i++ {
				el := children.Node()
				if el.Raw.Length == 0 {
					continue
				}
				pos[joined+"."+strconv.Itoa(i)] = shape(el.Raw)
			}
		}
	}
	for p.NextExpression() {
		e := p.Expression()
		switch e.Kind {
		case unstable.Table:
			parts, at := keyOf(e)
			table = resolve(parts)
			pos[strings.Join(table, ".")] = at
		case unstable.ArrayTable:
			parts, at := keyOf(e)
			parent := resolve(parts[:len(parts)-1])
			name := strings.Join(append(parent, parts[len(parts)-1]), ".")
			arrays[name]++
			table = append(append(parent, parts[len(parts)-1]), strconv.Itoa(arrays[name]-1))
			pos[strings.Join(table, ".")] = at
		case unstable.KeyValue:
			keyvals(table, e)
		}
	}
	return pos
}

// pathAt finds the key path written at line and col, for errors that come
// with a position but a key stripped of array indexes.
func (ps positions) pathAt(line, col int, fallback string) string {
	best := ""
	for path, p := range ps {
		if p.line == line && p.col == col && len(path) > len(best) {
			best = path
		}
	}
	if best == "" {
		return fallback
	}
	return display(best)
}

// at finds the position of a path, or of its nearest written ancestor when
// the key itself is absent (a missing required key points at its table).
func (ps positions) at(path string) position {
	for {
		if p, ok := ps[path]; ok {
			return p
		}
		i := strings.LastIndexByte(path, '.')
		if i < 0 {
			return position{}
		}
		path = path[:i]
	}
}

// display turns "expectation.3.expect.admin" into "expectation[3].expect.admin".
func display(path string) string {
	parts := strings.Split(path, ".")
	var b strings.Builder
	for i, part := range parts {
		if _, err := strconv.Atoi(part); err == nil && i > 0 {
			b.WriteString("[" + part + "]")
			continue
		}
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(part)
	}
	return b.String()
}

// splitHostPort is net.SplitHostPort, kept here so config stays free of net.
func splitHostPort(s string) (host, port string, err error) {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().String(), strconv.Itoa(int(ap.Port())), nil
	}
	i := strings.LastIndexByte(s, ':')
	if i < 0 || strings.Contains(s[:i], ":") {
		return "", "", fmt.Errorf("missing port")
	}
	return s[:i], s[i+1:], nil
}
