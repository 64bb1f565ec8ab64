package config

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
	"unicode/utf8"

	"github.com/pelletier/go-toml/v2"

	"probe/internal/readfile"
)

// MaxFileSize bounds what Load reads. An expectation table for a fleet is a
// few kilobytes; anything this large is a wrong file, not a config.
const MaxFileSize = 4 << 20

// Load reads, decodes and validates the file at path. Its error, when not
// nil, is Problems: every problem of the file, each with its location.
func Load(path string) (*File, error) {
	// The bytes read are counted, not the size the file claims: a device
	// or a pipe (/dev/zero) claims none.
	data, err := readfile.Bounded(path, MaxFileSize)
	var tl *readfile.TooLargeError
	switch {
	case errors.As(err, &tl):
		return nil, Problems{{File: path, Msg: fmt.Sprintf("the file goes on past %d bytes; an expectation table is at most %d bytes (is it the right file?)", MaxFileSize, MaxFileSize)}}
	case err != nil:
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, Problems{{File: path, Msg: "cannot read the file: " + err.Error()}}
	}
	return Parse(path, data)
}

// Parse decodes and validates data as the file named name.
func Parse(name string, data []byte) (*File, error) {
	if ps := checkText(name, data); ps != nil {
		return nil, ps
	}
	var f File
	m := newDecodeMirror()
	decoded := m.new()
	dec := toml.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	pos := indexPositions(data)
	var unknown Problems
	if err := dec.Decode(decoded); err != nil {
		// Unknown keys do not stop the decoder: the rest of the file is
		// decoded, so its values are validated too and every problem is
		// told at once. Any other decode error leaves nothing to validate.
		var strict *toml.StrictMissingError
		if !errors.As(err, &strict) {
			return nil, decodeProblems(name, err, pos, m.typeNames())
		}
		unknown = decodeProblems(name, err, pos, m.typeNames())
	}
	m.copyTo(decoded, &f)
	sum := sha256.Sum256(data)
	f.Path, f.Digest = name, hex.EncodeToString(sum[:])
	v := validator{file: &f, name: name, pos: pos}
	v.validate()
	if ps := append(unknown, withoutEchoes(v.problems, unknown)...); len(ps) > 0 {
		return nil, ps.sorted()
	}
	return &f, nil
}

// checkText rejects what is not a TOML text at all, with a message a person
// can act on, before the decoder gives a less helpful one.
func checkText(name string, data []byte) Problems {
	switch {
	case len(bytes.TrimSpace(data)) == 0:
		return Problems{{File: name, Msg: "the file is empty; an expectation table needs at least one [[vantage]], [[target]] and [[expectation]]"}}
	case bytes.HasPrefix(data, []byte("\xef\xbb\xbf")):
		return Problems{{File: name, Line: 1, Col: 1, Msg: "the file starts with a UTF-8 byte order mark, which TOML does not allow; save it without one"}}
	case bytes.IndexByte(data, 0) >= 0 || !utf8.Valid(data):
		line := 1 + bytes.Count(data[:firstBad(data)], []byte("\n"))
		return Problems{{File: name, Line: line, Msg: "the file is not UTF-8 text (is it a binary file?)"}}
	}
	return nil
}

func firstBad(data []byte) int {
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		if r == 0 || (r == utf8.RuneError && size == 1) {
			return i
		}
		i += size
	}
	return len(data)
}

// decodeProblems turns the decoder's errors into located problems: every
// unknown key at once, or the first syntax or type error.
func decodeProblems(name string, err error, pos positions, types *strings.Replacer) Problems {
	var strict *toml.StrictMissingError
	if errors.As(err, &strict) {
		var ps Problems
		for _, e := range strict.Errors {
			line, col := e.Position()
			ps = append(ps, Problem{File: name, Line: line, Col: col, Key: pos.pathAt(line, col, keyString(e.Key())),
				Msg: "unknown key (check its spelling and the table it is in)"})
		}
		return ps.sorted()
	}
	var de *toml.DecodeError
	if errors.As(err, &de) {
		line, col := de.Position()
		msg := types.Replace(strings.TrimPrefix(de.Error(), "toml: "))
		return Problems{{File: name, Line: line, Col: col, Key: pos.pathAt(line, col, keyString(de.Key())), Msg: msg}}
	}
	return Problems{{File: name, Msg: strings.TrimPrefix(err.Error(), "toml: ")}}
}

func keyString(k toml.Key) string { return strings.Join(k, ".") }

// withoutEchoes drops the problems that only echo a misspelt key: "cidr:
// unknown key" leaves cidrs unset, and "cidrs: missing" says nothing more.
// A problem is an echo when an unknown key of the same table is its own
// key with at most two letters changed.
func withoutEchoes(ps, unknown Problems) Problems {
	var out Problems
	for _, p := range ps {
		echo := false
		for _, u := range unknown {
			pt, pk := splitKey(p.Key)
			ut, uk := splitKey(u.Key)
			if pt == ut && pk != uk && editDistance(pk, uk) <= 2 {
				echo = true
				break
			}
		}
		if !echo {
			out = append(out, p)
		}
	}
	return out
}

// splitKey splits "expectation[0].tcp.banner" into its table and last key.
func splitKey(k string) (table, key string) {
	if i := strings.LastIndexByte(k, '.'); i >= 0 {
		return k[:i], k[i+1:]
	}
	return "", k
}

// editDistance is the Levenshtein distance between two short keys.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}
