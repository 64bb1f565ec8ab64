package runner

import (
	"context"
	"errors"
	"fmt"

	"probe/internal/config"
	"probe/internal/report"
	"probe/internal/vantage"
)

// Locate establishes where the run stands. declared is --from: a vantage
// name or "auto". With a STUN answer, a declared vantage must hold the
// public address (else an error that shows both); "auto" picks the vantage
// that does. Without one, the vantage is unconfirmed unless trust is set.
//
// A vantage that runs on a target (host) must also stand there: an
// interface of this machine must hold that target's private address.
func Locate(ctx context.Context, f *config.File, declared string, trust bool) (Located, error) {
	loc, err := locate(ctx, f, declared, trust)
	if err == nil {
		if err := checkHost(f, loc.Name); err != nil {
			return loc, fmt.Errorf("--from %s: %w", declared, err)
		}
	}
	return loc, err
}

func locate(ctx context.Context, f *config.File, declared string, trust bool) (Located, error) {
	loc := Located{Name: declared, Declared: declared}
	vs := vantages(f)
	d, err := vantage.Discover(ctx, f.STUN.Servers, f.STUN.Timeout.Std())
	if errors.Is(err, vantage.ErrNoSTUNAnswer) && len(f.STUN.Servers) > 0 && ctx.Err() == nil {
		// Asked once more before the vantage is called unconfirmed: on a
		// lossy path every retransmission of one round can be lost.
		d, err = vantage.Discover(ctx, f.STUN.Servers, f.STUN.Timeout.Std())
	}
	for _, a := range d.Answers {
		sa := report.STUNAnswer{Server: a.Server, RTTms: a.RTT.Milliseconds()}
		if a.Address.IsValid() {
			sa.Address = a.Address.String()
		}
		sa.Error = a.Error
		loc.Answers = append(loc.Answers, sa)
	}
	if d.NetworkOK() {
		for _, a := range d.Answers {
			if a.Answered {
				loc.NetworkEvidence = fmt.Sprintf("STUN server %s answered", a.Server)
				break
			}
		}
	}
	if err != nil {
		if declared == "auto" {
			if errors.Is(err, vantage.ErrSTUNDisagree) {
				return loc, fmt.Errorf("--from auto: the STUN servers disagree on this prober's address, so its vantage cannot be told: %w", err)
			}
			return loc, fmt.Errorf("--from auto needs a STUN answer, and none came: %w", err)
		}
		loc.Established = string(vantage.Unconfirmed)
		loc.Doubt = err.Error()
		if trust {
			loc.Established = string(vantage.TrustedUnconfirmed)
		}
		return loc, nil
	}
	loc.Address, loc.Server = d.Address.String(), d.Server
	if declared == "auto" {
		loc.Name = vantage.Match(d.Address, vs)
		if loc.Name == "" {
			return loc, fmt.Errorf("--from auto: public address %s is in no vantage's CIDRs and the file has no catch_all vantage", d.Address)
		}
		loc.Established = string(vantage.StunAuto)
		return loc, nil
	}
	if err := vantage.Check(declared, d.Address, vs); err != nil {
		return loc, fmt.Errorf("--from %s: %w", declared, err)
	}
	loc.Established = string(vantage.StunConfirmed)
	return loc, nil
}

func vantages(f *config.File) []vantage.Vantage {
	out := make([]vantage.Vantage, len(f.Vantages))
	for i, v := range f.Vantages {
		out[i] = vantage.Vantage{Name: v.Name, CIDRs: v.Prefixes, CatchAll: v.CatchAll}
	}
	return out
}
