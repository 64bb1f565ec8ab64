package esl

import (
	"bufio"
	"context"
	"io"
	"net"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"probe/internal/testutil"
	"probe/probes"
)

const (
	authRequest = "Content-Type: auth/request\n\n"
	rude        = "Content-Type: text/rude-rejection\nContent-Length: 24\n\nAccess Denied, go away.\n"
)

func reply(text string) string { return "Content-Type: command/reply\nReply-Text: " + text + "\n\n" }

// fakeESL serves one connection: it writes greeting, then, once the client
// has sent a blank-line-terminated command, writes answer (when set). With
// hangUp it closes right after the greeting, as FreeSWITCH does after a
// rude rejection; otherwise it reads until the client closes. received
// yields every byte the client sent.
func fakeESL(t *testing.T, greeting, answer string, hangUp bool) (probes.Target, <-chan []byte) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	received := make(chan []byte, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			received <- nil
			return
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		if greeting != "" {
			_, _ = io.WriteString(c, greeting)
		}
		if hangUp {
			received <- nil
			return
		}
		var got []byte
		r := bufio.NewReader(c)
		answered := false
		for {
			b, err := r.ReadByte()
			if err != nil {
				break
			}
			got = append(got, b)
			if !answered && answer != "" && strings.HasSuffix(string(got), "\n\n") {
				_, _ = io.WriteString(c, answer)
				answered = true
			}
		}
		received <- got
	}()
	host, port, _ := net.SplitHostPort(ln.Addr().String())
	p, _ := strconv.Atoi(port)
	return probes.Target{Name: "freeswitch", Host: host, Port: p, Transport: "tcp"}, received
}

func check(t *testing.T, tg probes.Target) Result {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	return CheckDefaultPassword(ctx, tg, DefaultPassword)
}

func TestDefaultPassword(t *testing.T) {
	cases := []struct {
		name     string
		greeting string
		answer   string
		hangUp   bool
		outcome  Outcome
		sent     bool   // whether the password goes out
		reply    string // Reply-Text recorded
	}{
		{"refused", authRequest, reply("-ERR invalid"), false, Refused, true, "-ERR invalid"},
		{"accepted", authRequest, reply("+OK accepted"), false, Accepted, true, "+OK accepted"},
		{"rude rejection, connection kept open", rude, "", false, NotSent, false, ""},
		{"rude rejection and a close", rude, "", true, NotSent, false, ""},
		{"not ESL", "SSH-2.0-OpenSSH_9.2p1\r\n", "", false, NotSent, false, ""},
		{"another content type", "Content-Type: text/event-plain\n\n", "", false, NotSent, false, ""},
		{"silence", "", "", false, NotSent, false, ""},
		{"no reply to the password", authRequest, "", false, NoVerdict, true, ""},
		{"an odd reply", authRequest, reply("maybe"), false, NoVerdict, true, "maybe"},
		{"a reply that is not ESL", authRequest, "HTTP/1.1 400 Bad Request\r\n\r\n", false, NoVerdict, true, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			tg, received := fakeESL(t, c.greeting, c.answer, c.hangUp)
			res := check(t, tg)
			if res.Outcome != c.outcome || res.PasswordSent != c.sent || res.Reply != c.reply {
				t.Errorf("outcome %q sent %v reply %q; want %q, %v, %q (%s)", res.Outcome, res.PasswordSent, res.Reply, c.outcome, c.sent, c.reply, res.Detail)
			}
			if res.Detail == "" {
				t.Error("no detail: a reader needs to know why")
			}
			got := <-received
			switch {
			case c.sent && string(got) != "auth ClueCon\n\n":
				t.Errorf("server received %q; want the password exactly once: %q", got, "auth ClueCon\n\n")
			case !c.sent && len(got) != 0:
				t.Errorf("server received %q; want nothing at all", got)
			}
		})
	}
}

func TestGreetingIsRecorded(t *testing.T) {
	tg, _ := fakeESL(t, rude, "", true)
	if res := check(t, tg); res.Greeting != RudeRejection {
		t.Errorf("greeting %q; want %q", res.Greeting, RudeRejection)
	}
}

func TestNothingListening(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().(*net.TCPAddr)
	ln.Close()
	res := check(t, probes.Target{Host: "127.0.0.1", Port: addr.Port, Transport: "tcp"})
	if res.Outcome != NotSent || res.PasswordSent || !strings.Contains(res.Detail, "could not connect") {
		t.Errorf("outcome %q sent %v detail %q; want not sent, could not connect", res.Outcome, res.PasswordSent, res.Detail)
	}
}

// A password with a line break would smuggle a second command: it is never
// sent, and no connection is made.
func TestPasswordWithALineBreakIsNotSent(t *testing.T) {
	tg, received := fakeESL(t, authRequest, reply("+OK accepted"), false)
	res := CheckDefaultPassword(context.Background(), tg, "ClueCon\n\napi status")
	if res.Outcome != NotSent || res.PasswordSent {
		t.Errorf("outcome %q sent %v; want not sent", res.Outcome, res.PasswordSent)
	}
	// Connect once with nothing to say, so the fake's one connection ends;
	// had the check connected, the fake would have served it instead.
	c, err := net.Dial("tcp", net.JoinHostPort(tg.Host, strconv.Itoa(tg.Port)))
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	if got := <-received; len(got) != 0 {
		t.Errorf("server received %q; want nothing", got)
	}
}

// TestAgainstStandIn runs the testbed's ESL stand-in (internal/standin/esl),
// which answers as mod_event_socket does, once inside and once outside its
// ACL.
func TestAgainstStandIn(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		testutil.Unavailable(t, "the go tool is needed to build the ESL stand-in")
	}
	bin := filepath.Join(t.TempDir(), "esl")
	if out, err := exec.Command(goTool, "build", "-o", bin, "probe/internal/standin/esl").CombinedOutput(); err != nil {
		t.Fatalf("building the stand-in: %v\n%s", err, out)
	}
	cases := []struct {
		name     string
		args     []string
		greeting string
		outcome  Outcome
	}{
		{"inside the ACL, default password set", []string{"-allow", "127.0.0.1/32", "-password", "ClueCon"}, AuthRequest, Accepted},
		{"inside the ACL, password changed", []string{"-allow", "127.0.0.1/32", "-password", "s3cret-Longer"}, AuthRequest, Refused},
		{"outside the ACL", []string{"-allow", "192.0.2.0/24", "-password", "ClueCon"}, RudeRejection, NotSent},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tg := startStandIn(t, bin, c.args)
			res := check(t, tg)
			if res.Greeting != c.greeting || res.Outcome != c.outcome {
				t.Errorf("greeting %q outcome %q (%s); want %q, %q", res.Greeting, res.Outcome, res.Detail, c.greeting, c.outcome)
			}
		})
	}
}

func startStandIn(t *testing.T, bin string, args []string) probes.Target {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().(*net.TCPAddr)
	ln.Close()
	cmd := exec.Command(bin, append([]string{"-listen", addr.String()}, args...)...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	// Readiness, not a timing assertion: wait until it accepts.
	for deadline := time.Now().Add(10 * time.Second); ; {
		c, err := net.Dial("tcp", addr.String())
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the stand-in did not listen: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return probes.Target{Name: "freeswitch", Host: "127.0.0.1", Port: addr.Port, Transport: "tcp"}
}
