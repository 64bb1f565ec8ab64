package kinds

import (
	"context"
	"sync"
	"time"

	"probe/probes"
	"probe/probes/rtp"
)

// RTPSection is [expectation.rtp]: how a port range is sampled and paced.
//
//	[expectation.rtp]
//	sample = 8      # random even ports inside the range, besides its edges
//	seed   = 0      # 0: a new seed per run, recorded in the report
//	burst  = 6      # a fixed schedule: in-range sends at once before pacing starts (controls go first, outside it)
//	pace   = "1s"   # a fixed schedule: gap between sends after the burst
//
// With neither burst nor pace, there is no schedule: each port is sent as
// soon as the target's ICMP bucket, as the errors actually received have
// left it, holds a token (udp.Budget).
//
// Every key is optional. The kind treats all the ports it is given alike:
// the planner samples the range (internal/sample), adds the controls just
// outside it, and marks which ports are controls for the judge.
type RTPSection struct {
	// Sample is how many random even ports inside the range are probed,
	// besides both edges; DefaultSample when 0.
	Sample int `toml:"sample,omitempty" json:"sample,omitempty"`
	// Seed fixes the sample, to repeat a run exactly; 0 means a new seed
	// per run, which the report records.
	Seed int64 `toml:"seed,omitempty" json:"seed,omitempty"`
	// Burst, with Pace, sets a fixed schedule: how many in-range packets
	// go at once before pacing starts (the controls are sent first,
	// outside it); rtp.DefaultBurst (6, Linux's ICMP bucket) when 0 and
	// Pace is set. With neither, the sends are paced by the ICMP errors
	// actually received (udp.Budget), and a silent port may get a second
	// packet (rtp.Second).
	Burst int `toml:"burst,omitempty" json:"burst,omitempty"`
	// Pace is the gap between packets after the burst, as a duration
	// string ("1s", "500ms"); rtp.DefaultPace when empty and Burst is
	// set. A pace faster
	// than the target's ICMP limit (1/s on Linux) makes silent ports
	// suspect of rate limiting, and the report says so.
	Pace string `toml:"pace,omitempty" json:"pace,omitempty"`
}

// With the default sample (DefaultSample, 8), the two edges and two
// controls, a range is twelve packets: the two controls and six in-range
// ports at once, then one a second, about four seconds at the default pace.

// Validate checks the section.
func (s *RTPSection) Validate() []FieldError {
	var errs []FieldError
	if s.Sample < 0 {
		errs = append(errs, FieldError{Key: "sample", Msg: "must be 0 or more (0 means the default, 8)"})
	}
	if s.Burst < 0 {
		errs = append(errs, FieldError{Key: "burst", Msg: "must be 0 or more (0 means the default, 6)"})
	}
	if s.Pace != "" {
		d, err := time.ParseDuration(s.Pace)
		switch {
		case err != nil:
			errs = append(errs, FieldError{Key: "pace", Msg: `not a duration like "1s" or "500ms"`})
		case d <= 0:
			errs = append(errs, FieldError{Key: "pace", Msg: "must be more than zero; leave it out for the default, 1s"})
		}
	}
	return errs
}

// options are the probe's options from the section (nil: all defaults).
func (s *RTPSection) options(p Params) rtp.Options {
	opt := rtp.Options{Wait: p.Timeout, Budget: p.ICMP}
	if s == nil {
		return opt
	}
	opt.Burst = s.Burst
	if d, err := time.ParseDuration(s.Pace); err == nil {
		opt.Pace = d
	}
	return opt
}

func init() {
	Register(&Kind{
		Name:       "rtp",
		Transports: []string{"udp"},
		Section:    func() Section { return new(RTPSection) },
		RunPorts:   runRTP,
		Sample: func(p Params) (int, int64) {
			if s := SectionOf[*RTPSection](p); s != nil {
				return s.Sample, s.Seed
			}
			return 0, 0
		},
	})
}

// runRTP probes the ports of each host together, paced, and the hosts side
// by side (each has its own ICMP limit). Params.Retries does not apply: a
// port gets one packet, never more.
func runRTP(ctx context.Context, ts []probes.Target, p Params) []probes.Observation {
	out := make([]probes.Observation, len(ts))
	// A name dialled over both families is two hosts: its A and its AAAA
	// records.
	type host struct{ name, family string }
	byHost := map[host][]int{} // host → indexes into ts, in order
	var hosts []host
	for i, t := range ts {
		h := host{t.Host, t.Family}
		if _, ok := byHost[h]; !ok {
			hosts = append(hosts, h)
		}
		byHost[h] = append(byHost[h], i)
	}
	opt := SectionOf[*RTPSection](p).options(p)
	opt.Controls = p.Controls
	var wg sync.WaitGroup
	for _, h := range hosts {
		idx := byHost[h]
		wg.Go(func() {
			ports := make([]int, len(idx))
			for j, i := range idx {
				ports[j] = ts[i].Port
			}
			opt := opt
			opt.Family = h.family
			obs := rtp.ProbePorts(ctx, h.name, ports, opt)
			for j, i := range idx {
				out[i] = obs[j]
			}
		})
	}
	wg.Wait()
	return out
}
