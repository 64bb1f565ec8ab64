package rtp

import (
	"slices"

	"probe/probes/udp"
)

// RateLimit is the target's ICMP limiter as the probe assumes it; see
// udp.ICMPLimit, the one home of the model.
type RateLimit = udp.ICMPLimit

// LinuxRateLimit is Linux's default limit (udp.LinuxICMPLimit).
var LinuxRateLimit = udp.LinuxICMPLimit

// SendOutcome is what one send drew, as the replay sees it (SpentTokens).
type SendOutcome int

const (
	SendReplied SendOutcome = iota // a datagram came back: no ICMP error was due
	SendRefused                    // an ICMP error came back: it spent a token
	SendUnseen                     // silence, or a wait cut short: an error may have been sent unseen
)

// SpentTokens says, per send, whether it may have cost the target an ICMP
// token, for RateLimit.Replay.
//
// A silent send counts as spent only when the host sent at least one ICMP
// error in the same probe. Such a host answers some of these ports with
// errors, and a silent one may have drawn an error that was lost on the
// way back: the replay errs toward an empty bucket, so it can only make a
// silence more doubtful. A host that sent no error at all is another
// matter: for the limit to have silenced a closed port there, the tokens
// before it must have gone on errors that were sent and every one lost,
// the same loss that can hide any single closed port and that one packet
// per port never rules out. Counting its silences as spent would only mark
// the silence of a firewall that drops the whole range (the security
// document's removed RTP range) as doubtful, whatever the pace.
func SpentTokens(outcomes []SendOutcome) []bool {
	refusing := slices.Contains(outcomes, SendRefused)
	spent := make([]bool, len(outcomes))
	for i, o := range outcomes {
		spent[i] = o == SendRefused || o == SendUnseen && refusing
	}
	return spent
}
