package report

import "fmt"

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
	// Method says how a TCP sweep was sent: "syn" (half-open SYNs from a
	// raw socket, never a handshake completed) or "connect" (one connect
	// per port). Absent in reports from before it was recorded.
	Method string `json:"method,omitempty"`
	// MethodReason says why that method ran (defaults.tcp_sweep or run
	// --tcp-sweep, and whether the raw socket opened).
	MethodReason string `json:"method_reason,omitempty"`
	// Sent says what each port was sent, when the probe kind sends more
	// than a handshake (a UDP sweep's payloads, by port).
	Sent string `json:"sent,omitempty"`
	// Silence says what a silent port means, when it is not simply a
	// firewall's drop (UDP: a withheld ICMP error, a service that ignores
	// every payload).
	Silence string `json:"silence,omitempty"`
}

// rangeNote says how a range's ports were probed, for its port label: "10
// sampled", or for a sweep "65530 swept", with its method when recorded
// ("65530 swept by syn").
func rangeNote(r Result) string {
	if r.Sweep == nil {
		return fmt.Sprintf("%d sampled", len(r.Ports))
	}
	note := fmt.Sprintf("%d swept", r.Sweep.Probed)
	if r.Sweep.Method != "" {
		note += " by " + r.Sweep.Method
	}
	return note
}
