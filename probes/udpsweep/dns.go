package udpsweep

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net"

	"probe/probes"
)

// dnsHeader is a DNS message's fixed header (RFC 1035 §4.1.1).
const dnsHeader = 12

// newDNS builds a query for the root's NS records, recursion not desired:
// answered from a server's own data, or refused, but answered.
func newDNS(probes.Target, net.Addr) ([]byte, func([]byte) (string, bool)) {
	id := uint16(rand.Uint32())
	q := make([]byte, dnsHeader, dnsHeader+5)
	binary.BigEndian.PutUint16(q[0:], id)
	binary.BigEndian.PutUint16(q[4:], 1) // QDCOUNT
	q = append(q,
		0,    // the root name
		0, 2, // QTYPE NS
		0, 1, // QCLASS IN
	)
	return q, func(reply []byte) (string, bool) { return dnsSaid(reply, id) }
}

var dnsRcodes = map[int]string{0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED"}

// dnsSaid says what a DNS response to the query id said: its response code
// and how many records it carried.
func dnsSaid(reply []byte, id uint16) (string, bool) {
	if len(reply) < dnsHeader || binary.BigEndian.Uint16(reply) != id {
		return "", false
	}
	flags := binary.BigEndian.Uint16(reply[2:])
	if flags&0x8000 == 0 { // QR: a query, not a response
		return "", false
	}
	rcode := int(flags & 0xf)
	name, ok := dnsRcodes[rcode]
	if !ok {
		name = fmt.Sprintf("rcode %d", rcode)
	}
	answers := binary.BigEndian.Uint16(reply[6:])
	authority := binary.BigEndian.Uint16(reply[8:])
	return fmt.Sprintf("DNS response %s, %d answers, %d authority records", name, answers, authority), true
}
