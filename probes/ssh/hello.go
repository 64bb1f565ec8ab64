package ssh

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net"
	"strings"
	"sync"

	"probe/probes/tcp"
)

// What each side sends in clear before key exchange (RFC 4253 §4.2, §7.1):
// an identification line, then a KEXINIT packet listing the algorithms it
// supports in order of preference. x/crypto/ssh reads the server's and
// keeps only the outcome of the negotiation, so the probe records the bytes
// that cross the connection before the keys change and parses both
// KEXINITs itself. That is how it knows what the server offers (kex_forbid
// must see every algorithm, not only the one chosen) without a second
// connection.

// maxHello is how many bytes are recorded each way. RFC 4253 §6.1 says a
// packet of 35000 bytes must be handled; a KEXINIT from OpenSSH is under
// 2 KiB.
const maxHello = 64 << 10

// maxIdent bounds the identification line, as RFC 4253 §4.2 does (255
// characters with CR LF).
const maxIdent = 255

const msgKexInit = 20 // SSH_MSG_KEXINIT

var (
	errNoIdent    = errors.New("no SSH identification line")
	errTruncated  = errors.New("the first packet was cut short")
	errBadPacket  = errors.New("the first packet's lengths are inconsistent")
	errNotKexInit = errors.New("the first packet is not a KEXINIT")
)

// Algorithms are the name-lists of one side's KEXINIT, in that side's order
// of preference (RFC 4253 §7.1). Order matters, so they are not sorted.
type Algorithms struct {
	// Kex lists the key exchange methods, with pseudo-algorithms such as
	// "kex-strict-s-v00@openssh.com" (the Terrapin countermeasure) and
	// "ext-info-s" as sent.
	Kex []string `json:"kex"`
	// HostKeys lists the host key (signature) algorithms.
	HostKeys []string `json:"host_keys"`
	// CiphersC2S lists the ciphers for client-to-server traffic.
	CiphersC2S []string `json:"ciphers_c2s"`
	// CiphersS2C lists the ciphers for server-to-client traffic.
	CiphersS2C []string `json:"ciphers_s2c"`
	// MACsC2S lists the MACs for client-to-server traffic.
	MACsC2S []string `json:"macs_c2s"`
	// MACsS2C lists the MACs for server-to-client traffic.
	MACsS2C []string `json:"macs_s2c"`
	// CompressionC2S lists the compression methods, client to server.
	CompressionC2S []string `json:"compression_c2s"`
	// CompressionS2C lists the compression methods, server to client.
	CompressionS2C []string `json:"compression_s2c"`
}

// Negotiated are the algorithms both sides agreed on.
type Negotiated struct {
	// Kex is the key exchange method.
	Kex string `json:"kex"`
	// HostKey is the host key signature algorithm ("rsa-sha2-512" where
	// the key's type is "ssh-rsa").
	HostKey string `json:"host_key"`
	// CipherC2S is the cipher for client-to-server traffic.
	CipherC2S string `json:"cipher_c2s"`
	// CipherS2C is the cipher for server-to-client traffic.
	CipherS2C string `json:"cipher_s2c"`
	// MACC2S is the client-to-server MAC; empty with an AEAD cipher
	// (AES-GCM, ChaCha20-Poly1305), which authenticates by itself.
	MACC2S string `json:"mac_c2s,omitempty"`
	// MACS2C is the server-to-client MAC; empty with an AEAD cipher.
	MACS2C string `json:"mac_s2c,omitempty"`
}

// hello is what one side sent in clear.
type hello struct {
	ident   string      // the SSH- identification line, without CR LF; "" if none
	first   string      // the first line received, printable, for a peer that is not SSH
	kexinit *Algorithms // the first packet's lists; nil if it was not read whole
}

// parseHello reads an identification line and the KEXINIT after it from the
// first bytes one side sent. Lines before the identification are allowed
// (RFC 4253 §4.2) and skipped. It returns what it could read with an error
// saying where it stopped.
func parseHello(b []byte) (hello, error) {
	var h hello
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			if h.first == "" {
				h.first = printableLine(b)
			}
			return h, errNoIdent
		}
		line := bytes.TrimSuffix(b[:i], []byte("\r"))
		b = b[i+1:]
		if h.first == "" {
			h.first = printableLine(line)
		}
		if bytes.HasPrefix(line, []byte("SSH-")) && len(line) <= maxIdent {
			h.ident = string(line)
			break
		}
	}
	if h.ident == "" {
		return h, errNoIdent
	}
	payload, err := firstPayload(b)
	if err != nil {
		return h, err
	}
	h.kexinit, err = parseKexInit(payload)
	return h, err
}

// firstPayload returns the payload of the binary packet at the start of b
// (RFC 4253 §6: uint32 packet_length, byte padding_length, payload, padding).
func firstPayload(b []byte) ([]byte, error) {
	if len(b) < 5 {
		return nil, errTruncated
	}
	packetLen := binary.BigEndian.Uint32(b)
	padLen := uint32(b[4])
	if packetLen > maxHello || packetLen < padLen+1 {
		return nil, errBadPacket
	}
	n := packetLen - padLen - 1
	if uint32(len(b)-5) < n {
		return nil, errTruncated
	}
	return b[5 : 5+n], nil
}

// parseKexInit reads the ten name-lists of a KEXINIT payload (RFC 4253
// §7.1): the message number, a 16-byte cookie, then the lists.
func parseKexInit(p []byte) (*Algorithms, error) {
	if len(p) < 17 || p[0] != msgKexInit {
		return nil, errNotKexInit
	}
	p = p[17:]
	lists := make([][]string, 10)
	for i := range lists {
		if len(p) < 4 {
			return nil, errTruncated
		}
		n := binary.BigEndian.Uint32(p)
		p = p[4:]
		if uint32(len(p)) < n {
			return nil, errTruncated
		}
		if n > 0 {
			lists[i] = strings.Split(string(p[:n]), ",")
		}
		p = p[n:]
	}
	// lists 8 and 9 are languages, always empty in practice.
	return &Algorithms{
		Kex: lists[0], HostKeys: lists[1],
		CiphersC2S: lists[2], CiphersS2C: lists[3],
		MACsC2S: lists[4], MACsS2C: lists[5],
		CompressionC2S: lists[6], CompressionS2C: lists[7],
	}, nil
}

// aead lists the ciphers that carry their own authentication, for which no
// MAC is negotiated (as in x/crypto/ssh and OpenSSH).
var aead = map[string]bool{
	"aes128-gcm@openssh.com":        true,
	"aes256-gcm@openssh.com":        true,
	"chacha20-poly1305@openssh.com": true,
}

// negotiate applies RFC 4253 §7.1: for each list, the first algorithm on
// the client's list that the server also lists. It reports false when some
// list has nothing in common (the handshake would have failed).
func negotiate(client, server *Algorithms) (*Negotiated, bool) {
	var n Negotiated
	ok := true
	pick := func(dst *string, c, s []string) {
		for _, a := range c {
			for _, b := range s {
				if a == b {
					*dst = a
					return
				}
			}
		}
		ok = false
	}
	pick(&n.Kex, client.Kex, server.Kex)
	pick(&n.HostKey, client.HostKeys, server.HostKeys)
	pick(&n.CipherC2S, client.CiphersC2S, server.CiphersC2S)
	pick(&n.CipherS2C, client.CiphersS2C, server.CiphersS2C)
	if !aead[n.CipherC2S] {
		pick(&n.MACC2S, client.MACsC2S, server.MACsC2S)
	}
	if !aead[n.CipherS2C] {
		pick(&n.MACS2C, client.MACsS2C, server.MACsS2C)
	}
	return &n, ok
}

// recorder is a net.Conn that keeps the first maxHello bytes read and
// written. x/crypto/ssh reads in its own goroutine, hence the lock.
type recorder struct {
	net.Conn
	mu      sync.Mutex
	in, out []byte
}

func (r *recorder) Read(p []byte) (int, error) {
	n, err := r.Conn.Read(p)
	r.keep(&r.in, p[:n])
	return n, err
}

func (r *recorder) Write(p []byte) (int, error) {
	n, err := r.Conn.Write(p)
	r.keep(&r.out, p[:n])
	return n, err
}

func (r *recorder) keep(dst *[]byte, p []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if room := maxHello - len(*dst); room > 0 {
		*dst = append(*dst, p[:min(room, len(p))]...)
	}
}

// hellos parses what each side has sent so far, and says where the
// server's stopped making sense.
func (r *recorder) hellos() (server, client hello, serverErr error) {
	r.mu.Lock()
	in, out := r.in, r.out
	r.mu.Unlock()
	server, serverErr = parseHello(in)
	client, _ = parseHello(out)
	return server, client, serverErr
}

// printableLine returns one line of a peer's bytes as safe text, cut to
// maxIdent bytes of input.
func printableLine(b []byte) string {
	if len(b) > maxIdent {
		b = b[:maxIdent]
	}
	return strings.TrimSpace(tcp.Printable(b))
}
