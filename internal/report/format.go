package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// RenderOptions tune the renderings that have choices.
type RenderOptions struct {
	// Color and Wide are the table's (TableOptions).
	Color, Wide bool
	// Compact writes JSON on one line instead of indented.
	Compact bool
}

// Format is one way to render a report.
type Format struct {
	// Name is the word --format takes.
	Name string
	// Ext is the file name's ending when the path is not given: the JSON
	// report's path with ".json" replaced by it.
	Ext string
	// Render writes r. raw is r's JSON as read or written, so the json
	// format passes through fields this version does not know.
	Render func(w io.Writer, r *Report, raw []byte, opt RenderOptions) error
}

// Formats are the renderings, by name, in the order the help lists them.
var Formats = []Format{
	{"table", ".txt", func(w io.Writer, r *Report, _ []byte, opt RenderOptions) error {
		return WriteTable(w, r, TableOptions{Color: opt.Color, Wide: opt.Wide})
	}},
	{"markdown", ".md", func(w io.Writer, r *Report, _ []byte, _ RenderOptions) error { return WriteMarkdown(w, r) }},
	{"junit", ".junit.xml", func(w io.Writer, r *Report, _ []byte, _ RenderOptions) error { return WriteJUnit(w, r) }},
	{"prometheus", ".prom", func(w io.Writer, r *Report, _ []byte, _ RenderOptions) error { return WritePrometheus(w, r) }},
	{"json", ".json", writeJSON},
}

// LookupFormat returns the format called name.
func LookupFormat(name string) (Format, bool) {
	for _, f := range Formats {
		if f.Name == name {
			return f, true
		}
	}
	return Format{}, false
}

// FormatNames lists the formats' names, for messages.
func FormatNames() string {
	names := make([]string, len(Formats))
	for i, f := range Formats {
		names[i] = f.Name
	}
	return strings.Join(names, ", ")
}

// BesidePath is where a format's output goes when no path is given: beside
// the JSON report, with the format's ending.
func BesidePath(reportPath string, f Format) string {
	return strings.TrimSuffix(reportPath, ".json") + f.Ext
}

func writeJSON(w io.Writer, r *Report, raw []byte, opt RenderOptions) error {
	if raw == nil {
		var err error
		if raw, err = json.Marshal(r); err != nil {
			return err
		}
	}
	// Indent copies trailing space: without the trim a file's final newline
	// would come out twice.
	raw = bytes.TrimSpace(raw)
	var buf bytes.Buffer
	var err error
	if opt.Compact {
		err = json.Compact(&buf, raw)
	} else {
		err = json.Indent(&buf, raw, "", "  ")
	}
	if err != nil {
		return fmt.Errorf("report JSON: %w", err)
	}
	buf.WriteByte('\n')
	_, err = w.Write(buf.Bytes())
	return err
}
