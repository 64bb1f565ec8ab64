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
		return nil, Problems{{File: path, Msg: fmt.Sprintf("the file is larger than %d bytes, the most an expectation table may be (is it the right file?)", MaxFileSize)}}
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
	dec := toml.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, decodeProblems(name, err, indexPositions(data))
	}
	sum := sha256.Sum256(data)
	f.Path, f.Digest = name, hex.EncodeToString(sum[:])
	v := validator{file: &f, name: name, pos: indexPositions(data)}
	v.validate()
	if len(v.problems) > 0 {
		return nil, v.problems.sorted()
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
func decodeProblems(name string, err error, pos positions) Problems {
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
		msg := strings.TrimPrefix(de.Error(), "toml: ")
		return Problems{{File: name, Line: line, Col: col, Key: pos.pathAt(line, col, keyString(de.Key())), Msg: msg}}
	}
	return Problems{{File: name, Msg: strings.TrimPrefix(err.Error(), "toml: ")}}
}

func keyString(k toml.Key) string { return strings.Join(k, ".") }
