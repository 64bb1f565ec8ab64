package kinds

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"probe/probes"
	"probe/probes/esl"
	"probe/probes/tcp"
)

const (
	eslAuthRequest = "Content-Type: auth/request\n\n"
	eslRude        = "Content-Type: text/rude-rejection\nContent-Length: 24\n\nAccess Denied, go away.\n"
)

func TestTCPSectionValidate(t *testing.T) {
	cases := []struct {
		name string
		s    TCPSection
		keys []string
	}{
		{"empty", TCPSection{}, nil},
		{"reference ESL row", TCPSection{Banner: "Content-Type: auth/request"}, nil},
		{"ESL with its greeting", TCPSection{Banner: "Content-Type: auth/request", ESLDefaultPassword: true}, nil},
		{"ESL with a looser banner", TCPSection{Banner: `auth/request`, BannerNot: "rude-rejection", ESLDefaultPassword: true}, nil},
		{"ESL without a banner", TCPSection{ESLDefaultPassword: true}, []string{"esl_default_password"}},
		{"ESL with only banner_not", TCPSection{BannerNot: "rude", ESLDefaultPassword: true}, []string{"esl_default_password"}},
		{"ESL on an SSH banner", TCPSection{Banner: "^SSH-2.0-", ESLDefaultPassword: true}, []string{"esl_default_password"}},
		{"banner_not rules the greeting out", TCPSection{Banner: "Content-Type", BannerNot: "auth", ESLDefaultPassword: true}, []string{"esl_default_password"}},
		{"bad banner regex", TCPSection{Banner: "(auth", ESLDefaultPassword: true}, []string{"banner"}},
		{"bad banner_not regex", TCPSection{Banner: "auth/request", BannerNot: "(", ESLDefaultPassword: true}, []string{"banner_not"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			wantProblemsAt(t, c.s.Validate(), c.keys)
		})
	}
}

func TestCheckTCPWithESL(t *testing.T) {
	authBanner := &tcp.Facts{Banner: eslAuthRequest, BannerRead: true, BannerOutcome: "received"}
	rudeBanner := &tcp.Facts{Banner: eslRude, BannerRead: true, BannerOutcome: "received"}
	type want struct {
		name     string
		pass     bool
		critical bool
	}
	section := &TCPSection{Banner: "Content-Type: auth/request", ESLDefaultPassword: true}
	cases := []struct {
		name  string
		facts any
		s     *TCPSection
		want  []want
	}{
		{"refused", &TCPFacts{Facts: authBanner, ESL: &esl.Result{Outcome: esl.Refused, Greeting: esl.AuthRequest, PasswordSent: true, Reply: "-ERR invalid"}},
			section, []want{{"banner", true, false}, {"esl_default_password", true, false}}},
		{"accepted is critical", &TCPFacts{Facts: authBanner, ESL: &esl.Result{Outcome: esl.Accepted, Greeting: esl.AuthRequest, PasswordSent: true, Reply: "+OK accepted"}},
			section, []want{{"banner", true, false}, {"esl_default_password", false, true}}},
		{"no verdict fails, not critical", &TCPFacts{Facts: authBanner, ESL: &esl.Result{Outcome: esl.NoVerdict, PasswordSent: true, Detail: "no reply to the password: EOF"}},
			section, []want{{"banner", true, false}, {"esl_default_password", false, false}}},
		{"second connection rejected", &TCPFacts{Facts: authBanner, ESL: &esl.Result{Outcome: esl.NotSent, Greeting: esl.RudeRejection, Detail: "ESL rejected this vantage"}},
			section, []want{{"banner", true, false}, {"esl_default_password", false, false}}},
		{"rude rejection: not tried, no claim", &TCPFacts{Facts: rudeBanner},
			section, []want{{"banner", false, false}}},
		{"auth/request but never tried", authBanner,
			section, []want{{"banner", true, false}, {"esl_default_password", false, false}}},
		{"option off: no ESL check", authBanner,
			&TCPSection{Banner: "Content-Type: auth/request"}, []want{{"banner", true, false}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var got []want
			for _, ch := range checkTCP(probes.Observation{State: probes.Open, Facts: c.facts}, Params{Section: c.s}) {
				got = append(got, want{ch.Name, ch.Pass, ch.Critical})
				if ch.Expected == "" || ch.Observed == "" {
					t.Errorf("%s: expected %q, observed %q; a reader needs both", ch.Name, ch.Expected, ch.Observed)
				}
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("checks = %v; want %v", got, c.want)
			}
		})
	}
}

// eslServer is a fake event socket on loopback that records what every
// connection sent.
type eslServer struct {
	ln       net.Listener
	greeting string
	answer   string // written after the first blank-line-ended command

	mu       sync.Mutex
	received []string // per connection
	wg       sync.WaitGroup
	done     chan struct{}
}

func newESLServer(t *testing.T, greeting, answer string) *eslServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &eslServer{ln: ln, greeting: greeting, answer: answer, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.wg.Add(1)
			go s.serve(c)
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return s
}

func (s *eslServer) serve(c net.Conn) {
	defer s.wg.Done()
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	_, _ = io.WriteString(c, s.greeting)
	var got []byte
	r := bufio.NewReader(c)
	answered := false
	for {
		b, err := r.ReadByte()
		if err != nil {
			break
		}
		got = append(got, b)
		if !answered && s.answer != "" && strings.HasSuffix(string(got), "\n\n") {
			_, _ = io.WriteString(c, s.answer)
			answered = true
		}
	}
	s.mu.Lock()
	s.received = append(s.received, string(got))
	s.mu.Unlock()
}

// stop closes the listener and returns what each connection sent.
func (s *eslServer) stop() []string {
	s.ln.Close()
	<-s.done
	s.wg.Wait()
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.received
}

func (s *eslServer) target() probes.Target {
	a := s.ln.Addr().(*net.TCPAddr)
	return probes.Target{Name: "freeswitch", Host: "127.0.0.1", Port: a.Port, Transport: "tcp"}
}

// TestTCPKindESL runs the registered tcp kind with esl_default_password
// against fake event sockets: the password goes out once, on a second
// connection, only behind an auth/request greeting.
func TestTCPKindESL(t *testing.T) {
	params := Params{Section: &TCPSection{Banner: "Content-Type: auth/request", ESLDefaultPassword: true}}
	cases := []struct {
		name     string
		greeting string
		answer   string
		sent     []string // what each connection sent, sorted
		esl      bool     // whether the ESL check ran
		pass     bool
		critical bool
	}{
		{"default password refused", eslAuthRequest, "Content-Type: command/reply\nReply-Text: -ERR invalid\n\n", []string{"", "auth ClueCon\n\n"}, true, true, false},
		{"default password accepted", eslAuthRequest, "Content-Type: command/reply\nReply-Text: +OK accepted\n\n", []string{"", "auth ClueCon\n\n"}, true, false, true},
		{"outside the ACL", eslRude, "", []string{""}, false, false, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := newESLServer(t, c.greeting, c.answer)
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			defer cancel()
			kind := Lookup("tcp")
			o := kind.Run(ctx, srv.target(), params)
			sent := srv.stop()
			slices.Sort(sent)
			if !reflect.DeepEqual(sent, c.sent) {
				t.Errorf("connections sent %q; want %q", sent, c.sent)
			}
			if o.State != probes.Open {
				t.Fatalf("state %q; want open", o.State)
			}
			f, ok := o.Facts.(*TCPFacts)
			if !ok {
				t.Fatalf("facts are %T; want *TCPFacts", o.Facts)
			}
			if (f.ESL != nil) != c.esl {
				t.Errorf("ESL result %+v; want one: %v", f.ESL, c.esl)
			}
			if strings.Contains(o.Sent, "ESL auth") != c.esl {
				t.Errorf("evidence says sent %q; it must name the password exactly when it went out", o.Sent)
			}
			// The report keeps the TCP facts where they were, plus the check.
			var js map[string]any
			if err := json.Unmarshal(o.MarshalFacts(), &js); err != nil || js["banner"] != c.greeting {
				t.Errorf("facts JSON %s (%v); want the banner at the top level", o.MarshalFacts(), err)
			}
			var eslCheck *Assertion
			for _, ch := range kind.Assert(o, params) {
				if ch.Name == "esl_default_password" {
					eslCheck = &ch
				}
			}
			switch {
			case !c.esl && eslCheck != nil:
				t.Errorf("an ESL check %+v where the password was never tried", eslCheck)
			case c.esl && eslCheck == nil:
				t.Error("no ESL check")
			case c.esl && (eslCheck.Pass != c.pass || eslCheck.Critical != c.critical):
				t.Errorf("ESL check %+v; want pass %v critical %v", eslCheck, c.pass, c.critical)
			}
		})
	}
}
