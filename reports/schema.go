// Package reports holds the JSON Schema of probe's report, so that the
// binary checks every report it reads against the same document its users
// validate with. Runs write their reports into this directory by default.
package reports

import _ "embed"

// Schema is report.schema.json, the JSON Schema (draft 2020-12) of a report.
//
//go:embed report.schema.json
var Schema []byte
