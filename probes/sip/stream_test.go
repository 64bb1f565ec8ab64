package sip

import (
	"bytes"
	"strings"
	"testing"
)

func TestFrame(t *testing.T) {
	msg := "SIP/2.0 200 OK\r\nCSeq: 1 OPTIONS\r\nContent-Length: 4\r\n\r\nbody"
	compact := "SIP/2.0 200 OK\r\nl: 2\r\n\r\nab"
	tests := []struct {
		name string
		in   string
		size int
		ok   bool
		err  bool
	}{
		{"whole", msg, len(msg), true, false},
		{"followed by the next", msg + "SIP/2.0 100", len(msg), true, false},
		{"keep-alive CRLFs first", "\r\n\r\n" + msg, 4 + len(msg), true, false},
		{"compact l header", compact + "cd", len(compact), true, false},
		{"no body", "SIP/2.0 200 OK\r\n\r\n", 18, true, false},
		{"headers not ended", "SIP/2.0 200 OK\r\nCSeq: 1", 0, false, false},
		{"body not all there", msg[:len(msg)-1], 0, false, false},
		{"bad length", "SIP/2.0 200 OK\r\nContent-Length: -1\r\n\r\n", 0, false, true},
		{"length too large", "SIP/2.0 200 OK\r\nContent-Length: 999999999\r\n\r\n", 0, false, true},
		{"endless headers", "SIP/2.0 200 OK\r\n" + strings.Repeat("X: y\r\n", 20000), 0, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			size, ok, err := frame([]byte(tt.in))
			if size != tt.size || ok != tt.ok || (err != nil) != tt.err {
				t.Errorf("frame = %d, %v, %v; want %d, %v, error %v", size, ok, err, tt.size, tt.ok, tt.err)
			}
		})
	}
}

// A frame never reaches past what it was given, and reading more bytes
// never changes where a whole message ends.
func FuzzFrame(f *testing.F) {
	f.Add([]byte("SIP/2.0 200 OK\r\nContent-Length: 4\r\n\r\nbodySIP/2.0"))
	f.Add([]byte("\r\nSIP/2.0 200 OK\r\nl: 0\r\n\r\n"))
	f.Add([]byte("SIP/2.0 200 OK\r\nContent-Length: x\r\n\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		size, ok, err := frame(b)
		if err != nil {
			return
		}
		if !ok {
			if size != 0 {
				t.Fatalf("frame(%q) = %d, not whole; want size 0", b, size)
			}
			return
		}
		if size <= 0 || size > len(b) {
			t.Fatalf("frame(%q) = %d; want 1..%d", b, size, len(b))
		}
		again, ok2, err2 := frame(append(bytes.Clone(b), "SIP/2.0 100 Trying\r\n"...))
		if err2 != nil || !ok2 || again != size {
			t.Fatalf("frame(%q + more) = %d, %v, %v; want %d", b, again, ok2, err2, size)
		}
	})
}
