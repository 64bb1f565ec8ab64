package readfile

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestBounded(t *testing.T) {
	dir := t.TempDir()
	small := filepath.Join(dir, "small")
	if err := os.WriteFile(small, []byte("12345"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, path string
		max        int64
		want       string // "" for a too-large error
	}{
		{"fits", small, 5, "12345"},
		{"one byte over", small, 4, ""},
		{"endless device", "/dev/zero", 1 << 20, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := Bounded(tc.path, tc.max)
			var tl *TooLargeError
			switch {
			case tc.want != "" && (err != nil || string(b) != tc.want):
				t.Errorf("Bounded = %q, %v; want %q", b, err, tc.want)
			case tc.want == "" && !errors.As(err, &tl):
				t.Errorf("Bounded = %d bytes, %v; want a TooLargeError", len(b), err)
			case tc.want == "" && !strings.Contains(err.Error(), tc.path):
				t.Errorf("error %q does not name the file", err)
			}
		})
	}
	if _, err := Bounded(filepath.Join(dir, "missing"), 10); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v; want ErrNotExist", err)
	}
}
