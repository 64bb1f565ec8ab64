package report

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func TestWriteFileIsAtomicAndLeavesNoTemporaryFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "nested", "report.json")
	// A missing directory is an error: a mistyped path grows no tree.
	if err := WriteFile(path, []byte(`{"a":1}`)); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("WriteFile into a missing directory: %v; want an error saying so", err)
	}
	if _, err := os.Stat(filepath.Dir(path)); err == nil {
		t.Error("WriteFile created the missing directory")
	}
	if err := os.Mkdir(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(path, []byte(`{"a":1}`)); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(path, []byte(`{"b":2}`)); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	if string(b) != `{"b":2}` {
		t.Errorf("content = %s; want the second write whole", b)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries; want only the report", len(entries))
	}
}

func TestConcurrentWritersNeverMix(t *testing.T) {
	path := filepath.Join(t.TempDir(), "report.json")
	bodies := make([][]byte, 8)
	for i := range bodies {
		doc := map[string]string{"writer": strings.Repeat(string(rune('a'+i)), 200000)}
		bodies[i], _ = json.Marshal(doc)
	}
	var wg sync.WaitGroup
	for i := range bodies {
		wg.Go(func() {
			if err := WriteFile(path, bodies[i]); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	got, _ := os.ReadFile(path)
	var doc map[string]string
	if err := json.Unmarshal(got, &doc); err != nil {
		t.Fatalf("the report is corrupt after concurrent writes: %v", err)
	}
	whole := false
	for _, b := range bodies {
		whole = whole || string(b) == string(got)
	}
	if !whole {
		t.Errorf("the report is not any one writer's document")
	}
}

func TestWriteFileFailsInUnwritableDirectory(t *testing.T) {
	// Root writes anywhere, so the impossible path is one under a file.
	file := filepath.Join(t.TempDir(), "file")
	os.WriteFile(file, nil, 0o644)
	if err := WriteFile(filepath.Join(file, "report.json"), []byte("{}")); err == nil {
		t.Errorf("writing under a regular file succeeded")
	}
}

func TestReadRejectsWhatIsNotAReport(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string]string{
		"junk.json":   "not json",
		"empty.json":  "{}",
		"future.json": `{"schema_version": 99}`,
	} {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(body), 0o644)
		if _, err := Read(p); err == nil || !strings.Contains(err.Error(), p) {
			t.Errorf("Read(%s) error = %v; want an error naming the file", name, err)
		}
	}
}
