package udpsweep

import (
	"fmt"
	"net"

	"github.com/pion/stun/v3"

	"probe/probes"
	"probe/probes/tcp"
)

// newSTUN builds a Binding request; its answer is a Binding success or
// error response with the same transaction id.
func newSTUN(probes.Target, net.Addr) ([]byte, func([]byte) (string, bool)) {
	req, err := stun.Build(stun.TransactionID, stun.BindingRequest, stun.Fingerprint)
	if err != nil {
		// Building a request of fixed attributes cannot fail; a nil
		// datagram would be a bug, so say it in the parser's words.
		return nil, func([]byte) (string, bool) { return "", false }
	}
	return req.Raw, func(reply []byte) (string, bool) { return stunSaid(reply, req.TransactionID) }
}

// stunSaid says what a STUN answer to the transaction id said.
func stunSaid(reply []byte, id [stun.TransactionIDSize]byte) (string, bool) {
	if !stun.IsMessage(reply) {
		return "", false
	}
	m := &stun.Message{Raw: append([]byte(nil), reply...)}
	if m.Decode() != nil || m.TransactionID != id || m.Type.Method != stun.MethodBinding {
		return "", false
	}
	var said string
	switch m.Type.Class {
	case stun.ClassSuccessResponse:
		said = "STUN binding success"
		var xor stun.XORMappedAddress
		if xor.GetFrom(m) == nil {
			said += fmt.Sprintf(", mapped address %s", net.JoinHostPort(xor.IP.String(), fmt.Sprint(xor.Port)))
		}
	case stun.ClassErrorResponse:
		said = "STUN binding error"
		var code stun.ErrorCodeAttribute
		if code.GetFrom(m) == nil {
			said += fmt.Sprintf(" %d %s", code.Code, tcp.Printable(code.Reason))
		}
	default:
		return "", false
	}
	var sw stun.Software
	if sw.GetFrom(m) == nil {
		said += "; SOFTWARE: " + tcp.Printable(sw)
	}
	return said, true
}
