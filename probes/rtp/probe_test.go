package rtp

import (
	"context"
	"encoding/binary"
	"math/rand/v2"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"probe/probes"
)

// listener is a loopback UDP socket that records every datagram it gets,
// and echoes them when asked to. One that is never read stands for a
// firewall that drops.
type listener struct {
	conn *net.UDPConn
	port int
	mu   sync.Mutex
	got  [][]byte
}

func newListener(t *testing.T, echo bool) *listener {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	l := &listener{conn: c, port: c.LocalAddr().(*net.UDPAddr).Port}
	if echo {
		go func() {
			buf := make([]byte, 2048)
			for {
				n, from, err := c.ReadFromUDP(buf)
				if err != nil {
					return
				}
				l.mu.Lock()
				l.got = append(l.got, append([]byte{}, buf[:n]...))
				l.mu.Unlock()
				_, _ = c.WriteToUDP(buf[:n], from)
			}
		}()
	}
	return l
}

// received returns what an echoing listener got, or drains a silent one.
func (l *listener) received(echo bool) [][]byte {
	if !echo {
		buf := make([]byte, 2048)
		for {
			_ = l.conn.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
			n, _, err := l.conn.ReadFromUDP(buf)
			if err != nil {
				break
			}
			l.got = append(l.got, append([]byte{}, buf[:n]...))
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.got
}

// closedPort returns a loopback port where nothing listens; loopback is
// exempt from ICMP rate limiting, so it always draws a port unreachable.
func closedPort(t *testing.T) int {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	p := c.LocalAddr().(*net.UDPAddr).Port
	c.Close()
	return p
}

func facts(t *testing.T, o probes.Observation) *Facts {
	t.Helper()
	f, ok := o.Facts.(*Facts)
	if !ok {
		t.Fatalf("facts are %T; want *Facts", o.Facts)
	}
	return f
}

// fast paces a loopback test without waiting a second per port.
var fast = Options{Wait: 200 * time.Millisecond, Burst: 2, Pace: time.Millisecond}

func TestProbePortsLoopback(t *testing.T) {
	echo1, echo2 := newListener(t, true), newListener(t, true)
	sink := newListener(t, false)
	closed1, closed2 := closedPort(t), closedPort(t)
	ports := []int{sink.port, echo1.port, closed1, echo2.port, closed2}
	opt := fast
	opt.Controls = []int{closed2}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	obs := ProbePorts(ctx, "127.0.0.1", ports, opt)
	if len(obs) != len(ports) {
		t.Fatalf("%d observations for %d ports", len(obs), len(ports))
	}
	want := []struct {
		state  probes.State
		answer Answer
	}{
		{probes.OpenFiltered, AnswerSilence},
		{probes.Open, AnswerReply},
		{probes.Closed, AnswerPortUnreachable},
		{probes.Open, AnswerReply},
		{probes.Closed, AnswerPortUnreachable},
	}
	for i, o := range obs {
		f := facts(t, o)
		if o.State != want[i].state || f.Answer != want[i].answer || o.Error != "" {
			t.Errorf("port %d: state %q answer %q error %q (%s); want %q, %q", ports[i], o.State, f.Answer, o.Error, o.Outcome, want[i].state, want[i].answer)
		}
		if o.Attempts != 1 {
			t.Errorf("port %d: %d attempts; want 1", ports[i], o.Attempts)
		}
		if f.Control != (ports[i] == closed2) {
			t.Errorf("port %d: control %v; want %v", ports[i], f.Control, ports[i] == closed2)
		}
		// The bucket was full, so only the silent port beside a refused
		// in-range port (closed1) is in doubt, and for that reason alone.
		if i > 0 && (f.RateLimitSuspect || o.SilenceDoubt != "") {
			t.Errorf("port %d: rate limit suspect %v (%q); want none: the bucket was full", ports[i], f.RateLimitSuspect, o.SilenceDoubt)
		}
	}
	if o := obs[0]; o.Outcome != "no reply, while other ports of the range were refused" || !strings.HasPrefix(o.SilenceDoubt, "1 other port(s) of the range") {
		t.Errorf("silent port's outcome %q, doubt %q; want it in doubt beside the 1 refused in-range port", o.Outcome, o.SilenceDoubt)
	}
	if o := obs[2]; o.Outcome != "ICMP port unreachable" {
		t.Errorf("closed port's outcome %q; want %q", o.Outcome, "ICMP port unreachable")
	}
	for i, l := range []struct {
		l    *listener
		echo bool
		obs  probes.Observation
	}{{sink, false, obs[0]}, {echo1, true, obs[1]}, {echo2, true, obs[3]}} {
		got := l.l.received(l.echo)
		if len(got) != 1 {
			t.Errorf("listener %d got %d datagrams; want exactly 1", i, len(got))
			continue
		}
		b, f := got[0], facts(t, l.obs)
		if len(b) != HeaderLen+PayloadLen || b[0] != 0x80 || b[1] != 0 {
			t.Errorf("listener %d got % x…; want a 172-byte RTP v2 PCMU packet", i, b[:2])
		}
		if seq, ssrc := binary.BigEndian.Uint16(b[2:]), binary.BigEndian.Uint32(b[8:]); seq != f.Seq || ssrc != f.SSRC {
			t.Errorf("listener %d got seq %d ssrc %#x; facts say %d, %#x", i, seq, ssrc, f.Seq, f.SSRC)
		}
		if l.echo && (!f.Echo || f.ReplyKind != "rtp/rtcp" || f.ReplyBytes != 172) {
			t.Errorf("listener %d: echo %v kind %q bytes %d; want an echo of 172 RTP bytes", i, f.Echo, f.ReplyKind, f.ReplyBytes)
		}
	}
}

// After the burst, each send waits at least Pace after the one before.
func TestProbePortsPaces(t *testing.T) {
	var ports []int
	for range 5 {
		ports = append(ports, newListener(t, true).port)
	}
	opt := Options{Wait: 100 * time.Millisecond, Burst: 2, Pace: 20 * time.Millisecond}
	obs := ProbePorts(context.Background(), "127.0.0.1", ports, opt)
	for i := opt.Burst; i < len(obs); i++ {
		gap := facts(t, obs[i]).SentAfter - facts(t, obs[i-1]).SentAfter
		if gap < opt.Pace {
			t.Errorf("send %d came %v after the one before; want at least %v", i, gap, opt.Pace)
		}
	}
}

// A silent port sent once the replayed ICMP bucket was empty is marked
// suspect; sent while the bucket was full, it is not. The bucket here holds
// one token and earns it back in an hour, so the marking does not depend on
// how fast the test runs.
func TestProbePortsRateLimitSuspect(t *testing.T) {
	opt := fast
	opt.RateLimit = RateLimit{Burst: 1, Interval: time.Hour}

	sink := newListener(t, false)
	obs := ProbePorts(context.Background(), "127.0.0.1", []int{closedPort(t), sink.port}, opt)
	f := facts(t, obs[1])
	if obs[1].State != probes.OpenFiltered || !f.RateLimitSuspect || obs[1].SilenceDoubt == "" {
		t.Errorf("silent port after a refusal: state %q suspect %v doubt %q; want open|filtered, suspect, with a doubt",
			obs[1].State, f.RateLimitSuspect, obs[1].SilenceDoubt)
	}
	if !strings.Contains(obs[1].Outcome, "ICMP rate limiting may explain the silence") {
		t.Errorf("outcome %q; want it to name rate limiting", obs[1].Outcome)
	}
	if f0 := facts(t, obs[0]); f0.RateLimitSuspect {
		t.Errorf("a refused port is marked suspect; only silence can be")
	}

	// The refused port is a control here, so that only the replay speaks
	// (a refused in-range port would cast doubt of its own: see below). The
	// control is sent first and spends one of the bucket's two tokens; the
	// silent port is sent with the other one left.
	sink2 := newListener(t, false)
	closed := closedPort(t)
	opt.Controls = []int{closed}
	opt.RateLimit = RateLimit{Burst: 2, Interval: time.Hour}
	obs = ProbePorts(context.Background(), "127.0.0.1", []int{sink2.port, closed}, opt)
	if f := facts(t, obs[0]); f.RateLimitSuspect || obs[0].SilenceDoubt != "" || f.ICMPBudget != 1 {
		t.Errorf("silent port sent with a token left: suspect %v doubt %q budget %v; want not suspect with 1 token of 2",
			f.RateLimitSuspect, obs[0].SilenceDoubt, f.ICMPBudget)
	}
}

// A silent in-range port among refused in-range ports is doubtful whatever
// the replay says: the host answers for this range, and a lost or
// rate-limited ICMP error (a limit stricter than assumed) looks the same as
// a filter. A silent control beside them is not: it is outside the range.
// The assumed limit here never runs short, so only the rule speaks.
func TestProbePortsSilenceBesideRefusals(t *testing.T) {
	opt := fast
	opt.RateLimit = RateLimit{Burst: 1, Interval: -1} // no limit assumed
	silent, control := newListener(t, false), newListener(t, false)
	opt.Controls = []int{control.port}
	obs := ProbePorts(context.Background(), "127.0.0.1", []int{closedPort(t), silent.port, closedPort(t), control.port}, opt)
	if obs[0].State != probes.Closed || obs[2].State != probes.Closed {
		t.Fatalf("states %q, %q; want both closed", obs[0].State, obs[2].State)
	}
	if f := facts(t, obs[1]); obs[1].State != probes.OpenFiltered || !f.RateLimitSuspect || !strings.HasPrefix(obs[1].SilenceDoubt, "2 other port(s) of the range") {
		t.Errorf("silent in-range port: state %q suspect %v doubt %q; want open|filtered, suspect, naming the 2 refusals", obs[1].State, f.RateLimitSuspect, obs[1].SilenceDoubt)
	}
	if f := facts(t, obs[3]); obs[3].State != probes.OpenFiltered || f.RateLimitSuspect || obs[3].SilenceDoubt != "" {
		t.Errorf("silent control: state %q suspect %v doubt %q; want open|filtered without doubt", obs[3].State, f.RateLimitSuspect, obs[3].SilenceDoubt)
	}

	// With no refusal at all, silence is not doubted (the replay's bucket is never short).
	a, b := newListener(t, false), newListener(t, false)
	opt.Controls = nil
	for i, o := range ProbePorts(context.Background(), "127.0.0.1", []int{a.port, b.port}, opt) {
		if o.State != probes.OpenFiltered || o.SilenceDoubt != "" {
			t.Errorf("all silent, port %d: state %q doubt %q; want open|filtered without doubt", i, o.State, o.SilenceDoubt)
		}
	}
}

// The deadline bounds the run: a port whose turn and wait would pass it is
// never sent, and says so.
func TestProbePortsDeadline(t *testing.T) {
	first, second, third := newListener(t, true), newListener(t, false), newListener(t, false)
	opt := Options{Wait: 100 * time.Millisecond, Burst: 1, Pace: time.Hour}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	obs := ProbePorts(ctx, "127.0.0.1", []int{first.port, second.port, third.port}, opt)
	if obs[0].State != probes.Open {
		t.Errorf("first port: state %q; want open", obs[0].State)
	}
	for i, o := range obs[1:] {
		if o.Error != probes.ErrCanceled || o.State != probes.NoState || o.Attempts != 0 {
			t.Errorf("port %d: state %q error %q attempts %d; want not probed", i+1, o.State, o.Error, o.Attempts)
		}
		if o.Outcome != "not probed before the run's deadline" {
			t.Errorf("port %d: outcome %q; want %q", i+1, o.Outcome, "not probed before the run's deadline")
		}
		if f := facts(t, o); f.Answer != AnswerNotSent {
			t.Errorf("port %d: answer %q; want %q", i+1, f.Answer, AnswerNotSent)
		}
	}
	if n := len(second.received(false)) + len(third.received(false)); n != 0 {
		t.Errorf("unprobed ports got %d datagrams; want 0", n)
	}
	if n := len(first.received(true)); n != 1 {
		t.Errorf("first port got %d datagrams; want 1", n)
	}
}

// A run already stopped sends nothing at all.
func TestProbePortsStopped(t *testing.T) {
	sink := newListener(t, false)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	obs := ProbePorts(ctx, "127.0.0.1", []int{sink.port}, fast)
	if obs[0].Error != probes.ErrCanceled || obs[0].Outcome != "not probed: the run was stopped first" {
		t.Errorf("error %q outcome %q; want canceled, not probed", obs[0].Error, obs[0].Outcome)
	}
	if n := len(sink.received(false)); n != 0 {
		t.Errorf("got %d datagrams; want 0", n)
	}
}

// Stopping the run during a port's wait leaves its silence unproven.
func TestProbePortsStoppedDuringWait(t *testing.T) {
	sink := newListener(t, false)
	ctx, cancel := context.WithCancel(context.Background())
	opt := Options{Wait: time.Hour, Burst: 1, Pace: time.Hour}
	go func() {
		// Cancel once the packet has arrived, so it was surely sent.
		buf := make([]byte, 2048)
		_ = sink.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		if _, _, err := sink.conn.ReadFromUDP(buf); err == nil {
			sink.got = append(sink.got, buf)
		}
		cancel()
	}()
	obs := ProbePorts(ctx, "127.0.0.1", []int{sink.port}, opt)
	if obs[0].Error != probes.ErrCanceled || obs[0].State != probes.NoState || facts(t, obs[0]).Answer != AnswerUnfinished {
		t.Errorf("state %q error %q answer %q; want canceled and unfinished, not silence", obs[0].State, obs[0].Error, facts(t, obs[0]).Answer)
	}
	if obs[0].Attempts != 1 {
		t.Errorf("attempts %d; want 1: the packet was sent", obs[0].Attempts)
	}
}

func TestProbePortsNone(t *testing.T) {
	if obs := ProbePorts(context.Background(), "127.0.0.1", nil, fast); len(obs) != 0 {
		t.Errorf("%d observations for no ports; want 0", len(obs))
	}
}

// A number that is not a port is refused, not wrapped into another port.
func TestProbePortsBadPort(t *testing.T) {
	sink := newListener(t, false)
	obs := ProbePorts(context.Background(), "127.0.0.1", []int{sink.port + 65536, 0}, fast)
	for i, o := range obs {
		if o.Error != probes.ErrInternal || o.Attempts != 0 || facts(t, o).Answer != AnswerError {
			t.Errorf("port %d: error %q attempts %d; want internal, nothing sent", i, o.Error, o.Attempts)
		}
	}
	if n := len(sink.received(false)); n != 0 {
		t.Errorf("a wrapped port number reached port %d: %d datagrams; want 0", sink.port, n)
	}
}

// The controls go first, outside the burst: with a burst of 2 and a pace
// that never comes, both controls and the first 2 in-range ports are sent,
// and no other. Counted from what the listeners received, not from time.
func TestProbePortsControlsFirst(t *testing.T) {
	var in []*listener
	for range 4 {
		in = append(in, newListener(t, false))
	}
	c1, c2 := newListener(t, false), newListener(t, false)
	opt := Options{Wait: 100 * time.Millisecond, Burst: 2, Pace: time.Hour, Controls: []int{c1.port, c2.port}}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ports := []int{in[0].port, in[1].port, in[2].port, in[3].port, c1.port, c2.port}
	obs := ProbePorts(ctx, "127.0.0.1", ports, opt)
	for i, l := range []*listener{c1, c2} {
		if n := len(l.received(false)); n != 1 {
			t.Errorf("control %d received %d packets; want 1 (controls go first)", i, n)
		}
	}
	for i, l := range in {
		want := 0
		if i < opt.Burst {
			want = 1
		}
		if n := len(l.received(false)); n != want {
			t.Errorf("in-range port %d received %d packets; want %d", i, n, want)
		}
		if sent := facts(t, obs[i]).Answer != AnswerNotSent; sent != (want == 1) {
			t.Errorf("in-range port %d: answer %q; sent %v, want %v", i, facts(t, obs[i]).Answer, sent, want == 1)
		}
	}
	// The controls were sent before any in-range port.
	for _, c := range obs[4:] {
		for _, r := range obs[:opt.Burst] {
			if facts(t, c).SentAfter > facts(t, r).SentAfter {
				t.Errorf("a control was sent at %v, after an in-range port at %v", facts(t, c).SentAfter, facts(t, r).SentAfter)
			}
		}
	}
}

// The default burst is Linux's bucket: six in-range ports at once, the
// seventh only after a pace (which here never comes).
func TestProbePortsDefaultBurst(t *testing.T) {
	if DefaultBurst != LinuxRateLimit.Burst {
		t.Errorf("DefaultBurst %d; want Linux's bucket of %d", DefaultBurst, LinuxRateLimit.Burst)
	}
	ls, ports := listeners(t, 8)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ProbePorts(ctx, "127.0.0.1", ports, Options{Wait: 100 * time.Millisecond, Pace: time.Hour})
	got := 0
	for _, l := range ls {
		got += len(l.received(false))
	}
	if got != 6 {
		t.Errorf("%d ports received a packet; want the default burst of 6", got)
	}
}

// Once the host has answered, the last send is listened for a few measured
// round trips (at least MinFinalWait), not the whole Wait; a silent port
// then says how long it was heard. A host that never answered gets the
// whole Wait.
func TestProbePortsFinalWaitFromRoundTrips(t *testing.T) {
	silent := newListener(t, false)
	opt := Options{Wait: time.Hour, Burst: 2, Pace: time.Millisecond, RateLimit: RateLimit{Burst: 1, Interval: -1}}
	opt.Controls = []int{silent.port} // a silent control: no doubt from the refusal beside it
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Hour)
	defer cancel()
	obs := ProbePorts(ctx, "127.0.0.1", []int{closedPort(t), silent.port}, opt)
	if obs[0].State != probes.Closed {
		t.Fatalf("closed port: state %q", obs[0].State)
	}
	if o := obs[1]; o.State != probes.OpenFiltered || !strings.Contains(o.Outcome, "measured round trips") || o.Duration >= time.Hour {
		t.Errorf("silent control: state %q outcome %q after %v; want open|filtered, heard for a few round trips", o.State, o.Outcome, o.Duration)
	}

	// No answer at all: the whole wait, and the plain outcome.
	a := newListener(t, false)
	for _, o := range ProbePorts(context.Background(), "127.0.0.1", []int{a.port}, Options{Wait: 100 * time.Millisecond}) {
		if o.Outcome != "no reply to 1 send" || o.Duration < 100*time.Millisecond {
			t.Errorf("all silent: outcome %q after %v; want the plain outcome after the whole wait", o.Outcome, o.Duration)
		}
	}
}

// A host whose firewall drops the whole range (the API server's removed RTP
// range) sends no ICMP error at all: its silence is not doubtful, even with
// the controls and a full burst sent at once, more sends than the bucket
// holds. Had the controls been refused, they would have spent the bucket,
// and the burst's last silences would be doubtful.
func TestProbePortsSilentHostNoDoubt(t *testing.T) {
	rl := RateLimit{Burst: 6, Interval: time.Hour} // no refill within the test
	var ports []int
	for range 6 {
		ports = append(ports, newListener(t, false).port)
	}
	c1, c2 := newListener(t, false), newListener(t, false)
	opt := Options{Wait: 100 * time.Millisecond, Burst: 6, Pace: time.Hour, RateLimit: rl, Controls: []int{c1.port, c2.port}}
	obs := ProbePorts(context.Background(), "127.0.0.1", append(ports, c1.port, c2.port), opt)
	for i, o := range obs {
		if f := facts(t, o); f.Answer != AnswerSilence || f.RateLimitSuspect || o.SilenceDoubt != "" {
			t.Errorf("port %d: answer %q suspect %v doubt %q; want silence without doubt", i, f.Answer, f.RateLimitSuspect, o.SilenceDoubt)
		}
	}

	// The same sends with both controls refused: the controls spend two of
	// the six tokens, and the burst's last two silences are doubtful.
	opt.Controls = []int{closedPort(t), closedPort(t)}
	var fresh []int
	for range 6 {
		fresh = append(fresh, newListener(t, false).port)
	}
	obs = ProbePorts(context.Background(), "127.0.0.1", append(fresh, opt.Controls...), opt)
	for i, o := range obs[:6] {
		want := i >= 4
		if f := facts(t, o); f.RateLimitSuspect != want || (o.SilenceDoubt != "") != want {
			t.Errorf("in-range port %d (budget %v): suspect %v doubt %q; want suspect %v", i, f.ICMPBudget, f.RateLimitSuspect, o.SilenceDoubt, want)
		}
	}
}

// flaky is a loopback port that swallows its first packet and is closed
// after it, as a closed port looks when its first ICMP error is lost.
func flaky(t *testing.T) int {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		buf := make([]byte, 2048)
		_, _, _ = c.ReadFromUDP(buf)
		c.Close()
	}()
	t.Cleanup(func() { c.Close() })
	return c.LocalAddr().(*net.UDPAddr).Port
}

// Paced by the live budget, a silent in-range port beside refused ones
// gets a second packet between two brackets (refused ports sent again).
// Five ports silent twice with their brackets refused, on a path that lost
// nothing, are more than loss explains (even taken at an upper bound): a
// filter's silence, no doubt left, so a reachable range fails on them. No
// port gets a third packet.
func TestSecondPacketDecides(t *testing.T) {
	var ports []int
	var droppers []*listener
	for i := range 15 {
		if i%3 == 1 {
			d := newListener(t, false)
			droppers = append(droppers, d)
			ports = append(ports, d.port)
			continue
		}
		ports = append(ports, closedPort(t))
	}
	obs := ProbePorts(context.Background(), "127.0.0.1", ports, unlimited)
	for i, o := range obs {
		if i%3 != 1 {
			continue
		}
		if o.State != probes.OpenFiltered || o.SilenceDoubt != "" || o.Attempts != 2 || facts(t, o).Second == nil {
			t.Errorf("dropping port %d: state %q doubt %q attempts %d; want open|filtered after 2 packets, no doubt", i, o.State, o.SilenceDoubt, o.Attempts)
		}
	}
	for i, d := range droppers {
		if got := len(d.received(false)); got != 2 {
			t.Errorf("dropping port %d got %d packets; want 2", i, got)
		}
	}
	brackets := 0
	for i, o := range obs {
		f := facts(t, o)
		if f.Second != nil && f.Second.Bracket {
			brackets++
			if f.Second.Answer != AnswerPortUnreachable || o.State != probes.Closed || o.Attempts != 2 {
				t.Errorf("bracket %d: second answer %q, state %q, attempts %d; want refused, closed, 2", i, f.Second.Answer, o.State, o.Attempts)
			}
		}
	}
	if brackets != len(droppers)+1 {
		t.Errorf("%d brackets sent; want one before and one after each of the %d silent ports", brackets, len(droppers))
	}
}

// A port whose first packet went unanswered and whose second was refused
// is closed: a lost answer, which measures the path's loss. A port silent
// twice beside it is then what loss explains, and keeps a doubt naming it.
func TestSecondPacketLossExplains(t *testing.T) {
	dropper := newListener(t, false)
	late := flaky(t)
	ports := []int{closedPort(t), dropper.port, closedPort(t), late, closedPort(t)}
	obs := ProbePorts(context.Background(), "127.0.0.1", ports, unlimited)
	if o := obs[3]; o.State != probes.Closed || o.Attempts != 2 || !strings.Contains(o.Outcome, "second packet") {
		t.Errorf("port refused to its second packet: state %q attempts %d outcome %q; want closed after 2", o.State, o.Attempts, o.Outcome)
	}
	// Seven packets went to ports shown closed: one to each of the three
	// brackets' ports, and their brackets, and the late port's first,
	// which was lost.
	if o := obs[1]; o.State != probes.OpenFiltered || !strings.HasPrefix(o.SilenceDoubt, "the path lost 1 of 7 packets") || !strings.Contains(o.SilenceDoubt, "loss alone") {
		t.Errorf("dropping port: state %q doubt %q; want open|filtered, doubtful by the measured loss of 1 in 7", o.State, o.SilenceDoubt)
	}
}

// unlimited paces by the live budget with no ICMP limit assumed: loopback
// has none.
var unlimited = Options{Wait: 200 * time.Millisecond, RateLimit: RateLimit{Burst: 6, Interval: -1}}

// block binds n consecutive loopback UDP ports below Linux's ephemeral
// range (so no socket of this process is given one meanwhile) and returns
// the first with the sockets holding them; the caller closes the ones
// that stand for closed ports.
func block(t *testing.T, n int) (int, []*net.UDPConn) {
	t.Helper()
	for try := 0; try < 50; try++ {
		base := 20000 + rand.IntN(10000)
		var conns []*net.UDPConn
		for i := range n {
			c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: base + i})
			if err != nil {
				break
			}
			conns = append(conns, c)
		}
		if len(conns) == n {
			t.Cleanup(func() {
				for _, c := range conns {
					c.Close()
				}
			})
			return base, conns
		}
		for _, c := range conns {
			c.Close()
		}
	}
	t.Fatalf("no %d consecutive free UDP ports on loopback", n)
	return 0, nil
}

// count drains c and returns how many datagrams had reached it.
func count(c *net.UDPConn) int {
	buf := make([]byte, 2048)
	n := 0
	for {
		_ = c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		if _, _, err := c.ReadFromUDP(buf); err != nil {
			return n
		}
		n++
	}
}

// A narrowed range whose sample holds a single refused port (the range's
// low end, say, when only a short block is let in): that port cannot be
// both brackets, so its neighbour, outside the sample, is sent once as the
// first and the refused port again as the second. The eight silent ports
// get their second packet between them and are decided, more than the
// loss bound of three closed-port packets explains: no doubt left.
func TestSecondPacketNeighbourBracket(t *testing.T) {
	base, conns := block(t, 10)
	conns[0].Close() // the sample's one refused port
	conns[1].Close() // its neighbour, not in the sample
	ports := []int{base}
	for i := 2; i < 10; i++ {
		ports = append(ports, base+i) // silent: bound, never read
	}
	obs := ProbePorts(context.Background(), "127.0.0.1", ports, unlimited)
	r := facts(t, obs[0])
	if obs[0].State != probes.Closed || r.Second == nil || !r.Second.Bracket || r.Second.Answer != AnswerPortUnreachable || obs[0].Attempts != 2 {
		t.Errorf("refused port: state %q attempts %d second %+v; want closed, refused again as a bracket", obs[0].State, obs[0].Attempts, r.Second)
	}
	if len(r.Neighbours) != 1 || r.Neighbours[0].Port != base+1 || r.Neighbours[0].Answer != AnswerPortUnreachable {
		t.Errorf("neighbours %+v; want one, port %d, refused", r.Neighbours, base+1)
	}
	for i, o := range obs[1:] {
		if o.State != probes.OpenFiltered || o.SilenceDoubt != "" || o.Attempts != 2 {
			t.Errorf("silent port %d: state %q doubt %q attempts %d; want open|filtered after 2 packets, no doubt", ports[i+1], o.State, o.SilenceDoubt, o.Attempts)
		}
		if got := count(conns[i+2]); got != 2 {
			t.Errorf("silent port %d got %d packets; want 2", ports[i+1], got)
		}
	}
}

// When the single refused port's neighbours are silent too (a block edge
// right beside it, or loss), there is no first bracket: the silent ports
// get no second packet and keep their doubt, and each neighbour got one
// packet, no more than two neighbours tried (a third, base+3, was free).
func TestSecondPacketNeighbourSilent(t *testing.T) {
	base, conns := block(t, 8)
	conns[0].Close()
	ports := []int{base}
	for i := 4; i < 8; i++ {
		ports = append(ports, base+i)
	}
	obs := ProbePorts(context.Background(), "127.0.0.1", ports, unlimited)
	r := facts(t, obs[0])
	if len(r.Neighbours) != 2 || r.Neighbours[0].Port != base+1 || r.Neighbours[1].Port != base+2 {
		t.Errorf("neighbours %+v; want ports %d and %d tried", r.Neighbours, base+1, base+2)
	}
	for _, n := range r.Neighbours {
		if n.Answer != AnswerSilence {
			t.Errorf("neighbour %d: %q; want silence", n.Port, n.Answer)
		}
	}
	for i := 1; i <= 3; i++ {
		if got, want := count(conns[i]), min(1, 3-i); got != want {
			t.Errorf("port %d beside the refused one got %d packets; want %d", base+i, got, want)
		}
	}
	for i, o := range obs[1:] {
		if o.SilenceDoubt == "" || o.Attempts != 1 {
			t.Errorf("silent port %d: doubt %q attempts %d; want the doubt kept after 1 packet", ports[i+1], o.SilenceDoubt, o.Attempts)
		}
	}
}

// The zero Options are the defaults: a live budget under Linux's limit,
// and the default wait. Both ports are probed and told apart.
func TestProbePortsZeroOptions(t *testing.T) {
	echo := newListener(t, true)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	obs := ProbePorts(ctx, "127.0.0.1", []int{echo.port, closedPort(t)}, Options{})
	if obs[0].State != probes.Open || obs[1].State != probes.Closed {
		t.Errorf("states %q (%s), %q (%s); want open and closed", obs[0].State, obs[0].Outcome, obs[1].State, obs[1].Outcome)
	}
}

// Paced by the live budget, the limit given is the one the sends keep to:
// a bucket of one token, earned back in an hour, lets one refused port be
// sent and no other before the deadline.
func TestProbePortsLiveKeepsTheLimitGiven(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	opt := Options{Wait: 200 * time.Millisecond, RateLimit: RateLimit{Burst: 1, Interval: time.Hour}}
	obs := ProbePorts(ctx, "127.0.0.1", []int{closedPort(t), closedPort(t)}, opt)
	if obs[0].State != probes.Closed {
		t.Errorf("first port: state %q (%s); want closed", obs[0].State, obs[0].Outcome)
	}
	if f := facts(t, obs[1]); f.Answer != AnswerNotSent || obs[1].Error != probes.ErrCanceled {
		t.Errorf("second port: answer %q error %q (%s); want not sent: the one token was spent", f.Answer, obs[1].Error, obs[1].Outcome)
	}
}

// Burst set and Pace left zero paces by DefaultPace, a second: with a
// deadline under that, the port after the burst is not sent.
func TestProbePortsDefaultPace(t *testing.T) {
	first, second := newListener(t, false), newListener(t, false)
	ctx, cancel := context.WithTimeout(context.Background(), 800*time.Millisecond)
	defer cancel()
	obs := ProbePorts(ctx, "127.0.0.1", []int{first.port, second.port}, Options{Wait: 100 * time.Millisecond, Burst: 1})
	if f := facts(t, obs[0]); f.Answer != AnswerSilence {
		t.Errorf("first port: answer %q; want silence", f.Answer)
	}
	if f := facts(t, obs[1]); f.Answer != AnswerNotSent || len(second.received(false)) != 0 {
		t.Errorf("second port: answer %q, %d datagrams; want not sent before the default pace", f.Answer, len(second.received(false)))
	}
}

// A deadline nearer than one wait still gets the burst sent, heard for
// half the time left, rather than nothing sent at all.
func TestProbePortsDeadlineShorterThanWait(t *testing.T) {
	sink := newListener(t, false)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	obs := ProbePorts(ctx, "127.0.0.1", []int{sink.port}, Options{Wait: time.Hour, Burst: 1, Pace: time.Hour})
	if f := facts(t, obs[0]); f.Answer != AnswerSilence || obs[0].State != probes.OpenFiltered || len(sink.received(false)) != 1 {
		t.Errorf("answer %q state %q (%s); want the packet sent and its silence heard out", f.Answer, obs[0].State, obs[0].Outcome)
	}
}

// After the burst, the fixed schedule sends one in-range port per Pace
// from the start: a deadline that fits the schedule gets every port sent.
// A port that could not be sent (not a port number) keeps its turn, so
// the one after it is not sent sooner than its own.
func TestProbePortsFixedSchedule(t *testing.T) {
	ls, ports := listeners(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	opt := Options{Wait: 100 * time.Millisecond, Burst: 1, Pace: 400 * time.Millisecond}
	for i, o := range ProbePorts(ctx, "127.0.0.1", ports, opt) {
		if f := facts(t, o); f.Answer != AnswerSilence || len(ls[i].received(false)) != 1 {
			t.Errorf("port %d: answer %q (%s); want sent on its turn (0.4 s apart) before the deadline", i, f.Answer, o.Outcome)
		}
	}

	// Turns at 0, 1 s (not a port) and 2 s, with a deadline at 1.6 s: the
	// third port's turn never comes.
	a, b := newListener(t, false), newListener(t, false)
	ctx, cancel = context.WithTimeout(context.Background(), 1600*time.Millisecond)
	defer cancel()
	opt.Pace = time.Second
	obs := ProbePorts(ctx, "127.0.0.1", []int{a.port, 0, b.port}, opt)
	if f := facts(t, obs[1]); f.Answer != AnswerError {
		t.Errorf("port 0: answer %q; want the prober's error", f.Answer)
	}
	if f := facts(t, obs[2]); f.Answer != AnswerNotSent || len(b.received(false)) != 0 {
		t.Errorf("port after the bad one: answer %q; want not sent: its turn (2 s) is past the deadline", f.Answer)
	}
}

// 1 and 65535 are ports: sent, not refused as numbers.
func TestProbePortsRangeEdges(t *testing.T) {
	obs := ProbePorts(context.Background(), "127.0.0.1", []int{1, 65535}, fast)
	for i, o := range obs {
		if f := facts(t, o); f.Answer == AnswerError || f.Answer == AnswerNotSent || o.Attempts != 1 {
			t.Errorf("port %d: answer %q attempts %d (%s); want it sent", []int{1, 65535}[i], f.Answer, o.Attempts, o.Outcome)
		}
	}
}

// listeners are n loopback UDP listeners that answer nothing, and their
// ports.
func listeners(t *testing.T, n int) ([]*listener, []int) {
	t.Helper()
	var ls []*listener
	var ports []int
	for range n {
		l := newListener(t, false)
		ls, ports = append(ls, l), append(ports, l.port)
	}
	return ls, ports
}

// delayedEcho is a loopback port that echoes each datagram after d: a peer
// on a slow path.
func delayedEcho(t *testing.T, d time.Duration) int {
	t.Helper()
	l := newListener(t, false)
	go func() {
		buf := make([]byte, 2048)
		for {
			n, from, err := l.conn.ReadFromUDP(buf)
			if err != nil {
				return
			}
			b := append([]byte{}, buf[:n]...)
			time.AfterFunc(d, func() { _, _ = l.conn.WriteToUDP(b, from) })
		}
	}()
	return l.port
}

// The final wait is RTTFactor times the slowest measured round trip: on a
// path whose first answer took 200 ms, an answer 500 ms after the send is
// still heard (the wait is 800 ms), not taken for silence.
func TestProbePortsFinalWaitCoversRoundTrips(t *testing.T) {
	ports := []int{delayedEcho(t, 200*time.Millisecond), delayedEcho(t, 500*time.Millisecond)}
	opt := Options{Wait: 5 * time.Second, Burst: 2, Pace: time.Hour}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for i, o := range ProbePorts(ctx, "127.0.0.1", ports, opt) {
		if o.State != probes.Open {
			t.Errorf("port %d: state %q (%s); want open: its answer came within 4 round trips", i, o.State, o.Outcome)
		}
	}
}

// A host name is looked up once and its address probed.
func TestProbePortsByName(t *testing.T) {
	echo := newListener(t, true)
	obs := ProbePorts(context.Background(), "localhost", []int{echo.port, closedPort(t)}, fast)
	if obs[0].State != probes.Open || obs[1].State != probes.Closed {
		t.Errorf("states %q (%s), %q (%s); want open, closed", obs[0].State, obs[0].Outcome, obs[1].State, obs[1].Outcome)
	}
}

// When the refused ports, sent again as brackets, are all silent (the
// host's errors were limited or lost by then), no bracket opens: the
// silent ports get no second packet and keep their doubt. The refused
// ports are bound (and never read) once the first pass is out, which the
// last port's packet arriving shows; the second pass waits at least
// MinFinalWait after it.
func TestSecondPacketBracketsSilent(t *testing.T) {
	a, b := closedPort(t), closedPort(t)
	dropper, last := newListener(t, false), newListener(t, false)
	bound := make(chan error, 1)
	go func() {
		buf := make([]byte, 2048)
		_ = last.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		if _, _, err := last.conn.ReadFromUDP(buf); err != nil {
			bound <- err
			return
		}
		for _, p := range []int{a, b} {
			c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: p})
			if err != nil {
				bound <- err
				return
			}
			t.Cleanup(func() { c.Close() })
		}
		bound <- nil
	}()
	obs := ProbePorts(context.Background(), "127.0.0.1", []int{a, b, dropper.port, last.port}, unlimited)
	if err := <-bound; err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		f := facts(t, obs[i])
		if obs[i].State != probes.Closed || f.Second == nil || !f.Second.Bracket || f.Second.Answer != AnswerSilence {
			t.Fatalf("refused port %d: state %q second %+v; want closed, its bracket silent", i, obs[i].State, f.Second)
		}
	}
	for i, o := range obs[2:] {
		if o.State != probes.OpenFiltered || o.SilenceDoubt == "" || o.Attempts != 1 || facts(t, o).Second != nil {
			t.Errorf("silent port %d: state %q doubt %q attempts %d; want open|filtered, the doubt kept after 1 packet", i, o.State, o.SilenceDoubt, o.Attempts)
		}
	}
	if n := count(dropper.conn); n != 1 {
		t.Errorf("silent port got %d packets; want 1", n)
	}
}

// A name that does not resolve is the prober's error, and nothing is sent
// anywhere. (Go's resolver asks no DNS server about .onion, RFC 7686.)
func TestProbePortsNameDoesNotResolve(t *testing.T) {
	sink := newListener(t, false)
	obs := ProbePorts(context.Background(), "nowhere.onion", []int{sink.port}, fast)
	if f := facts(t, obs[0]); f.Answer != AnswerError || obs[0].Error == "" {
		t.Errorf("answer %q error %q (%s); want the lookup's error", f.Answer, obs[0].Error, obs[0].Outcome)
	}
	if n := len(sink.received(false)); n != 0 {
		t.Errorf("%d datagrams reached the local host; want none", n)
	}
}

// Two silent ports beside the sample's one refused port: its neighbour
// and its bracket are refused, and the two silences are decided, but
// three closed-port packets do not rule out loss (at the upper bound, 3
// lost of 6). The doubt says what the path showed: 0 of 3 lost.
func TestSecondPacketNeighbourCounts(t *testing.T) {
	base, conns := block(t, 4)
	conns[0].Close() // the sample's one refused port
	conns[1].Close() // its neighbour
	obs := ProbePorts(context.Background(), "127.0.0.1", []int{base, base + 2, base + 3}, unlimited)
	if r := facts(t, obs[0]); len(r.Neighbours) != 1 || r.Neighbours[0].Answer != AnswerPortUnreachable {
		t.Fatalf("neighbours %+v; want one, refused", r.Neighbours)
	}
	for i, o := range obs[1:] {
		// Loss at 3 of 6 strikes both packets of a port at 1 in 4; two
		// or three of three ports in one block: 0.094 + 0.016.
		const doubt = "the path lost 0 of 3 packets to ports of this range shown closed, and loss alone leaves 2 of 3 ports silent twice (as they lie in the range) with probability 0.11"
		if o.State != probes.OpenFiltered || o.Attempts != 2 || o.SilenceDoubt != doubt {
			t.Errorf("silent port %d: state %q attempts %d doubt %q; want open|filtered after 2 packets, doubtful by a path that lost 0 of 3", i, o.State, o.Attempts, o.SilenceDoubt)
		}
	}
}

// A path that lost three packets to closed ports (three ports silent to
// their first packet and refused to their second) explains a port silent
// twice: its silence stays in doubt, naming the loss.
func TestSecondPacketLossOfThree(t *testing.T) {
	dropper := newListener(t, false)
	ports := []int{closedPort(t), dropper.port, flaky(t), flaky(t), flaky(t), closedPort(t), closedPort(t)}
	obs := ProbePorts(context.Background(), "127.0.0.1", ports, unlimited)
	for _, i := range []int{2, 3, 4} {
		if o := obs[i]; o.State != probes.Closed || o.Attempts != 2 {
			t.Fatalf("late port %d: state %q attempts %d (%s); want closed after 2", i, o.State, o.Attempts, o.Outcome)
		}
	}
	if o := obs[1]; o.State != probes.OpenFiltered || !strings.HasPrefix(o.SilenceDoubt, "the path lost 3 of 9 packets") {
		t.Errorf("dropping port: state %q doubt %q; want open|filtered, doubtful by a path that lost 3 of 9", o.State, o.SilenceDoubt)
	}
}

// The sample's one refused port at the top of the span: its neighbour
// below is the first bracket.
func TestSecondPacketNeighbourBelow(t *testing.T) {
	base, conns := block(t, 4)
	conns[2].Close() // the neighbour, not in the sample
	conns[3].Close() // the sample's one refused port
	obs := ProbePorts(context.Background(), "127.0.0.1", []int{base, base + 1, base + 3}, unlimited)
	if r := facts(t, obs[2]); len(r.Neighbours) != 1 || r.Neighbours[0].Port != base+2 || r.Neighbours[0].Answer != AnswerPortUnreachable {
		t.Errorf("neighbours %+v; want port %d, refused", r.Neighbours, base+2)
	}
	for i, o := range obs[:2] {
		if o.Attempts != 2 || count(conns[i]) != 2 {
			t.Errorf("silent port %d: attempts %d; want a second packet between the brackets", base+i, o.Attempts)
		}
	}
}

// Neighbours are sought only inside the span of the sampled ports: with
// one free port there, silent, one neighbour is tried, and the silent
// port keeps its doubt.
func TestSecondPacketNeighbourSpan(t *testing.T) {
	base, conns := block(t, 3)
	conns[2].Close() // the sample's one refused port; base+1 is silent
	obs := ProbePorts(context.Background(), "127.0.0.1", []int{base, base + 2}, unlimited)
	if r := facts(t, obs[1]); len(r.Neighbours) != 1 || r.Neighbours[0].Port != base+1 || r.Neighbours[0].Answer != AnswerSilence {
		t.Errorf("neighbours %+v; want port %d alone, silent", r.Neighbours, base+1)
	}
	if o := obs[0]; o.Attempts != 1 || o.SilenceDoubt == "" {
		t.Errorf("silent port: attempts %d doubt %q; want the doubt kept after 1 packet", o.Attempts, o.SilenceDoubt)
	}
}

// Five ports silent twice, in one block of the sample beside its two
// refused ports, on a path that lost nothing: a block is what a filter
// leaves, and loss rarely strikes one (under 1 in 1000 at the loss's upper
// bound, where five such silences scattered among the sample would be
// three times as likely): no doubt left, with the block below the refused
// ports or above them.
func TestSecondPacketBlockOfSilences(t *testing.T) {
	for _, refused := range [][]int{{5, 6}, {0, 1}} {
		base, conns := block(t, 7)
		var ports []int
		for i := range 7 {
			ports = append(ports, base+i)
		}
		for _, i := range refused {
			conns[i].Close()
		}
		obs := ProbePorts(context.Background(), "127.0.0.1", ports, unlimited)
		for i, o := range obs {
			if slices.Contains(refused, i) {
				continue
			}
			if o.State != probes.OpenFiltered || o.Attempts != 2 || o.SilenceDoubt != "" {
				t.Errorf("refused %v, silent port %d: state %q attempts %d doubt %q; want open|filtered after 2 packets, no doubt", refused, i, o.State, o.Attempts, o.SilenceDoubt)
			}
		}
	}
}

// Two ports silent twice with a refused port between them (scattered, not
// a block) on a path that lost nothing of three packets: at the loss's
// upper bound (3 of 6, both packets of a port at 1 in 4), two or three of
// three ports silent twice is P = 3·(1/4)²·(3/4) + (1/4)³ = 0.16, which
// loss explains: both stay in doubt, saying so.
func TestSecondPacketScatteredSilences(t *testing.T) {
	base, conns := block(t, 5)
	conns[2].Close() // the sample's one refused port
	conns[3].Close() // its neighbour, the first bracket
	obs := ProbePorts(context.Background(), "127.0.0.1", []int{base, base + 2, base + 4}, unlimited)
	const doubt = "the path lost 0 of 3 packets to ports of this range shown closed, and loss alone leaves 2 of 3 ports silent twice (as they lie in the range) with probability 0.16"
	for _, i := range []int{0, 2} {
		if o := obs[i]; o.State != probes.OpenFiltered || o.Attempts != 2 || o.SilenceDoubt != doubt {
			t.Errorf("silent port %d: state %q attempts %d doubt %q; want open|filtered after 2 packets, doubt %q", i, o.State, o.Attempts, o.SilenceDoubt, doubt)
		}
	}
	if n := count(conns[1]); n != 0 {
		t.Errorf("port %d, beside the refused one below, got %d packets; want 0 (the one above was refused first)", base+1, n)
	}
}

// The second pass hears each packet for the host's answer window (a few
// round trips, at least MinFinalWait), not the whole Wait: with a deadline
// two Waits away, every silent port gets its second packet.
func TestSecondPacketHeardForTheWindow(t *testing.T) {
	ports := []int{closedPort(t), closedPort(t)}
	for range 3 {
		ports = append(ports, newListener(t, false).port)
	}
	opt := unlimited
	opt.Wait = 2 * time.Second
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Second)
	defer cancel()
	obs := ProbePorts(ctx, "127.0.0.1", ports, opt)
	for i, o := range obs[2:] {
		if o.Attempts != 2 {
			t.Errorf("silent port %d: %d attempts (%s); want 2", i, o.Attempts, o.Outcome)
		}
	}
}

// No second packet leaves once its wait no longer fits before the run's
// deadline, even with tokens to spare: here the first pass leaves a tenth
// of a second of the deadline's margin, less than one wait.
func TestSecondPacketKeepsTheDeadline(t *testing.T) {
	silent := newListener(t, false)
	opt := unlimited
	opt.Wait = 2 * time.Second
	ctx, cancel := context.WithTimeout(context.Background(), 2100*time.Millisecond)
	defer cancel()
	obs := ProbePorts(ctx, "127.0.0.1", []int{closedPort(t), closedPort(t), silent.port}, opt)
	for i, o := range obs {
		if f := facts(t, o); o.Attempts != 1 || f.Second != nil {
			t.Errorf("port %d: attempts %d second %+v; want 1 packet: a second one's wait would pass the deadline", i, o.Attempts, f.Second)
		}
	}
	if n := len(silent.received(false)); n != 1 {
		t.Errorf("silent port got %d packets; want 1", n)
	}
}

// A bracket silent to its second packet is a packet the path lost: the
// next refused port closes the group, and the doubt counts the loss (1 of
// the 6 packets to the three refused ports). The middle refused port is
// bound (never read) once the first pass is out, which the last port's
// packet arriving shows.
func TestSecondPacketSilentBracketIsLoss(t *testing.T) {
	r1, r2, r3 := closedPort(t), closedPort(t), closedPort(t)
	dropper, last := newListener(t, false), newListener(t, false)
	bound := make(chan error, 1)
	go func() {
		buf := make([]byte, 2048)
		_ = last.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		if _, _, err := last.conn.ReadFromUDP(buf); err != nil {
			bound <- err
			return
		}
		c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: r2})
		if err == nil {
			t.Cleanup(func() { c.Close() })
		}
		bound <- err
	}()
	obs := ProbePorts(context.Background(), "127.0.0.1", []int{r1, r2, r3, dropper.port, last.port}, unlimited)
	if err := <-bound; err != nil {
		t.Fatal(err)
	}
	if f := facts(t, obs[1]); f.Second == nil || !f.Second.Bracket || f.Second.Answer != AnswerSilence {
		t.Fatalf("middle refused port: second %+v; want a silent bracket", f.Second)
	}
	if o := obs[3]; o.Attempts != 2 || !strings.HasPrefix(o.SilenceDoubt, "the path lost 1 of 6 packets") {
		t.Errorf("silent port: attempts %d doubt %q; want 2 packets, doubtful by a path that lost 1 of 6", o.Attempts, o.SilenceDoubt)
	}
}
