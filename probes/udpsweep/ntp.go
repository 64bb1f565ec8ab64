package udpsweep

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net"

	"probe/probes"
	"probe/probes/tcp"
)

// ntpPacket is an NTP header's length (RFC 5905 §7.3).
const ntpPacket = 48

// newNTP builds a client request (version 4, mode 3) whose transmit
// timestamp is a random nonce: a server echoes it as the origin timestamp.
func newNTP(probes.Target, net.Addr) ([]byte, func([]byte) (string, bool)) {
	req := make([]byte, ntpPacket)
	req[0] = 4<<3 | 3 // LI 0, VN 4, mode 3 (client)
	binary.BigEndian.PutUint64(req[40:], rand.Uint64())
	nonce := append([]byte(nil), req[40:48]...)
	return req, func(reply []byte) (string, bool) { return ntpSaid(reply, nonce) }
}

// ntpSaid says what a server's answer to the request with the transmit
// timestamp nonce said: its stratum, or a kiss code.
func ntpSaid(reply, nonce []byte) (string, bool) {
	if len(reply) < ntpPacket || reply[0]&7 != 4 || !bytes.Equal(reply[24:32], nonce) {
		return "", false
	}
	version, stratum := reply[0]>>3&7, reply[1]
	if stratum == 0 { // kiss-o'-death: the reference id is its code
		return fmt.Sprintf("NTPv%d kiss code %q", version, tcp.Printable(bytes.TrimRight(reply[12:16], "\x00"))), true
	}
	return fmt.Sprintf("NTPv%d server, stratum %d", version, stratum), true
}
