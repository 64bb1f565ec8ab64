package main

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"probe/internal/testutil"
)

// probe serve on loopback: it runs the file at once, serves the report and
// its metrics, runs again on its interval, and stops cleanly on SIGTERM.
func TestServeOnLoopback(t *testing.T) {
	stunAddr := testutil.STUNResponder(t)
	open := tcpListener(t, "")
	cfg := config(t, fmt.Sprintf(`
[[expectation]]
id = "served"
target = "box"
port = %d
transport = "tcp"
probe = "tcp"
expect = { local = "open" }
`, open))
	cmd := exec.Command(binary, "serve", "--from", "local", "--stun", stunAddr, "--listen", "127.0.0.1:0", "--interval", "2s", cfg)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	defer func() {
		cmd.Process.Kill()
		<-done
	}()
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		done <- cmd.Wait()
	}()
	listening := regexp.MustCompile(`listening on (http://127\.0\.0\.1:\d+/)`)
	var base string
	runs := 0
	deadline := time.After(30 * time.Second)
	for base == "" || runs < 2 {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatal("probe serve exited early")
			}
			t.Log(l)
			if m := listening.FindStringSubmatch(l); m != nil {
				base = m[1]
			}
			if strings.Contains(l, "1 pass, 0 fail") {
				runs++
			}
		case <-deadline:
			t.Fatalf("no address or fewer than two runs in 30s (address %q, runs %d)", base, runs)
		}
	}
	body := func(path string) string {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Errorf("GET %s: %s", path, resp.Status)
		}
		return string(b)
	}
	testutil.ValidateReport(t, []byte(body("report.json")))
	metrics := body("metrics")
	for _, want := range []string{`probe_expectation_verdict{id="served",target="box",vantage="local",verdict="pass"} 1`, `probe_serve_runs_total{outcome="pass"}`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if page := body(""); !strings.Contains(page, "served") {
		t.Error("the page does not list the expectation")
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	for range lines {
	}
	if err := <-done; err != nil {
		t.Errorf("after SIGTERM: %v; want exit 0", err)
	}
	done <- nil // for the deferred kill
}

func TestServeUsage(t *testing.T) {
	cfg := config(t, `
[[expectation]]
id = "x"
target = "box"
port = 9
transport = "tcp"
probe = "tcp"
expect = { local = "open" }
`)
	for _, args := range [][]string{
		{"serve", cfg},
		{"serve", "--from", "local", "--interval", "0s", cfg},
		{"serve", "--from", "nowhere", cfg},
		{"serve", "--from", "local", "--out", "/no/such/dir/r.json", cfg},
	} {
		if _, stderr, code := run(t, args...); code != 2 || stderr == "" {
			t.Errorf("probe %s: exit %d, %q; want 2 with a message", strings.Join(args, " "), code, stderr)
		}
	}
}
