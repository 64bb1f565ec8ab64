package cli

import (
	"bytes"
	"strings"
	"testing"
)

func runMain(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := Main(args, Env{Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }})
	return code, out.String(), errb.String()
}

func TestDriftExitCodes(t *testing.T) {
	const td = "../drift/testdata/"
	stray := td + "groups-testbed-stray.json" // 8021 open to the world, as someone debugging ESL might leave it
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{"stray rule", []string{"drift", stray, td + "testbed.toml"}, 1,
			"! rule-contradicts-file: sg-0460ce5af3265896a tcp 8021 from 0.0.0.0/0 lets internet in to freeswitch on 8021/tcp, where freeswitch-esl expects it filtered", ""},
		{"markdown", []string{"drift", "--format", "markdown", stray, td + "testbed.toml"}, 1, "| ❌ | rule-contradicts-file | freeswitch | admin | 8021/tcp |", ""},
		{"json", []string{"drift", stray, td + "testbed.toml", "--format", "json"}, 1, `"kind": "rule-contradicts-file"`, ""},
		{"too few", []string{"drift", stray}, 2, "", "want GROUPS.json"},
		{"bad format", []string{"drift", "--format", "xml", stray, td + "testbed.toml"}, 2, "", "no such format"},
		{"groups that are not groups", []string{"drift", td + "testbed.toml", td + "testbed.toml"}, 2, "", "not JSON"},
		{"file that is not a file", []string{"drift", stray, td + "nothing.toml"}, 2, "", "cannot read the file"},
		{"report that is not a report", []string{"drift", stray, td + "testbed.toml", td + "nothing.json"}, 2, "", "nothing.json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errs := runMain(tt.args...)
			if code != tt.code || !strings.Contains(out, tt.stdout) || !strings.Contains(errs, tt.stderr) {
				t.Errorf("exit %d; want %d\nstdout:\n%s\nstderr:\n%s", code, tt.code, out, errs)
			}
		})
	}
}
