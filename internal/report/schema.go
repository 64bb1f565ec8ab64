package report

import (
	"bytes"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"golang.org/x/text/language"
	"golang.org/x/text/message"

	"probe/reports"
)

// schemaURL is the name the embedded schema is compiled under; it matches
// the schema's own $id.
const schemaURL = "https://probe.invalid/schema/report-v1.json"

var english = message.NewPrinter(language.English)

var compiled = sync.OnceValues(func() (*jsonschema.Schema, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(reports.Schema))
	if err != nil {
		return nil, fmt.Errorf("the built-in report schema: %w", err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource(schemaURL, doc); err != nil {
		return nil, fmt.Errorf("the built-in report schema: %w", err)
	}
	return c.Compile(schemaURL)
})

// checkSchema validates a report's bytes against the report schema and
// says, in one line per problem, where it does not match.
func checkSchema(b []byte) error {
	sch, err := compiled()
	if err != nil {
		return err
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		return fmt.Errorf("not a probe report: %w", err)
	}
	err = sch.Validate(inst)
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return err
	}
	var lines []string
	collect(ve, &lines)
	sort.Strings(lines)
	if len(lines) > 10 {
		lines = append(lines[:10], fmt.Sprintf("and %d more", len(lines)-10))
	}
	return fmt.Errorf("not a valid probe report (reports/report.schema.json): %s", strings.Join(lines, "; "))
}

// collect gathers the leaves of a validation error: the specific problems,
// each with the JSON pointer of the part of the report it is about.
func collect(ve *jsonschema.ValidationError, out *[]string) {
	if len(ve.Causes) == 0 {
		at := "/" + strings.Join(ve.InstanceLocation, "/")
		*out = append(*out, fmt.Sprintf("at %s: %s", at, ve.ErrorKind.LocalizedString(english)))
		return
	}
	for _, c := range ve.Causes {
		collect(c, out)
	}
}
