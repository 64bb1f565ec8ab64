package testutil

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
)

// Coturn starts Debian's coturn on loopback as the testbed runs it, STUN
// only, and returns its UDP port and the path of its log. It stops when the
// test ends. coturn takes a moment to bind (until then its port refuses):
// the caller asks until it answers. Unavailable when coturn is not
// installed.
func Coturn(t testing.TB) (port int, logPath string) {
	t.Helper()
	bin := RequireBinary(t, "coturn", "turnserver")
	port = FreeUDPTCPPort(t)
	dir := t.TempDir()
	cmd := exec.Command(bin, "-n", "--stun-only", "--no-auth", "--listening-ip", "127.0.0.1",
		"--listening-port", strconv.Itoa(port), "--no-cli", "--no-tls", "--no-dtls", "--no-rfc5780",
		"--log-file", "stdout", "--simple-log", "--pidfile", filepath.Join(dir, "turn.pid"),
		"--db", filepath.Join(dir, "turndb"))
	logPath = filepath.Join(dir, "turn.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		logFile.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		logFile.Close()
	})
	return port, logPath
}
