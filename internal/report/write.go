package report

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// WriteFile writes data to path atomically: to a temporary file in the same
// directory, synced, then renamed over path. A reader (or a second run
// writing the same path) sees the old file or the new one, never a mix; a
// crash leaves at most a temporary file, which is removed on error.
func WriteFile(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("report directory: %w", err)
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
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	var r Report
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, nil, fmt.Errorf("%s: not a probe report: %w", path, err)
	}
	if r.SchemaVersion == 0 {
		return nil, nil, fmt.Errorf("%s: not a probe report (no schema_version)", path)
	}
	if r.SchemaVersion > SchemaVersion {
		return nil, nil, fmt.Errorf("%s: report schema %d is newer than this probe understands (%d)", path, r.SchemaVersion, SchemaVersion)
	}
	return &r, b, nil
}
