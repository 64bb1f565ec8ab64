package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// defaultReportDir is where run writes its report when --out is not given;
// it is the one directory probe creates itself.
const defaultReportDir = "reports"

// outPath is where a command writes its main output, decided before the
// work starts, so that a typo in --out costs no run:
//   - "" is the command's default place;
//   - "-" is stdout;
//   - an existing directory, or a path ending in "/", is that directory,
//     with the command's usual file name in it;
//   - anything else is a file whose directory must already exist.
//
// A missing directory is an error, not created: a mistyped path must not
// grow a tree of its own, out of sight of the cron job that reads the
// usual one.
type outPath struct {
	stdout bool
	dir    string // the directory to write into, when file is not yet named
	file   string // the file, when given
}

func resolveOut(flag, value string) (outPath, error) {
	switch {
	case value == "-":
		return outPath{stdout: true}, nil
	case value == "":
		return outPath{dir: defaultReportDir}, nil
	}
	if st, err := os.Stat(value); err == nil && st.IsDir() {
		return outPath{dir: value}, nil
	}
	if strings.HasSuffix(value, "/") {
		return outPath{}, fmt.Errorf("%s %s: no such directory (create it first)", flag, value)
	}
	if err := dirExists(filepath.Dir(value)); err != nil {
		return outPath{}, fmt.Errorf("%s %s: %w", flag, value, err)
	}
	return outPath{file: value}, nil
}

// path is the file to write: the given one, or name in the directory.
// The default directory is created when missing.
func (o outPath) path(name string) (string, error) {
	if o.file != "" {
		return o.file, nil
	}
	if o.dir == defaultReportDir {
		if err := os.MkdirAll(o.dir, 0o755); err != nil {
			return "", err
		}
	}
	return filepath.Join(o.dir, name), nil
}

func dirExists(dir string) error {
	st, err := os.Stat(dir)
	switch {
	case err != nil && os.IsNotExist(err):
		return fmt.Errorf("directory %s does not exist (create it first)", dir)
	case err != nil:
		return err
	case !st.IsDir():
		return fmt.Errorf("%s is not a directory", dir)
	}
	return nil
}

// checkOutputDirs says, before any work, which --format file would land in
// a directory that does not exist.
func checkOutputDirs(outs []output) error {
	for _, o := range outs {
		if o.path == "" || o.path == "-" {
			continue
		}
		if err := dirExists(filepath.Dir(o.path)); err != nil {
			return fmt.Errorf("--format %s=%s: %w", o.format.Name, o.path, err)
		}
	}
	return nil
}
