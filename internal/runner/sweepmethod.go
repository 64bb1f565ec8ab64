package runner

import (
	"fmt"

	"probe/internal/config"
	"probe/internal/plan"
	"probe/probes/syn"
)

// sweepMethod is how a run sends its TCP sweeps, and why.
type sweepMethod struct {
	// scanner is the half-open scanner, nil when the sweeps are connects.
	scanner *syn.Scanner
	// why says what chose the method, for the report.
	why string
}

// openSweep chooses how f's TCP sweeps from vantage are sent: choice is
// the file's defaults.tcp_sweep, or the run's --tcp-sweep when from says
// so. auto opens the raw sockets and falls back to connects when that is
// not allowed; syn without them is an error, before anything is sent. A
// run without a sweep the half-open scan could send (plan.HalfOpenSweeps:
// a bare TCP probe to an IPv4 address) opens nothing, whatever the choice.
func openSweep(f *config.File, vantage, choice, from string) (sweepMethod, error) {
	if !plan.HalfOpenSweeps(f, vantage) {
		return sweepMethod{}, nil
	}
	said := fmt.Sprintf("%s = %s", from, choice)
	if choice == config.TCPSweepConnect {
		return sweepMethod{why: said}, nil
	}
	s, err := syn.Open()
	switch {
	case err == nil:
		return sweepMethod{scanner: s, why: said + ", and the raw socket opened"}, nil
	case choice == config.TCPSweepSYN:
		return sweepMethod{}, fmt.Errorf("%s, but %v: the half-open sweep needs CAP_NET_RAW (root, or setcap cap_net_raw+ep on the binary); tcp_sweep = auto would sweep with connects", said, err)
	}
	return sweepMethod{why: fmt.Sprintf("%s, and no raw socket (%v: the half-open sweep needs CAP_NET_RAW)", said, err)}, nil
}

// Methods of a sweep row in the report.
const (
	methodSYN     = "syn"
	methodConnect = "connect"
)

// method says how row c's sweep was sent, and why.
func (m sweepMethod) method(c plan.Row, p *plan.Plan) (string, string) {
	switch {
	case c.Expectation.Transport != "tcp":
		return "", ""
	case len(c.Ports) > 0 && p.Tasks[c.Ports[0].Task].HalfOpen():
		return methodSYN, "half-open SYNs from a raw socket (" + m.why + ")"
	case len(c.Ports) == 0 || !plan.HalfOpenable(c.Expectation, p.Tasks[c.Ports[0].Task].Params, c.Address):
		return methodConnect, "one connect per port: the half-open sweep takes a bare TCP probe (no banner) to an IPv4 address"
	}
	return methodConnect, "one connect per port (" + m.why + ")"
}
