package report

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"probe/internal/config"
)

// Run describes one report a merged report was made from: everything of it
// that belongs to the run as a whole rather than to one result.
type Run struct {
	// RunID is the run's id.
	RunID string `json:"run_id"`
	// Tool is the program and version that made the run.
	Tool string `json:"tool"`
	// Vantage is where the run stood, and how that was established.
	Vantage Vantage `json:"vantage"`
	// Shard is the part of the vantage's checks the run made, if split.
	Shard *Shard `json:"shard,omitempty"`
	// Started and Finished bound the run.
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"`
	// Partial and PartialReason are the run's own.
	Partial       bool   `json:"partial"`
	PartialReason string `json:"partial_reason,omitempty"`
	// Config is the expectation table the run read.
	Config ConfigRef `json:"config"`
	// Overrides are the run's command-line replacements.
	Overrides config.Overrides `json:"overrides"`
	// Seed chose the run's sampled ports.
	Seed int64 `json:"seed"`
	// Network is the run's evidence that the prober's network worked.
	Network Network `json:"network"`
	// NotApplicable and NotRun are the run's own lists.
	NotApplicable []string `json:"not_applicable,omitempty"`
	NotRun        []string `json:"not_run,omitempty"`
	// Summary counts the run's own results.
	Summary Summary `json:"summary"`
	// Superseded is set when --force merged a later run of the same vantage
	// and shard over this one: its results were dropped.
	Superseded bool `json:"superseded,omitempty"`
}

// IsMerged reports whether r was made by Merge.
func (r *Report) IsMerged() bool { return len(r.Runs) > 0 }

// VantageOf is the vantage a result of r is from.
func (r *Report) VantageOf(res Result) string {
	if res.Vantage != "" {
		return res.Vantage
	}
	return r.Vantage.Name
}

// VantageNames lists the vantages of r's results, sorted.
func (r *Report) VantageNames() []string {
	var out []string
	if !r.IsMerged() {
		return []string{r.Vantage.Name}
	}
	for _, run := range r.Runs {
		if !slices.Contains(out, run.Vantage.Name) {
			out = append(out, run.Vantage.Name)
		}
	}
	slices.Sort(out)
	return out
}

// VantageInfo is the vantage record of name in r (the first run's, for a
// merged report).
func (r *Report) VantageInfo(name string) Vantage {
	if !r.IsMerged() {
		return r.Vantage
	}
	for _, run := range r.Runs {
		if run.Vantage.Name == name {
			return run.Vantage
		}
	}
	return Vantage{Name: name}
}

// Errors of Merge; the CLI's --force lets them pass.
var (
	// ErrConfigDiffers: the reports were made from different expectation
	// tables that name the same expectation ids, so rows of one id are
	// not the same rows. Tables whose ids are apart (expectations.toml and
	// sweep.toml) merge into one report.
	ErrConfigDiffers = errors.New("the reports were made from different expectation tables (config sha256 differs) that share expectation ids")
	// ErrSameRun: two reports claim the same vantage and shard, so one of
	// them would silently replace the other.
	ErrSameRun = errors.New("two reports claim the same vantage and shard")
	// ErrMergedInput: a merged report was given; merge the original ones.
	ErrMergedInput = errors.New("a merged report cannot be merged again; merge the reports it was made from")
)

// MergeOptions tune Merge.
type MergeOptions struct {
	// Force merges reports of different configs, and lets a later run of a
	// vantage and shard replace an earlier one.
	Force bool
	// Tool names the merging program.
	Tool string
	// Warn, when set, is told of what Force let through.
	Warn func(string)
}

// Merge combines reports of one config, from several vantages and from
// several shards of one vantage, into one report: each result and target
// liveness carries its vantage, and Runs keeps what belonged to each run.
// The result does not depend on the order of reps.
func Merge(reps []*Report, opt MergeOptions) (*Report, error) {
	if len(reps) == 0 {
		return nil, errors.New("no reports to merge")
	}
	warn := opt.Warn
	if warn == nil {
		warn = func(string) {}
	}
	for _, r := range reps {
		if r.IsMerged() {
			return nil, fmt.Errorf("run %s: %w", r.RunID, ErrMergedInput)
		}
	}
	reps = slices.Clone(reps)
	// Sorted by vantage, shard and start, so later runs of one slot come
	// last and the output does not depend on the command line's order.
	slices.SortStableFunc(reps, func(a, b *Report) int {
		if c := strings.Compare(a.Vantage.Name, b.Vantage.Name); c != 0 {
			return c
		}
		if c := strings.Compare(a.Config.SHA256, b.Config.SHA256); c != 0 {
			return c
		}
		if c := shardIndex(a) - shardIndex(b); c != 0 {
			return c
		}
		return a.Started.Compare(b.Started)
	})

	// Several tables (the reference file and the sweep file) merge when no
	// expectation id is in two of them.
	tableOf := map[string]*Report{} // result id -> the first report of a table that has it
	warned := false
	for _, r := range reps {
		for _, res := range r.Results {
			first, seen := tableOf[res.ID]
			if !seen {
				tableOf[res.ID] = r
				continue
			}
			if first.Config.SHA256 == r.Config.SHA256 || warned {
				continue
			}
			err := fmt.Errorf("%w: run %s has %.12s, run %s has %.12s, and both have %s", ErrConfigDiffers,
				first.RunID, first.Config.SHA256, r.RunID, r.Config.SHA256, res.ID)
			if !opt.Force {
				return nil, err
			}
			warn(err.Error() + "; merged anyway (--force)")
			warned = true
		}
	}

	// One run per vantage and shard; an unsharded run covers every shard.
	superseded := make([]bool, len(reps))
	for i, a := range reps {
		for j := i + 1; j < len(reps); j++ {
			b := reps[j]
			if a.Vantage.Name != b.Vantage.Name || a.Config.SHA256 != b.Config.SHA256 || !overlap(a.Shard, b.Shard) {
				continue
			}
			err := fmt.Errorf("%w: runs %s and %s are both vantage %q, %s and %s", ErrSameRun,
				a.RunID, b.RunID, a.Vantage.Name, shardWord(a.Shard), shardWord(b.Shard))
			if !opt.Force {
				return nil, err
			}
			superseded[i] = true // b started later: it wins
			warn(err.Error() + fmt.Sprintf("; run %s's results replace run %s's (--force)", b.RunID, a.RunID))
		}
	}

	m := &Report{
		SchemaVersion: SchemaVersion,
		Tool:          opt.Tool,
		Config:        reps[0].Config,
		Started:       reps[0].Started,
		Finished:      reps[0].Finished,
	}
	for _, r := range reps {
		if !slices.Contains(m.Configs, r.Config) {
			m.Configs = append(m.Configs, r.Config)
		}
	}
	slices.SortFunc(m.Configs, func(a, b ConfigRef) int { return strings.Compare(a.Path+a.SHA256, b.Path+b.SHA256) })
	if len(m.Configs) < 2 {
		m.Configs = nil // one table: config says it
	} else {
		m.Config = m.Configs[0]
	}
	if m.Tool == "" {
		m.Tool = reps[0].Tool
	}
	ids := make([]string, 0, len(reps))
	var partial, notes []string
	order := resultOrder(reps)
	byKey := map[string]Result{}
	families := map[string][]string{} // id and vantage -> the families of its results, in order
	type tkey struct{ vantage, name, at, family string }
	var tOrder []tkey
	targets := map[tkey]TargetLiveness{}
	for i, r := range reps {
		ids = append(ids, r.RunID)
		if r.Started.Before(m.Started) {
			m.Started = r.Started
		}
		if r.Finished.After(m.Finished) {
			m.Finished = r.Finished
		}
		m.Runs = append(m.Runs, Run{
			RunID: r.RunID, Tool: r.Tool, Vantage: r.Vantage, Shard: r.Shard,
			Started: r.Started, Finished: r.Finished, Partial: r.Partial, PartialReason: r.PartialReason,
			Config: r.Config, Overrides: r.Overrides, Seed: r.Seed, Network: r.Network,
			NotApplicable: r.NotApplicable, NotRun: r.NotRun, Summary: r.Summary, Superseded: superseded[i],
		})
		if superseded[i] {
			continue
		}
		label := r.Vantage.Name
		if r.Shard != nil {
			label += " shard " + r.Shard.String()
		}
		if r.Partial {
			partial = append(partial, label+": "+r.PartialReason)
		}
		if r.Summary.Note != "" {
			notes = append(notes, label+": "+r.Summary.Note)
		}
		for _, res := range r.Results {
			res.Vantage = r.Vantage.Name
			k := res.ID + "\x00" + res.Vantage
			if _, seen := byKey[k+"\x00"+res.Family]; !seen {
				families[k] = append(families[k], res.Family)
			}
			byKey[k+"\x00"+res.Family] = res
		}
		for _, t := range r.Targets {
			t.Vantage = r.Vantage.Name
			k := tkey{t.Vantage, t.Name, t.At, t.Family}
			old, seen := targets[k]
			if !seen {
				tOrder = append(tOrder, k)
				targets[k] = t
				continue
			}
			// Shards of one vantage each judged the target: alive if any
			// shard showed it, stopped if any saw it stop.
			if !old.Alive && t.Alive {
				old.Alive, old.Evidence, old.NothingOpen = true, t.Evidence, t.NothingOpen
			}
			if t.StoppedAnswering {
				old.StoppedAnswering, old.Evidence = true, t.Evidence
			}
			targets[k] = old
		}
	}
	vantages := m.VantageNames()
	for _, id := range order {
		for _, v := range vantages {
			for _, fam := range families[id+"\x00"+v] {
				m.Results = append(m.Results, byKey[id+"\x00"+v+"\x00"+fam])
			}
		}
	}
	slices.SortStableFunc(tOrder, func(a, b tkey) int { return strings.Compare(a.vantage, b.vantage) })
	for _, k := range tOrder {
		m.Targets = append(m.Targets, targets[k])
	}
	partial = append(partial, missingShards(reps, superseded)...)
	if len(partial) > 0 {
		m.Partial = true
		m.PartialReason = strings.Join(partial, "; ")
	}
	m.Summary = Count(m.Results)
	m.Summary.Note = strings.Join(notes, "; ")
	sum := sha256.Sum256([]byte(strings.Join(ids, "\n")))
	m.RunID = "merged-" + hex.EncodeToString(sum[:4])
	return m, nil
}

func shardIndex(r *Report) int {
	if r.Shard == nil {
		return 0
	}
	return r.Shard.Index
}

// overlap reports whether two runs of one vantage cover a common check.
func overlap(a, b *Shard) bool {
	if a == nil || b == nil {
		return true
	}
	return a.Index == b.Index || a.Count != b.Count
}

func shardWord(s *Shard) string {
	if s == nil {
		return "unsharded"
	}
	return "shard " + s.String()
}

// missingShards names the shards of a sharded vantage that no report made.
func missingShards(reps []*Report, superseded []bool) []string {
	have := map[string]map[int]bool{}
	count := map[string]int{}
	var names []string
	for i, r := range reps {
		if r.Shard == nil || superseded[i] {
			continue
		}
		v := r.Vantage.Name
		if len(reps) > 0 && r.Config.SHA256 != reps[0].Config.SHA256 {
			v += " (" + r.Config.Path + ")"
		}
		if have[v] == nil {
			have[v] = map[int]bool{}
			names = append(names, v)
		}
		have[v][r.Shard.Index] = true
		count[v] = r.Shard.Count
	}
	var out []string
	for _, v := range names {
		for i := 1; i <= count[v]; i++ {
			if !have[v][i] {
				out = append(out, fmt.Sprintf("%s: shard %d/%d is missing", v, i, count[v]))
			}
		}
	}
	return out
}

// resultOrder lists every result id once, in the expectation table's order
// as far as the reports show it: each report's results are in file order,
// so an id first seen in a later report goes just before the next id it
// precedes there, or after the last one it follows.
func resultOrder(reps []*Report) []string {
	var order []string
	for _, r := range reps {
		for i, res := range r.Results {
			if slices.Contains(order, res.ID) {
				continue
			}
			at := len(order)
			placed := false
			for _, next := range r.Results[i+1:] {
				if k := slices.Index(order, next.ID); k >= 0 {
					at, placed = k, true
					break
				}
			}
			if !placed {
				for j := i - 1; j >= 0; j-- {
					if k := slices.Index(order, r.Results[j].ID); k >= 0 {
						at = k + 1
						break
					}
				}
			}
			order = slices.Insert(order, at, res.ID)
		}
	}
	return order
}
