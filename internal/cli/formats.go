package cli

import (
	"bytes"
	"fmt"
	"strings"

	"probe/internal/report"
)

// output is one --format FMT[=PATH]: a rendering and where it goes.
type output struct {
	format report.Format
	// path is the file, "-" for stdout, or "" for beside the JSON report.
	path string
}

// parseOutputs reads the --format values. At most one may go to stdout.
func parseOutputs(specs []string) ([]output, error) {
	var outs []output
	stdout := 0
	for _, s := range specs {
		name, path, _ := strings.Cut(s, "=")
		f, ok := report.LookupFormat(name)
		if !ok {
			return nil, fmt.Errorf("--format %s: no such format (want one of %s)", name, report.FormatNames())
		}
		if strings.Contains(s, "=") && path == "" {
			return nil, fmt.Errorf("--format %s: empty path after '=' (use - for stdout)", s)
		}
		if path == "-" {
			stdout++
		}
		outs = append(outs, output{format: f, path: path})
	}
	if stdout > 1 {
		return nil, fmt.Errorf("--format: only one format can go to stdout (-)")
	}
	return outs, nil
}

// toStdout reports whether some output goes to stdout.
func toStdout(outs []output) bool {
	for _, o := range outs {
		if o.path == "-" {
			return true
		}
	}
	return false
}

// writeOutputs renders rep into each output; jsonPath is where the JSON
// report itself was written (the default place for the others). Files are
// written atomically, so a textfile collector never reads half of one.
func writeOutputs(outs []output, rep *report.Report, raw []byte, jsonPath string, env Env, opt report.RenderOptions) error {
	for _, o := range outs {
		path := o.path
		if path == "" {
			path = report.BesidePath(jsonPath, o.format)
			if path == jsonPath {
				continue // --format json without a path: the report itself
			}
		}
		var buf bytes.Buffer
		ropt := opt
		if path != "-" {
			ropt.Color = false
		}
		if err := o.format.Render(&buf, rep, raw, ropt); err != nil {
			return fmt.Errorf("--format %s: %w", o.format.Name, err)
		}
		if path == "-" {
			if _, err := env.Stdout.Write(buf.Bytes()); err != nil {
				return err
			}
			continue
		}
		if err := report.WriteFile(path, buf.Bytes()); err != nil {
			return fmt.Errorf("--format %s: %w", o.format.Name, err)
		}
		fmt.Fprintf(env.Stderr, "%s: %s\n", o.format.Name, path)
	}
	return nil
}
