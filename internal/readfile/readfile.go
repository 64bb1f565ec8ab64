// Package readfile reads whole files with a bound on their size, so that a
// wrong path (/dev/zero, a log, a disk image) is an error at once rather
// than a process that reads until memory runs out. It knows nothing of what
// the files hold.
package readfile

import (
	"fmt"
	"io"
	"os"
)

// TooLargeError says that a file holds more than a reader accepts.
type TooLargeError struct {
	Path string
	Max  int64
}

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("%s: more than %d bytes; too large for what is expected here (is it the wrong file?)", e.Path, e.Max)
}

// Bounded reads the file at path, at most max bytes. A file with more,
// regular or not (a device, a pipe, a file still growing), is a
// *TooLargeError; the size the file claims is not trusted, the bytes read
// are counted.
func Bounded(path string, max int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if int64(len(b)) > max {
		return nil, &TooLargeError{Path: path, Max: max}
	}
	return b, nil
}
