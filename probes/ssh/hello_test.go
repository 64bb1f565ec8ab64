package ssh

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// kexInitPacket encodes lists as a KEXINIT in one unencrypted binary packet
// (RFC 4253 §6, §7.1), independently of the parser under test.
func kexInitPacket(a Algorithms) []byte {
	payload := []byte{msgKexInit}
	payload = append(payload, make([]byte, 16)...) // cookie
	for _, l := range [][]string{a.Kex, a.HostKeys, a.CiphersC2S, a.CiphersS2C, a.MACsC2S, a.MACsS2C, a.CompressionC2S, a.CompressionS2C, nil, nil} {
		s := strings.Join(l, ",")
		payload = binary.BigEndian.AppendUint32(payload, uint32(len(s)))
		payload = append(payload, s...)
	}
	payload = append(payload, 0, 0, 0, 0, 0) // first_kex_packet_follows, reserved
	pad := 8 - (len(payload)+5)%8
	if pad < 4 {
		pad += 8
	}
	pkt := binary.BigEndian.AppendUint32(nil, uint32(1+len(payload)+pad))
	pkt = append(pkt, byte(pad))
	pkt = append(pkt, payload...)
	return append(pkt, make([]byte, pad)...)
}

var openSSHLike = Algorithms{
	Kex:            []string{"sntrup761x25519-sha512@openssh.com", "curve25519-sha256", "diffie-hellman-group14-sha256", "kex-strict-s-v00@openssh.com"},
	HostKeys:       []string{"rsa-sha2-512", "rsa-sha2-256", "ecdsa-sha2-nistp256", "ssh-ed25519"},
	CiphersC2S:     []string{"chacha20-poly1305@openssh.com", "aes128-ctr"},
	CiphersS2C:     []string{"chacha20-poly1305@openssh.com", "aes128-ctr"},
	MACsC2S:        []string{"hmac-sha2-256-etm@openssh.com", "hmac-sha2-256"},
	MACsS2C:        []string{"hmac-sha2-256-etm@openssh.com", "hmac-sha2-256"},
	CompressionC2S: []string{"none", "zlib@openssh.com"},
	CompressionS2C: []string{"none", "zlib@openssh.com"},
}

func TestParseHello(t *testing.T) {
	pkt := kexInitPacket(openSSHLike)
	ident := "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u10"
	tests := []struct {
		name      string
		in        []byte
		wantIdent string
		wantFirst string
		wantKex   bool
		wantErr   error
	}{
		{"openssh", append([]byte(ident+"\r\n"), pkt...), ident, ident, true, nil},
		{"lf_only", append([]byte(ident+"\n"), pkt...), ident, ident, true, nil},
		{"lines_before_ident", append([]byte("hello there\r\n"+ident+"\r\n"), pkt...), ident, "hello there", true, nil},
		{"ident_only", []byte(ident + "\r\n"), ident, ident, false, errTruncated},
		{"packet_cut", append([]byte(ident+"\r\n"), pkt[:len(pkt)/2]...), ident, ident, false, errTruncated},
		{"http", []byte("HTTP/1.1 400 Bad Request\r\n\r\n"), "", "HTTP/1.1 400 Bad Request", false, errNoIdent},
		{"no_newline", []byte("garbage\x00\x01"), "", `garbage\x00\x01`, false, errNoIdent},
		{"empty", nil, "", "", false, errNoIdent},
		{"not_kexinit", append([]byte(ident+"\r\n"), 0, 0, 0, 12, 10, 21, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0), ident, ident, false, errNotKexInit},
		{"bad_lengths", append([]byte(ident+"\r\n"), 0, 0, 0, 2, 9, 20), ident, ident, false, errBadPacket},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := parseHello(tt.in)
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("err = %v; want %v", err, tt.wantErr)
			}
			if h.ident != tt.wantIdent || h.first != tt.wantFirst {
				t.Errorf("ident, first = %q, %q; want %q, %q", h.ident, h.first, tt.wantIdent, tt.wantFirst)
			}
			if tt.wantKex && !reflect.DeepEqual(h.kexinit, &openSSHLike) {
				t.Errorf("kexinit = %+v; want %+v", h.kexinit, openSSHLike)
			}
			if !tt.wantKex && h.kexinit != nil {
				t.Errorf("kexinit = %+v; want nil", h.kexinit)
			}
		})
	}
}

func TestNegotiate(t *testing.T) {
	client := Algorithms{
		Kex:        []string{"mlkem768x25519-sha256", "curve25519-sha256", "ext-info-c"},
		HostKeys:   []string{"ssh-ed25519", "rsa-sha2-512"},
		CiphersC2S: []string{"aes128-gcm@openssh.com", "aes128-ctr"},
		CiphersS2C: []string{"aes128-ctr"},
		MACsC2S:    []string{"hmac-sha2-512", "hmac-sha2-256"},
		MACsS2C:    []string{"hmac-sha2-512", "hmac-sha2-256"},
	}
	server := Algorithms{
		Kex:        []string{"sntrup761x25519-sha512@openssh.com", "curve25519-sha256", "kex-strict-s-v00@openssh.com"},
		HostKeys:   []string{"rsa-sha2-512", "ssh-ed25519"},
		CiphersC2S: []string{"aes128-ctr", "aes128-gcm@openssh.com"},
		CiphersS2C: []string{"aes128-ctr"},
		MACsC2S:    []string{"hmac-sha2-256"},
		MACsS2C:    []string{"hmac-sha2-256"},
	}
	got, ok := negotiate(&client, &server)
	want := &Negotiated{
		Kex: "curve25519-sha256", HostKey: "ssh-ed25519", // the client's preference decides
		CipherC2S: "aes128-gcm@openssh.com", CipherS2C: "aes128-ctr",
		MACC2S: "", MACS2C: "hmac-sha2-256", // no MAC with an AEAD cipher
	}
	if !ok || !reflect.DeepEqual(got, want) {
		t.Errorf("negotiate = %+v, %v; want %+v, true", got, ok, want)
	}
	server.Kex = []string{"diffie-hellman-group1-sha1"}
	if _, ok := negotiate(&client, &server); ok {
		t.Errorf("negotiate with no common kex: ok = true; want false")
	}
}

func TestValidFingerprint(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"SHA256:Pws/XuSCw0v1DdPqkCnm5EPOQw8DM5tcFVLb+k5TgRc", true},
		{"SHA256:" + strings.Repeat("A", 43), true},
		{"sha256:Pws/XuSCw0v1DdPqkCnm5EPOQw8DM5tcFVLb+k5TgRc", false},  // prefix is case-sensitive, as printed
		{"SHA256:Pws/XuSCw0v1DdPqkCnm5EPOQw8DM5tcFVLb+k5TgRc=", false}, // padded
		{"SHA256:Pws/XuSCw0v1DdPqkCnm5EPOQw8DM5tcFVLb+k5TgR", false},   // 42 characters
		{"SHA256:Pws_XuSCw0v1DdPqkCnm5EPOQw8DM5tcFVLb+k5TgRc", false},  // URL alphabet
		{"SHA256:Pws/XuSCw0v1DdPqkCnm5EPOQw8DM5tcFVLb+k5TgRd", false},  // non-canonical last character
		{"MD5:16:27:ac:a5:76:28:2d:36:63:1b:56:4d:eb:df:a6:48", false}, // old form
		{"Pws/XuSCw0v1DdPqkCnm5EPOQw8DM5tcFVLb+k5TgRc", false},         // no prefix
		{"SHA256: Pws/XuSCw0v1DdPqkCnm5EPOQw8DM5tcFVLb+k5TgRc", false}, // space
		{"", false},
	}
	for _, tt := range tests {
		if got := ValidFingerprint(tt.in); got != tt.want {
			t.Errorf("ValidFingerprint(%q) = %v; want %v", tt.in, got, tt.want)
		}
	}
}

func FuzzParseHello(f *testing.F) {
	pkt := kexInitPacket(openSSHLike)
	f.Add(append([]byte("SSH-2.0-OpenSSH_9.2p1\r\n"), pkt...))
	f.Add(append([]byte("banner\nSSH-2.0-x\n"), pkt[:20]...))
	f.Add([]byte("HTTP/1.1 200 OK\r\n"))
	f.Add([]byte("SSH-2.0-x\r\n\x00\x00\x00\x05\x04\x14"))
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := parseHello(b)
		if h.ident != "" && (!strings.HasPrefix(h.ident, "SSH-") || strings.ContainsAny(h.ident, "\n") || len(h.ident) > maxIdent) {
			t.Fatalf("ident %q is not one identification line", h.ident)
		}
		if strings.Contains(h.first, "\n") {
			t.Fatalf("first %q spans lines", h.first)
		}
		if err == nil {
			if h.ident == "" || h.kexinit == nil {
				t.Fatalf("no error, but ident %q, kexinit %v", h.ident, h.kexinit)
			}
			// What was read must encode back to the same lists.
			again, err := parseHello(append([]byte(h.ident+"\r\n"), kexInitPacket(*h.kexinit)...))
			if err != nil || !reflect.DeepEqual(again.kexinit, h.kexinit) {
				t.Fatalf("round trip: %v, %+v; want %+v", err, again.kexinit, h.kexinit)
			}
		}
	})
}

func FuzzValidFingerprint(f *testing.F) {
	f.Add("SHA256:Pws/XuSCw0v1DdPqkCnm5EPOQw8DM5tcFVLb+k5TgRc")
	f.Add("SHA256:Pws/XuSCw0v1DdPqkCnm5EPOQw8DM5tcFVLb+k5TgRd")
	f.Add("SHA256:" + strings.Repeat("/", 43))
	f.Fuzz(func(t *testing.T, s string) {
		if !ValidFingerprint(s) {
			return
		}
		// A valid fingerprint is exactly what encoding its digest prints.
		sum, err := base64.RawStdEncoding.DecodeString(strings.TrimPrefix(s, "SHA256:"))
		if err != nil || "SHA256:"+base64.RawStdEncoding.EncodeToString(sum) != s {
			t.Fatalf("%q accepted but does not round-trip", s)
		}
	})
}
