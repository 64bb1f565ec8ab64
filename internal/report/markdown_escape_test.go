package report

import (
	"bytes"
	"strings"
	"testing"
)

// Text a server or a config put in a report reaches the Markdown as text:
// no raw HTML and no links for the page that renders it.
func TestMarkdownEscapesMarkup(t *testing.T) {
	rep, err := Read("testdata/run-before-internet.json")
	if err != nil {
		t.Fatal(err)
	}
	hostile := `banner <img src=x onerror="alert(1)"> & <script>x()</script> ![seen](http://tracker.invalid/p.png) \[`
	for i := range rep.Results {
		rep.Results[i].Reason = hostile
		rep.Results[i].Purpose = "<b>purpose</b>"
		rep.Results[i].Verdict = "fail"
	}
	rep.Summary.Note = "<details open>note</details>"
	rep.Partial, rep.PartialReason = true, "<h1>cut</h1>"
	var b bytes.Buffer
	if err := WriteMarkdown(&b, rep); err != nil {
		t.Fatal(err)
	}
	md := b.String()
	for _, bad := range []string{"<img", "<script", "<b>", "<details", "<h1>", "![seen]", "[seen](http"} {
		if strings.Contains(md, bad) {
			t.Errorf("the Markdown holds %q unescaped", bad)
		}
	}
	for _, want := range []string{`&lt;img src=x onerror="alert(1)"&gt; &amp; &lt;script&gt;`, `!\[seen\](http://tracker.invalid/p.png) \\\[`, "&lt;b&gt;purpose&lt;/b&gt;", "&lt;h1&gt;cut"} {
		if !strings.Contains(md, want) {
			t.Errorf("the Markdown lacks the escaped text %q", want)
		}
	}
}
