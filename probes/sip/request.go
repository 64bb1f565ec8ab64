package sip

import (
	"fmt"
	"net"
	"strings"

	sipmsg "github.com/emiago/sipgo/sip"

	"probe/probes"
)

// request is one OPTIONS request, built once and sent as is on every
// retransmission, as RFC 3261 §17.1.2.2 asks.
type request struct {
	raw    []byte // the request on the wire
	branch string // the Via branch a response must echo
	line   string // the request line, for the evidence
	via    string // the Via value, for the evidence
}

// newRequest builds the OPTIONS for t, naming local (the socket's own
// address) in Via, From and Call-ID, so that a server without rport support
// still answers to the right place.
func newRequest(t probes.Target, local net.Addr, ua string) request {
	transport := strings.ToUpper(t.Transport)
	scheme := "sip"
	if transport == "TLS" {
		scheme = "sips"
	}
	lhost, lport := "", 0
	switch a := local.(type) {
	case *net.UDPAddr:
		lhost, lport = a.IP.String(), a.Port
	case *net.TCPAddr:
		lhost, lport = a.IP.String(), a.Port
	}

	req := sipmsg.NewRequest(sipmsg.OPTIONS, sipmsg.Uri{Scheme: scheme, Host: t.Host, Port: t.Port})
	branch := sipmsg.GenerateBranchN(16)
	via := &sipmsg.ViaHeader{
		ProtocolName: "SIP", ProtocolVersion: "2.0", Transport: transport,
		Host: lhost, Port: lport, Params: sipmsg.NewParams(),
	}
	via.Params.Add("branch", branch)
	via.Params.Add("rport", "") // RFC 3581: answer to the source port, through NAT
	req.AppendHeader(via)
	from := &sipmsg.FromHeader{
		DisplayName: "probe",
		Address:     sipmsg.Uri{Scheme: scheme, User: "probe", Host: lhost},
		Params:      sipmsg.NewParams(),
	}
	from.Params.Add("tag", sipmsg.GenerateTagN(16))
	req.AppendHeader(from)
	req.AppendHeader(&sipmsg.ToHeader{Address: sipmsg.Uri{Scheme: scheme, Host: t.Host, Port: t.Port}})
	callID := sipmsg.CallIDHeader(sipmsg.GenerateTagN(24) + "@" + lhost)
	req.AppendHeader(&callID)
	req.AppendHeader(&sipmsg.CSeqHeader{SeqNo: 1, MethodName: sipmsg.OPTIONS})
	maxFwd := sipmsg.MaxForwardsHeader(70)
	req.AppendHeader(&maxFwd)
	req.AppendHeader(sipmsg.NewHeader("User-Agent", ua))
	req.AppendHeader(sipmsg.NewHeader("Accept", "application/sdp"))
	req.SetBody(nil) // Content-Length: 0, which a stream transport needs

	return request{
		raw:    []byte(req.String()),
		branch: branch,
		line:   req.StartLine(),
		via:    via.Value(),
	}
}

// Request is one OPTIONS for a caller that sends it on a socket of its own
// (the UDP sweep, which sends it to ports nobody declared SIP on).
type Request struct{ r request }

// NewRequest builds an OPTIONS for t, naming local (the socket's own
// address) as newRequest does, with the tool's User-Agent.
func NewRequest(t probes.Target, local net.Addr) Request {
	return Request{newRequest(t, local, userAgent(Options{}))}
}

// Bytes is the request as it goes on the wire.
func (r Request) Bytes() []byte { return r.r.raw }

// Said says what a datagram answered to r: the status line and the headers
// that name the software ("SIP/2.0 200 OK; User-Agent: FreeSWITCH"); ok is
// false when it is not a SIP response to r.
func (r Request) Said(reply []byte) (said string, ok bool) {
	a, ok := parseAnswer(reply, r.r.branch)
	if !ok {
		return "", false
	}
	said = strings.TrimSpace(fmt.Sprintf("SIP/2.0 %d %s", a.status, a.reason))
	if a.userAgent != "" {
		said += "; User-Agent: " + a.userAgent
	}
	if a.server != "" {
		said += "; Server: " + a.server
	}
	return said, true
}
