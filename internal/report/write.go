package report

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"probe/internal/readfile"
)

// WriteFile writes data to path atomically: to a temporary file in the same
// directory, synced, then renamed over path. A reader (or a second run
// writing the same path) sees the old file or the new one, never a mix; a
// crash leaves at most a temporary file, which is removed on error. The
// directory must exist: WriteFile creates none.
func WriteFile(path string, data []byte) error {
	dir := filepath.Dir(path)
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return fmt.Errorf("writing %s: directory %s does not exist", path, dir)
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("writing report: %w", err)
	}
	defer os.Remove(tmp.Name()) // a no-op once renamed
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("writing report: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("writing report: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing report: %w", err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return fmt.Errorf("writing report: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("writing report: %w", err)
	}
	return nil
}

// Read loads a report written by WriteFile.
func Read(path string) (*Report, error) {
	r, _, err := Load(path)
	return r, err
}

// Load is Read that also returns the file's bytes, for renderings that
// pass the JSON through.
func Load(path string) (*Report, []byte, error) {
	b, err := readfile.Bounded(path, MaxFileSize)
	if err != nil {
		return nil, nil, err
	}
	r, err := Decode(b)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	return r, b, nil
}

// MaxFileSize bounds a report read. A report of a 65535-port sweep from
// several vantages is a few megabytes.
const MaxFileSize = 64 << 20

// Decode parses a report and checks it against reports/report.schema.json:
// a report with parts missing or of the wrong type is refused, not rendered
// as an empty table that looks like a clean run.
func Decode(b []byte) (*Report, error) {
	var head struct {
		Schema        string `json:"$schema"`
		SchemaVersion int    `json:"schema_version"`
	}
	if err := json.Unmarshal(b, &head); err != nil {
		return nil, fmt.Errorf("not a probe report: %w", err)
	}
	switch {
	case head.Schema != "":
		return nil, errors.New("a JSON Schema (such as reports/report.schema.json), not a probe report: leave it out of the reports given")
	case head.SchemaVersion == 0:
		return nil, errors.New("not a probe report (no schema_version)")
	case head.SchemaVersion > SchemaVersion:
		return nil, fmt.Errorf("report schema %d is newer than this probe understands (%d)", head.SchemaVersion, SchemaVersion)
	}
	if err := checkSchema(b); err != nil {
		return nil, err
	}
	var r Report
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("not a probe report: %w", err)
	}
	return &r, nil
}
