package rtp

import (
	"encoding/hex"
	"slices"
	"strings"
	"testing"
)

// The golden packet, checked by hand against RFC 3550 §5.1:
//
//	80        V=2 (10), P=0, X=0, CC=0000        -> 1000 0000
//	00        M=0, PT=0 (PCMU, RFC 3551)          -> 0000 0000
//	12 34     sequence number 0x1234
//	de ad be ef   timestamp 0xdeadbeef
//	ca fe ba be   SSRC 0xcafebabe
//	ff x 160  PCMU silence, 20 ms at 8 kHz
func TestPacketGolden(t *testing.T) {
	want := "80001234deadbeefcafebabe" + strings.Repeat("ff", 160)
	got := hex.EncodeToString(Packet(0x1234, 0xdeadbeef, 0xcafebabe))
	if got != want {
		t.Errorf("Packet = %s; want %s", got, want)
	}
	if n := len(Packet(0, 0, 0)); n != 172 {
		t.Errorf("len(Packet) = %d; want 172 (12 header + 160 payload)", n)
	}
}

func TestReplyKind(t *testing.T) {
	tests := []struct {
		first byte
		want  string
	}{
		{0, "stun"}, {1, "stun"}, {3, "stun"}, {4, "other"}, {16, "zrtp"}, {19, "zrtp"},
		{20, "dtls"}, {63, "dtls"}, {64, "turn-channel"}, {79, "turn-channel"}, {80, "other"},
		{127, "other"}, {128, "rtp/rtcp"}, {0x80, "rtp/rtcp"}, {191, "rtp/rtcp"}, {192, "other"}, {255, "other"},
	}
	for _, tc := range tests {
		if got := ReplyKind([]byte{tc.first, 0}); got != tc.want {
			t.Errorf("ReplyKind(%d…) = %q; want %q", tc.first, got, tc.want)
		}
	}
	if got := ReplyKind(nil); got != "empty" {
		t.Errorf("ReplyKind(nil) = %q; want %q", got, "empty")
	}
}

func TestSpentTokens(t *testing.T) {
	const (
		rep = SendReplied
		ref = SendRefused
		sil = SendUnseen
	)
	tests := []struct {
		name string
		in   []SendOutcome
		want []bool
	}{
		// A host that dropped everything sent no error to lose.
		{"all silent", []SendOutcome{sil, sil, sil}, []bool{false, false, false}},
		{"silence beside replies", []SendOutcome{rep, sil, rep}, []bool{false, false, false}},
		// A host that refuses some ports may have refused the silent ones
		// too, with errors lost on the way back.
		{"silence beside a refusal", []SendOutcome{sil, ref, sil, rep}, []bool{true, true, true, false}},
		{"refusals only", []SendOutcome{ref, ref}, []bool{true, true}},
		{"nothing", nil, []bool{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := SpentTokens(tc.in); !slices.Equal(got, tc.want) {
				t.Errorf("SpentTokens(%v) = %v; want %v", tc.in, got, tc.want)
			}
		})
	}
}
