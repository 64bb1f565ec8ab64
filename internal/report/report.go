// Package report holds the run's report, the JSON document every other
// output (table, Markdown, JUnit, Prometheus) is rendered from, and writes it
// atomically so a reader never sees half a report.
package report

import (
	"encoding/json"
	"fmt"
	"time"

	"probe/internal/config"
	"probe/internal/kinds"
	"probe/probes"
)

// SchemaVersion is the version of the report's JSON shape. It changes when
// a field is removed or changes meaning; added fields do not change it.
const SchemaVersion = 1

// Report is one run from one vantage.
type Report struct {
	// SchemaVersion is the version of this document's shape.
	SchemaVersion int `json:"schema_version"`
	// Tool names the program and its version.
	Tool string `json:"tool"`
	// RunID identifies the run (time and random suffix).
	RunID string `json:"run_id"`
	// Started and Finished bound the run.
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"`
	// Partial says the run did not complete (interrupted or out of time);
	// NotRun lists what was not probed.
	Partial bool `json:"partial"`
	// PartialReason says why the run is partial.
	PartialReason string `json:"partial_reason,omitempty"`
	// Vantage is where the run stood, and how that was established. Absent
	// in a merged report, whose Runs say it per run.
	Vantage Vantage `json:"vantage,omitzero"`
	// Shard says which part of this vantage's checks the run made (--shard
	// I/N); nil when it made them all.
	Shard *Shard `json:"shard,omitempty"`
	// Config identifies the expectation table.
	Config ConfigRef `json:"config"`
	// Configs, in a report merged from runs of several tables (the
	// reference file and its sweep file), lists each; Config is then the
	// first of them.
	Configs []ConfigRef `json:"configs,omitempty"`
	// Overrides are the command-line replacements applied to the file.
	Overrides config.Overrides `json:"overrides"`
	// Seed chose the sampled ports of ranges; pass it to --seed to re-run
	// the same ports. Absent in a merged report (each run has its own).
	Seed int64 `json:"seed,omitempty"`
	// Network says how the prober's own network was shown to work, or why
	// it was not. Absent in a merged report (each run has its own).
	Network Network `json:"network,omitzero"`
	// Targets says, per target, whether it was shown alive from here; in a
	// merged report, per target and vantage.
	Targets []TargetLiveness `json:"targets"`
	// Results has one entry per expectation that applies to this vantage.
	Results []Result `json:"results"`
	// NotApplicable lists expectations that say nothing for this vantage.
	NotApplicable []string `json:"not_applicable,omitempty"`
	// NotRun lists the ids of expectations with ports that were never probed.
	NotRun []string `json:"not_run,omitempty"`
	// Summary counts results by verdict.
	Summary Summary `json:"summary"`
	// Runs, only in a merged report, describes each report it was made
	// from; its presence is what makes a report a merged one.
	Runs []Run `json:"runs,omitempty"`
}

// Shard is one part of a vantage's checks, split across runners.
type Shard struct {
	// Index is the part this run made, from 1.
	Index int `json:"index"`
	// Count is how many parts the checks were split into.
	Count int `json:"count"`
}

// String is the shard as --shard takes it: "2/3".
func (s Shard) String() string { return fmt.Sprintf("%d/%d", s.Index, s.Count) }

// Vantage is where a run stood.
type Vantage struct {
	// Name is the vantage's name in the config.
	Name string `json:"name"`
	// Declared is what --from said ("admin", "auto").
	Declared string `json:"declared"`
	// Established says how the vantage was known: stun-confirmed,
	// stun-auto, trusted-unconfirmed or unconfirmed.
	Established string `json:"established"`
	// PublicAddress is the address STUN reported, if any.
	PublicAddress string `json:"public_address,omitempty"`
	// STUNServer is the server whose answer was used.
	STUNServer string `json:"stun_server,omitempty"`
	// STUNAnswers has every server's answer or error.
	STUNAnswers []STUNAnswer `json:"stun_answers,omitempty"`
	// CIDRs are the vantage's source CIDRs as used in the run.
	CIDRs []string `json:"cidrs,omitempty"`
}

// STUNAnswer is one STUN server's answer.
type STUNAnswer struct {
	Server  string `json:"server"`
	Address string `json:"address,omitempty"`
	Error   string `json:"error,omitempty"`
	RTTms   int64  `json:"rtt_ms,omitempty"`
}

// ConfigRef identifies the expectation table of a run.
type ConfigRef struct {
	Path   string `json:"path"`
	SHA256 string `json:"sha256"`
}

// Network is the evidence that the prober's own network worked.
type Network struct {
	// Working is true when something answered the prober in this run.
	Working bool `json:"working"`
	// Evidence says what showed it, or why nothing did.
	Evidence string `json:"evidence"`
}

// TargetLiveness says whether a target was shown alive from this vantage.
type TargetLiveness struct {
	// Vantage, in a merged report, is the vantage this liveness is from.
	Vantage string `json:"vantage,omitempty"`
	Name    string `json:"name"`
	Address string `json:"address"`
	// At is which of the target's addresses this is (public, private,
	// loopback); empty for a target with one address. Liveness is shown
	// per address: an answer at one proves nothing of the path to another.
	At string `json:"at,omitempty"`
	// Family is the address family of Address (ipv4, ipv6) for a target
	// with an IPv6 address: liveness is shown per family too.
	Family string `json:"family,omitempty"`
	// Alive is true when some port of it answered open in this run.
	Alive bool `json:"alive"`
	// Evidence says which answer showed it, or why none did.
	Evidence string `json:"evidence"`
	// NothingOpen is true when the config declares nothing of it open from
	// this vantage.
	NothingOpen bool `json:"nothing_open,omitempty"`
	// StoppedAnswering is true when it answered earlier in the run but not
	// at the closing re-check: a ban or a crash part-way.
	StoppedAnswering bool `json:"stopped_answering,omitempty"`
}

// Result is one expectation's outcome, echoing what was expected next to
// what was seen.
type Result struct {
	ID string `json:"id"`
	// Vantage, in a merged report, is the vantage the result is from; in a
	// single run's report it is empty and the report's vantage applies.
	Vantage string `json:"vantage,omitempty"`
	Target  string `json:"target"`
	Address string `json:"address"`
	// At is which of the target's addresses was probed (public, private,
	// loopback); empty for a target with one address.
	At string `json:"at,omitempty"`
	// Family is the address family probed (ipv4, ipv6), for a target with
	// an IPv6 address or an expectation that names one: an expectation
	// probed over both families has a result for each.
	Family    string `json:"family,omitempty"`
	Ports     []int  `json:"ports"`
	Range     string `json:"range,omitempty"`
	Transport string `json:"transport"`
	Probe     string `json:"probe"`
	Purpose   string `json:"purpose,omitempty"`
	// Expected is the word for this vantage.
	Expected string `json:"expected"`
	// Observed summarises the ports' states ("filtered", "open 2, closed 1").
	Observed string `json:"observed"`
	// Verdict is pass, fail, inconclusive or error.
	Verdict string `json:"verdict"`
	// Reason says why, in a sentence a person can act on.
	Reason string `json:"reason"`
	// Critical marks a failure the report must call out.
	Critical bool `json:"critical,omitempty"`
	// Sample describes a range's sample.
	Sample *Sample `json:"sample,omitempty"`
	// Sweep describes a check of every port of a range; its ports and
	// evidence then list only the ports that did not conform.
	Sweep *Sweep `json:"sweep,omitempty"`
	// Resolved is what the name resolved to, for a row that judges a
	// target's name rather than a port (probe resolve).
	Resolved *Resolved `json:"resolved,omitempty"`
	// Evidence has one entry per probed port.
	Evidence []PortEvidence `json:"evidence"`
	// DurationMS is the longest port probe's duration.
	DurationMS int64 `json:"duration_ms"`
}

// Resolved is a name and the addresses it resolved to from the vantage.
type Resolved struct {
	Name      string   `json:"name"`
	Addresses []string `json:"addresses"`
}

// Sample describes the ports chosen from a range.
type Sample struct {
	Seed     int64 `json:"seed"`
	Size     int   `json:"size"`
	Controls []int `json:"controls,omitempty"`
}

// PortEvidence is what one port's probe saw.
type PortEvidence struct {
	Port    int    `json:"port"`
	Control bool   `json:"control,omitempty"`
	Verdict string `json:"verdict"`
	Reason  string `json:"reason"`
	// Observation is the probe's full observation, facts included.
	Observation probes.Observation `json:"observation"`
	// Checks are the protocol assertions, each with its outcome.
	Checks []kinds.Assertion `json:"checks,omitempty"`
}

// Summary counts results by verdict.
type Summary struct {
	Total        int `json:"total"`
	Pass         int `json:"pass"`
	Fail         int `json:"fail"`
	Inconclusive int `json:"inconclusive"`
	Error        int `json:"error"`
	// Note is a sentence on the whole run when one is owed ("the prober
	// could not reach the network").
	Note string `json:"note,omitempty"`
}

// Count fills s from results.
func Count(results []Result) Summary {
	var s Summary
	for _, r := range results {
		s.Total++
		switch r.Verdict {
		case "pass":
			s.Pass++
		case "fail":
			s.Fail++
		case "inconclusive":
			s.Inconclusive++
		default:
			s.Error++
		}
	}
	return s
}

// ExitCode maps a summary to the process exit code: 0 all passed, 1 some
// failed, 3 nothing failed but something was inconclusive or errored.
func (s Summary) ExitCode() int {
	switch {
	case s.Fail > 0:
		return 1
	case s.Inconclusive > 0 || s.Error > 0 || s.Total == 0:
		return 3
	}
	return 0
}

// Marshal returns the report as indented JSON.
func (r *Report) Marshal() ([]byte, error) {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}
