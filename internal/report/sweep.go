package report

// Sweep describes a check of every port of a range (a "nothing else is
// open" expectation). Its result's ports and evidence list only the ports
// that answered (open or closed) or did not conform; this says how many
// were probed and what the silent rest were.
type Sweep struct {
	// Probed is how many ports of the range were probed.
	Probed int `json:"probed"`
	// Excluded are the range's ports left out because the file declares
	// them elsewhere.
	Excluded []int `json:"excluded,omitempty"`
	// Conforming is how many probed ports passed; the evidence of those
	// that were silent is not kept.
	Conforming int `json:"conforming"`
	// States counts the probed ports by what was seen ("filtered": 65528).
	States map[string]int `json:"states"`
	// Reprobed is how many of its ports were heard silent under an
	// adaptive timeout and probed a second time.
	Reprobed int `json:"reprobed,omitempty"`
	// Timeouts says how long a silent port was waited for, and why.
	Timeouts string `json:"timeouts,omitempty"`
}
