package draft

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode"
)

// quote writes s as a TOML basic string.
func quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f || !unicode.IsPrint(r):
			fmt.Fprintf(&b, `\u%04X`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

func quoteList(list []string) string {
	q := make([]string, len(list))
	for i, s := range list {
		q[i] = quote(s)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

// comment writes text as TOML comment lines.
func comment(w *strings.Builder, text string) {
	for _, line := range strings.Split(text, "\n") {
		w.WriteString("# " + line + "\n")
	}
}

// Write renders the draft as an expectation table. source names the files
// it was made from, for the header.
func (d *Draft) Write(out io.Writer, source string) error {
	w := &strings.Builder{}
	comment(w, "A draft expectation table, written by `probe import` from "+source+".\n"+
		"It states what the security groups allow, rule by rule: a rule that should not be\n"+
		"there is stated too, so read every expectation against your security document, give\n"+
		"the vantages their real names, add the protocol checks ([expectation.ssh], ...), and\n"+
		"check it with `probe validate`. Compare it with the groups later with `probe drift`.")
	w.WriteString("\n[stun]\n")
	comment(w, "Public STUN servers tell a runner its public address (RFC 8489): put yours here.")
	w.WriteString("servers = []\n")
	for _, n := range d.Notes {
		w.WriteString("\n")
		comment(w, "Not stated: "+n)
	}
	for _, v := range d.Vantages {
		w.WriteString("\n[[vantage]]\n")
		fmt.Fprintf(w, "name = %s\n", quote(v.Name))
		if v.Description != "" {
			fmt.Fprintf(w, "description = %s\n", quote(v.Description))
		}
		fmt.Fprintf(w, "network = %s\n", quote(v.Network))
		if v.Host != "" {
			fmt.Fprintf(w, "host = %s\n", quote(v.Host))
		}
		if v.CatchAll {
			w.WriteString("catch_all = true\n")
		}
		if len(v.CIDRs) > 0 {
			var cs []string
			for _, p := range v.CIDRs {
				cs = append(cs, p.String())
			}
			fmt.Fprintf(w, "cidrs = %s\n", quoteList(cs))
		}
	}
	for _, t := range d.Targets {
		w.WriteString("\n[[target]]\n")
		fmt.Fprintf(w, "name = %s\n", quote(t.Name))
		if t.Description != "" {
			fmt.Fprintf(w, "description = %s\n", quote(t.Description))
		}
		if t.Public != "" {
			fmt.Fprintf(w, "public = %s", quote(t.Public))
			if t.Placeholder {
				w.WriteString("   # replace with the instance's public address (describe-instances was not given)")
			}
			w.WriteString("\n")
		}
		if t.Private != "" {
			fmt.Fprintf(w, "private = %s\n", quote(t.Private))
		}
		if t.IPv6 != "" {
			fmt.Fprintf(w, "ipv6 = %s\n", quote(t.IPv6))
		}
		fmt.Fprintf(w, "security_groups = %s\n", quoteList(t.Groups))
		if len(t.NothingOpenFrom) > 0 {
			fmt.Fprintf(w, "nothing_open_from = %s\n", quoteList(t.NothingOpenFrom))
		}
	}
	for _, e := range d.Expectations {
		w.WriteString("\n")
		if e.Comment != "" {
			comment(w, e.Comment)
		}
		w.WriteString("[[expectation]]\n")
		fmt.Fprintf(w, "id = %s\ntarget = %s\n", quote(e.ID), quote(e.Target))
		if e.Lo == e.Hi {
			fmt.Fprintf(w, "port = %d\n", e.Lo)
		} else {
			fmt.Fprintf(w, "range = \"%d-%d\"\n", e.Lo, e.Hi)
		}
		fmt.Fprintf(w, "transport = %s\nprobe = %s\n", quote(e.Transport), quote(e.Probe))
		if e.At != "" {
			fmt.Fprintf(w, "at = %s\n", quote(e.At))
		}
		if e.Family != "" {
			fmt.Fprintf(w, "family = %s\n", quote(e.Family))
		}
		if e.Purpose != "" {
			fmt.Fprintf(w, "purpose = %s\n", quote(e.Purpose))
		}
		var names []string
		for n := range e.Expect {
			names = append(names, n)
		}
		slices.SortFunc(names, func(a, b string) int { return d.vantageIndex(a) - d.vantageIndex(b) })
		var parts []string
		for _, n := range names {
			parts = append(parts, fmt.Sprintf("%s = %s", key(n), quote(e.Expect[n])))
		}
		fmt.Fprintf(w, "expect = { %s }\n", strings.Join(parts, ", "))
		if e.TLS {
			w.WriteString("[expectation.http]\ntls = true\n")
		}
	}
	_, err := io.WriteString(out, w.String())
	return err
}

func (d *Draft) vantageIndex(name string) int {
	for i, v := range d.Vantages {
		if v.Name == name {
			return i
		}
	}
	return len(d.Vantages)
}

// key writes a vantage name as a TOML key: bare when it can be.
func key(s string) string {
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return quote(s)
		}
	}
	return s
}
