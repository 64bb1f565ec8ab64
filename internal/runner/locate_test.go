package runner

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strings"
	"testing"

	"probe/internal/config"
	"probe/internal/testutil"
	"probe/internal/vantage"

	"github.com/pion/stun/v3"
)

// silentSTUN is a loopback UDP port that reads and never answers.
func silentSTUN(t *testing.T) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	return pc.LocalAddr().String()
}

// locateFile is a table with an admin vantage of adminCIDR, a catch-all
// internet vantage, and the STUN servers given. Their timeout is 300 ms
// when one of them is silent (the wait is then the whole of it), else
// 5 s: discovery ends when every server has answered, and a loaded
// machine's loopback answer may take longer than 300 ms.
func locateFile(t *testing.T, adminCIDR string, silent string, servers ...string) *config.File {
	t.Helper()
	timeout := "5s"
	if slices.Contains(servers, silent) {
		timeout = "300ms"
	}
	quoted := make([]string, len(servers))
	for i, s := range servers {
		quoted[i] = fmt.Sprintf("%q", s)
	}
	f, err := config.Parse("locate.toml", []byte(fmt.Sprintf(`
[stun]
servers = [%s]
timeout = %q
[[vantage]]
name = "admin"
cidrs = [%q]
[[vantage]]
name = "internet"
catch_all = true
[[target]]
name = "api"
address = "203.0.113.10"
[[expectation]]
id = "ssh"
target = "api"
port = 22
transport = "tcp"
probe = "tcp"
expect = { admin = "open", internet = "filtered" }
`, strings.Join(quoted, ", "), timeout, adminCIDR)))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestLocate(t *testing.T) {
	here := testutil.STUNResponder(t) // says 127.0.0.1
	elsewhere := testutil.STUNSays(t, "198.51.100.7")
	silent := silentSTUN(t)
	cases := []struct {
		name      string
		adminCIDR string
		servers   []string
		declared  string
		trust     bool
		// want is the vantage and how it was established; wantErr, when
		// set, is a word the error must hold instead.
		want, established string
		wantErr           string
		wantNetwork       bool
	}{
		{name: "declared and confirmed", adminCIDR: "127.0.0.0/8", servers: []string{here}, declared: "admin",
			want: "admin", established: string(vantage.StunConfirmed), wantNetwork: true},
		{name: "declared but seen elsewhere", adminCIDR: "198.51.100.238/32", servers: []string{here}, declared: "admin",
			wantErr: "127.0.0.1"},
		{name: "auto finds the vantage that holds the address", adminCIDR: "127.0.0.0/8", servers: []string{here}, declared: "auto",
			want: "admin", established: string(vantage.StunAuto), wantNetwork: true},
		{name: "auto falls back to the catch-all", adminCIDR: "198.51.100.238/32", servers: []string{here}, declared: "auto",
			want: "internet", established: string(vantage.StunAuto), wantNetwork: true},
		{name: "no answer: unconfirmed", adminCIDR: "127.0.0.0/8", servers: []string{silent}, declared: "admin",
			want: "admin", established: string(vantage.Unconfirmed)},
		{name: "no answer, trusted", adminCIDR: "127.0.0.0/8", servers: []string{silent}, declared: "admin", trust: true,
			want: "admin", established: string(vantage.TrustedUnconfirmed)},
		{name: "no answer: auto cannot tell", adminCIDR: "127.0.0.0/8", servers: []string{silent}, declared: "auto",
			wantErr: "needs a STUN answer"},
		{name: "servers disagree: auto cannot tell", adminCIDR: "127.0.0.0/8", servers: []string{here, elsewhere}, declared: "auto",
			wantErr: "disagree"},
		{name: "servers disagree: a declared vantage is unconfirmed", adminCIDR: "127.0.0.0/8", servers: []string{here, elsewhere}, declared: "admin",
			want: "admin", established: string(vantage.Unconfirmed), wantNetwork: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := locateFile(t, c.adminCIDR, silent, c.servers...)
			loc, err := Locate(context.Background(), f, c.declared, c.trust)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("err = %v; want one that says %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if loc.Name != c.want || loc.Established != c.established || loc.Declared != c.declared {
				t.Errorf("located %q (%s), declared %q; want %q (%s), declared %q", loc.Name, loc.Established, loc.Declared, c.want, c.established, c.declared)
			}
			if got := loc.NetworkEvidence != ""; got != c.wantNetwork {
				t.Errorf("network evidence %q; want some: %v", loc.NetworkEvidence, c.wantNetwork)
			}
			if len(loc.Answers) != len(c.servers) {
				t.Errorf("%d answers recorded; want one per server (%d)", len(loc.Answers), len(c.servers))
			}
			if c.established == string(vantage.Unconfirmed) && loc.Doubt == "" {
				t.Error("unconfirmed without a doubt saying why")
			}
		})
	}
}

// lossySTUN answers STUN Binding requests on a loopback UDP port with the
// sender's address, except every request of the first transaction it
// hears: a path that loses one round's every retransmission.
func lossySTUN(t *testing.T) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		var first *[stun.TransactionIDSize]byte
		buf := make([]byte, 1500)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			req := &stun.Message{Raw: append([]byte(nil), buf[:n]...)}
			if req.Decode() != nil {
				continue
			}
			if first == nil {
				id := req.TransactionID
				first = &id
			}
			if req.TransactionID == *first {
				continue
			}
			ua := from.(*net.UDPAddr)
			res, err := stun.Build(stun.NewTransactionIDSetter(req.TransactionID), stun.BindingSuccess, &stun.XORMappedAddress{IP: ua.IP, Port: ua.Port}, stun.Fingerprint)
			if err == nil {
				_, _ = pc.WriteTo(res.Raw, from)
			}
		}
	}()
	return pc.LocalAddr().String()
}

// A round of STUN lost whole is asked once more before the vantage is
// called unconfirmed: the second round's answer confirms it.
func TestLocateAsksAgainAfterALostRound(t *testing.T) {
	f, err := config.Parse("lossy.toml", []byte(fmt.Sprintf(`
[stun]
servers = [%q]
timeout = "1s"
[[vantage]]
name = "admin"
cidrs = ["127.0.0.0/8"]
[[vantage]]
name = "internet"
catch_all = true
[[target]]
name = "api"
address = "203.0.113.10"
[[expectation]]
id = "ssh"
target = "api"
port = 22
transport = "tcp"
probe = "tcp"
expect = { admin = "open", internet = "filtered" }
`, lossySTUN(t))))
	if err != nil {
		t.Fatal(err)
	}
	loc, err := Locate(context.Background(), f, "admin", false)
	if err != nil || loc.Name != "admin" || loc.Established != string(vantage.StunConfirmed) || loc.Address != "127.0.0.1" {
		t.Errorf("located %+v, %v; want admin, stun-confirmed at 127.0.0.1 on the second round", loc, err)
	}
}
