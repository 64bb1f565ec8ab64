package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"probe/internal/testutil"
)

// complete runs bash's completion of line (the words typed so far, the
// last one being completed) with the script probe prints.
func complete(t *testing.T, script string, words ...string) []string {
	t.Helper()
	var quoted []string
	for _, w := range words {
		quoted = append(quoted, "'"+w+"'")
	}
	prog := script + "\nCOMP_WORDS=(" + strings.Join(quoted, " ") + ")\nCOMP_CWORD=" +
		string(rune('0'+len(words)-1)) + "\n_probe\nprintf '%s\\n' \"${COMPREPLY[@]}\"\n"
	out, err := exec.Command("bash", "--norc", "-c", prog).CombinedOutput()
	if err != nil {
		t.Fatalf("bash: %v\n%s", err, out)
	}
	return strings.Fields(string(out))
}

func TestBashCompletion(t *testing.T) {
	testutil.RequireBinary(t, "bash", "bash")
	script, _, code := run(t, "completion", "bash")
	if code != 0 {
		t.Fatalf("completion bash: exit %d", code)
	}
	for _, tc := range []struct {
		words []string
		want  []string
	}{
		{[]string{"probe", "ru"}, []string{"run"}},
		{[]string{"probe", "se"}, []string{"serve"}},
		{[]string{"probe", "run", "--fr"}, []string{"--from"}},
		{[]string{"probe", "serve", "--int"}, []string{"--interval"}},
		{[]string{"probe", "report", "--f"}, []string{"--format"}},
		{[]string{"probe", "help", "dr"}, []string{"drift"}},
	} {
		if got := complete(t, script, tc.words...); strings.Join(got, " ") != strings.Join(tc.want, " ") {
			t.Errorf("completing %q: %v; want %v", strings.Join(tc.words, " "), got, tc.want)
		}
	}
	// A file name where a FILE goes.
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "expectations.toml"), nil, 0o644)
	if got := complete(t, script, "probe", "validate", filepath.Join(dir, "exp")); len(got) != 1 || !strings.HasSuffix(got[0], "expectations.toml") {
		t.Errorf("completing a file: %v", got)
	}
	if _, _, code := run(t, "completion", "tcsh"); code != 2 {
		t.Errorf("completion tcsh: exit %d; want 2", code)
	}
}

// The man page renders without a warning from groff and documents every
// command and every flag the commands' help lists.
func TestManPage(t *testing.T) {
	groff := testutil.RequireBinary(t, "groff-base", "groff")
	page, _, code := run(t, "man")
	if code != 0 {
		t.Fatalf("man: exit %d", code)
	}
	render := exec.Command(groff, "-man", "-Tutf8", "-ww", "-rLL=200n")
	render.Stdin = strings.NewReader(page)
	var stderr strings.Builder
	render.Stderr = &stderr
	out, err := render.Output()
	if err != nil || stderr.Len() > 0 {
		t.Fatalf("groff: %v\n%s", err, stderr.String())
	}
	text := regexp.MustCompile(".\b").ReplaceAllString(string(out), "") // overstrike bold
	text = strings.ReplaceAll(text, "\u2010", "-")                      // groff's hyphen
	help, _, _ := run(t, "help")
	for _, cmd := range regexp.MustCompile(`(?m)^  probe (\w+)`).FindAllStringSubmatch(help, -1) {
		if !strings.Contains(text, "probe "+cmd[1]) {
			t.Errorf("the man page lacks the command %s", cmd[1])
			continue
		}
		flags, _, _ := run(t, cmd[1], "--help")
		for _, f := range regexp.MustCompile(`(?m)^  -([a-z-]+)`).FindAllStringSubmatch(flags, -1) {
			if !strings.Contains(text, "--"+f[1]) {
				t.Errorf("the man page lacks %s --%s", cmd[1], f[1])
			}
		}
	}
	for _, code := range []string{"0", "1", "2", "3", "4", "130"} {
		if !regexp.MustCompile(`(?m)^\s+`+code+`\s*$`).MatchString(text) && !strings.Contains(text, "       "+code+" ") {
			t.Errorf("the man page's EXIT STATUS lacks %s", code)
		}
	}
}
