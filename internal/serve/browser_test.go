package serve

import (
	"context"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"probe/internal/report"
	"probe/internal/testutil"
)

// chromium renders url headless and returns the DOM after it loaded, or
// takes a screenshot into png when png is set. The flags keep it off the
// network it has no business with (this machine refuses it anyway).
func chromium(t *testing.T, url, png string) string {
	t.Helper()
	bin := testutil.RequireBinary(t, "chromium", "chromium", "chromium-browser")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	args := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir=" + t.TempDir()}
	if png != "" {
		args = append(args, "--window-size=1400,900", "--screenshot="+png, url)
	} else {
		args = append(args, "--dump-dom", url)
	}
	out, err := exec.CommandContext(ctx, bin, args...).Output()
	if err != nil {
		t.Fatalf("chromium: %v", err)
	}
	return string(out)
}

// The page at / in a real browser: one row per result with its verdict,
// and a reason carrying markup shown as text, not run.
func TestPageInChromium(t *testing.T) {
	rep := kept(t, "before-internet")
	hostile := `<img id="injected" src="x"><script>document.title="owned"</script>`
	rep.Results[0].Reason = hostile
	s := New(func(context.Context) (*report.Report, error) { return rep, nil }, time.Hour, t.Logf)
	s.RunOnce(context.Background())
	hs := httptest.NewServer(s.Handler())
	defer hs.Close()

	dom := chromium(t, hs.URL+"/", "")
	if got := strings.Count(dom, "<tr class="); got != len(rep.Results) {
		t.Errorf("the browser's page has %d result rows; want %d", got, len(rep.Results))
	}
	fails := 0
	for _, r := range rep.Results {
		if r.Verdict == "fail" {
			fails++
		}
	}
	if got := strings.Count(dom, `<tr class="fail"><td class="verdict">fail</td>`); got != fails || fails == 0 {
		t.Errorf("%d failed rows in the page; want %d", got, fails)
	}
	if strings.Contains(dom, `<img id="injected"`) || strings.Contains(dom, "<title>owned") || strings.Contains(dom, "<script>document") {
		t.Error("markup from a reason became part of the page")
	}
	if !strings.Contains(dom, "&lt;img id=\"injected\"") {
		t.Error("the reason's text is not on the page")
	}
	if !strings.Contains(dom, `<span id="status">fail</span>`) {
		t.Error("the page's status is not fail")
	}
	if testing.Verbose() {
		png := filepath.Join(os.TempDir(), "probe-serve-page.png")
		chromium(t, hs.URL+"/", png)
		t.Logf("screenshot: %s", png)
	}
}
