package sip

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"probe/internal/testutil"
	"probe/probes"
)

// The probe against a real SIP server: Debian's Kamailio, started by the
// test on loopback with a config written to a temporary directory.

// kamailioServer is the Server header the test's Kamailio answers with: a
// version number, as the agent_not assertion is meant to catch.
const kamailioServer = "kamailio (5.6.3-probe-test)"

// syncBuffer is a bytes.Buffer safe to write from the process's output
// copier and read from the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type kamailio struct {
	port    int // UDP and TCP
	tlsPort int // 0 when the TLS module is absent
	caFile  string
}

// startKamailio writes a minimal config that answers OPTIONS with 200,
// an Allow and a Supported header and a versioned Server header, starts
// Kamailio in the foreground, and waits until it answers.
func startKamailio(t *testing.T) kamailio {
	t.Helper()
	bin := testutil.RequireBinary(t, "kamailio", "kamailio")
	mods, _ := filepath.Glob("/usr/lib/*/kamailio/modules/sl.so")
	if len(mods) == 0 {
		t.Fatal("kamailio is installed but its modules (sl.so) are not found")
	}
	mpath := filepath.Dir(mods[0])
	dir := t.TempDir()
	k := kamailio{port: testutil.FreeUDPTCPPort(t)}

	var tlsCfg string
	if _, err := os.Stat(filepath.Join(mpath, "tls.so")); err == nil {
		k.tlsPort = testutil.FreeUDPTCPPort(t)
		pki := newPKI(t, []string{"sip.example.test"}, []net.IP{net.ParseIP("127.0.0.1")})
		k.caFile = pki.caFile
		cert, key := pki.writePEM(t)
		tlsFile := filepath.Join(dir, "tls.cfg")
		tlsConf := fmt.Sprintf("[server:default]\nmethod = TLSv1.2+\nverify_certificate = no\nrequire_certificate = no\ncertificate = %s\nprivate_key = %s\n", cert, key)
		if err := os.WriteFile(tlsFile, []byte(tlsConf), 0o600); err != nil {
			t.Fatal(err)
		}
		tlsCfg = fmt.Sprintf("enable_tls=yes\nlisten=tls:127.0.0.1:%d\nloadmodule \"tls.so\"\nmodparam(\"tls\", \"config\", \"%s\")\n", k.tlsPort, tlsFile)
	} else {
		t.Logf("kamailio's tls module is absent (Debian package kamailio-tls-modules): TLS not tested against Kamailio")
	}

	cfg := fmt.Sprintf(`#!KAMAILIO
debug=2
log_stderror=yes
children=1
tcp_children=1
dns=no
rev_dns=no
auto_aliases=no
listen=udp:127.0.0.1:%[1]d
listen=tcp:127.0.0.1:%[1]d
server_header="Server: %[2]s"
user_agent_header="User-Agent: %[2]s"
mpath="%[3]s"
%[4]s
loadmodule "sl.so"
loadmodule "textops.so"

request_route {
	if (is_method("ACK")) {
		exit;
	}
	if (is_method("OPTIONS")) {
		append_to_reply("Allow: INVITE, ACK, BYE, CANCEL, OPTIONS\r\n");
		append_to_reply("Supported: path, outbound\r\n");
		sl_send_reply("200", "OK");
		exit;
	}
	sl_send_reply("405", "Method Not Allowed");
	exit;
}
`, k.port, kamailioServer, mpath, tlsCfg)
	cfgFile := filepath.Join(dir, "kamailio.cfg")
	if err := os.WriteFile(cfgFile, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}

	// -DD: stay in the foreground; -E: log to stderr; -Y/-P: keep the run
	// directory and pid file out of /run; small memory pools for a test.
	cmd := exec.Command(bin, "-f", cfgFile, "-DD", "-E", "-Y", dir, "-P", filepath.Join(dir, "kamailio.pid"), "-m", "32", "-M", "8")
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		// Kamailio's main process stops its children on SIGTERM.
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // its own process group only
			<-done
		}
		if t.Failed() {
			t.Logf("kamailio output:\n%s", out.String())
		}
	})

	// Ready when it answers over TCP, the last listener it opens.
	tg := probes.Target{Name: "kamailio", Host: "127.0.0.1", Port: k.port, Transport: "tcp"}
	for start := time.Now(); ; {
		select {
		case <-done:
			t.Fatalf("kamailio exited at start:\n%s", out.String())
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		obs := Probe(ctx, tg, Options{})
		cancel()
		if f, _ := obs.Facts.(*Facts); obs.State == probes.Open && f != nil && f.StatusCode == 200 {
			return k
		}
		if time.Since(start) > 15*time.Second {
			t.Fatalf("kamailio did not answer within 15s (last: %s %s):\n%s", obs.Outcome, obs.Detail, out.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestAgainstKamailio(t *testing.T) {
	k := startKamailio(t)
	type run struct {
		transport string
		port      int
		opt       Options
	}
	runs := []run{{"udp", k.port, Options{}}, {"tcp", k.port, Options{}}}
	if k.tlsPort != 0 {
		runs = append(runs, run{"tls", k.tlsPort, Options{CAFile: k.caFile, ServerName: "sip.example.test"}})
	}
	for _, r := range runs {
		t.Run(r.transport, func(t *testing.T) {
			tg := probes.Target{Name: "kamailio", Host: "127.0.0.1", Port: r.port, Transport: r.transport}
			obs, f := probe(t, tg, r.opt, 5*time.Second)
			wantState(t, obs, probes.Open)
			if obs.Error != "" || f == nil {
				t.Fatalf("error = %q (%s: %s); want none", obs.Error, obs.Outcome, obs.Detail)
			}
			if f.StatusCode != 200 || f.Reason != "OK" {
				t.Errorf("status = %d %q; want 200 OK", f.StatusCode, f.Reason)
			}
			if f.Server != kamailioServer {
				t.Errorf("Server = %q; want %q", f.Server, kamailioServer)
			}
			if want := []string{"ACK", "BYE", "CANCEL", "INVITE", "OPTIONS"}; !slices.Equal(f.Allow, want) {
				t.Errorf("Allow = %q; want %q", f.Allow, want)
			}
			if want := []string{"outbound", "path"}; !slices.Equal(f.Supported, want) {
				t.Errorf("Supported = %q; want %q", f.Supported, want)
			}
			if r.transport == "tls" {
				if f.TLS == nil || f.TLS.Verified == nil || !*f.TLS.Verified {
					t.Errorf("TLS facts = %+v; want a verified certificate", f.TLS)
				}
			}
		})
	}
	t.Run("the UDP sweep's request", func(t *testing.T) {
		// The OPTIONS the UDP sweep sends on its own socket, and what it
		// makes of Kamailio's answer.
		tg := probes.Target{Name: "kamailio", Host: "127.0.0.1", Port: k.port, Transport: "udp"}
		conn, err := net.Dial("udp", net.JoinHostPort(tg.Host, strconv.Itoa(tg.Port)))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		req := NewRequest(tg, conn.LocalAddr())
		if _, err := conn.Write(req.Bytes()); err != nil {
			t.Fatal(err)
		}
		_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		buf := make([]byte, 65535)
		n, err := conn.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		want := "SIP/2.0 200 OK; Server: " + kamailioServer // a reply of its own: Server, no User-Agent
		if said, ok := req.Said(buf[:n]); !ok || said != want {
			t.Errorf("said %q (%v); want %q", said, ok, want)
		}
		if _, ok := NewRequest(tg, conn.LocalAddr()).Said(buf[:n]); ok {
			t.Error("another request's Said accepts this answer: its branch is not checked")
		}
	})
	t.Run("closed udp port next to it", func(t *testing.T) {
		// Same host, a port nothing listens on: ICMP port unreachable.
		tg := probes.Target{Name: "kamailio", Host: "127.0.0.1", Port: testutil.FreeUDPTCPPort(t), Transport: "udp"}
		obs, _ := probe(t, tg, Options{}, 3*time.Second)
		wantState(t, obs, probes.Closed)
	})
}

// TestSipsakAgrees asks an independent client, sipsak, for the status the
// same Kamailio gives, and compares it with the probe's.
func TestSipsakAgrees(t *testing.T) {
	sipsak := testutil.RequireBinary(t, "sipsak", "sipsak")
	k := startKamailio(t)
	for _, transport := range []string{"udp", "tcp"} {
		t.Run(transport, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			out, err := exec.CommandContext(ctx, sipsak, "-vv", "-E", transport, "-s", fmt.Sprintf("sip:probe@127.0.0.1:%d", k.port)).CombinedOutput()
			if err != nil {
				t.Fatalf("sipsak: %v\n%s", err, out)
			}
			m := regexp.MustCompile(`(?m)^SIP/2\.0 (\d{3}) `).FindSubmatch(out)
			if m == nil {
				t.Fatalf("no status line in sipsak's output:\n%s", out)
			}
			theirs, _ := strconv.Atoi(string(m[1]))
			obs, f := probe(t, probes.Target{Host: "127.0.0.1", Port: k.port, Transport: transport}, Options{}, 5*time.Second)
			if f == nil || f.StatusCode != theirs || obs.State != probes.Open {
				t.Errorf("probe saw %s %v; sipsak saw %d", obs.State, f, theirs)
			}
			if !strings.Contains(string(out), "Server: "+kamailioServer) || f.Server != kamailioServer {
				t.Errorf("Server: probe saw %q; sipsak's output:\n%s", f.Server, out)
			}
		})
	}
}
