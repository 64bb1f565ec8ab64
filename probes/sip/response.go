package sip

import (
	"slices"
	"strings"

	sipmsg "github.com/emiago/sipgo/sip"

	"probe/probes/tcp"
)

// answer is a response that answers our request, reduced to its facts.
type answer struct {
	status    int
	reason    string
	server    string
	userAgent string
	allow     []string
	supported []string
}

func (a answer) final() bool { return a.status >= 200 }

// parseAnswer parses one datagram and returns its facts if it is a response
// to the request whose Via branch is branch.
func parseAnswer(b []byte, branch string) (answer, bool) {
	msg, err := sipmsg.ParseMessage(b)
	if err != nil {
		return answer{}, false
	}
	return answerOf(msg, branch)
}

// answerOf returns msg's facts if it is a response to our OPTIONS: its top
// Via carries our branch and its CSeq names OPTIONS (RFC 3261 §17.1.3). A
// stray message, or a late answer to someone else's request, is not ours.
func answerOf(msg sipmsg.Message, branch string) (answer, bool) {
	res, ok := msg.(*sipmsg.Response)
	if !ok || res.StatusCode < 100 || res.StatusCode > 699 {
		return answer{}, false
	}
	via := res.Via()
	if via == nil || via.Params == nil {
		return answer{}, false
	}
	if b, ok := via.Params.Get("branch"); !ok || b != branch {
		return answer{}, false
	}
	if cseq := res.CSeq(); cseq == nil || cseq.MethodName != sipmsg.OPTIONS {
		return answer{}, false
	}
	a := answer{
		status:    res.StatusCode,
		reason:    tcp.Printable([]byte(res.Reason)),
		server:    headerValue(res, "Server"),
		userAgent: headerValue(res, "User-Agent"),
		allow:     splitList(res.GetHeaders("Allow")),
		supported: splitList(append(res.GetHeaders("Supported"), res.GetHeaders("k")...)),
	}
	return a, true
}

// headerValue returns the first header called name, printable.
func headerValue(res *sipmsg.Response, name string) string {
	h := res.GetHeader(name)
	if h == nil {
		return ""
	}
	return tcp.Printable([]byte(h.Value()))
}

// splitList turns comma-separated list headers (Allow, Supported) into a
// sorted set of their items: nil when there was no such header, empty when
// the headers were empty.
func splitList(hs []sipmsg.Header) []string {
	if len(hs) == 0 {
		return nil
	}
	items := []string{}
	for _, h := range hs {
		for item := range strings.SplitSeq(h.Value(), ",") {
			item = strings.TrimSpace(item)
			if item == "" {
				continue
			}
			items = append(items, tcp.Printable([]byte(item)))
		}
	}
	slices.Sort(items)
	return slices.Compact(items)
}

// record copies an answer into the facts.
func (f *Facts) record(a answer) {
	f.StatusCode, f.Reason, f.Final = a.status, a.reason, a.final()
	f.Server, f.UserAgent = a.server, a.userAgent
	f.Allow, f.Supported = a.allow, a.supported
}
