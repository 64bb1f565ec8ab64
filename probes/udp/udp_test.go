package udp

import (
	"bytes"
	"context"
	"net"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"probe/probes"
)

// responder is a loopback UDP listener that answers each datagram with
// what reply returns (nothing when it returns nil), and counts datagrams.
type responder struct {
	conn *net.UDPConn
	got  atomic.Int64
}

func listen(t *testing.T) *net.UDPConn {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func startResponder(t *testing.T, reply func(req []byte, n int64) [][]byte) *responder {
	t.Helper()
	r := &responder{conn: listen(t)}
	go func() {
		buf := make([]byte, MaxDatagram)
		for {
			n, from, err := r.conn.ReadFromUDP(buf)
			if err != nil {
				return
			}
			count := r.got.Add(1)
			for _, b := range reply(buf[:n], count) {
				_, _ = r.conn.WriteToUDP(b, from)
			}
		}
	}()
	return r
}

func target(c *net.UDPConn) probes.Target {
	return probes.Target{Name: "t", Host: "127.0.0.1", Port: c.LocalAddr().(*net.UDPAddr).Port, Transport: "udp"}
}

// closedPort returns a loopback port where nothing listens.
func closedPort(t *testing.T) probes.Target {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	tg := target(c)
	c.Close()
	return tg
}

// drain counts the datagrams queued on a socket nobody read.
func drain(c *net.UDPConn) int {
	n := 0
	buf := make([]byte, MaxDatagram)
	for {
		_ = c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		if _, _, err := c.ReadFromUDP(buf); err != nil {
			return n
		}
		n++
	}
}

func fixed(b []byte) func(int) []byte { return func(int) []byte { return b } }

func TestDoOpen(t *testing.T) {
	r := startResponder(t, func(req []byte, _ int64) [][]byte { return [][]byte{append([]byte("re:"), req...)} })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	obs, reply := Do(ctx, target(r.conn), Exchange{
		Payload: fixed([]byte("hello")), Waits: []time.Duration{2 * time.Second}, Silence: probes.Filtered, Sent: "test",
	})
	if obs.State != probes.Open || obs.Error != "" {
		t.Fatalf("state %q error %q (%s); want open", obs.State, obs.Error, obs.Detail)
	}
	if !bytes.Equal(reply, []byte("re:hello")) {
		t.Errorf("reply %q; want %q", reply, "re:hello")
	}
	if obs.Attempts != 1 || r.got.Load() != 1 {
		t.Errorf("attempts %d, responder got %d; want 1 and 1", obs.Attempts, r.got.Load())
	}
	if obs.Sent != "test" {
		t.Errorf("Sent = %q; want %q", obs.Sent, "test")
	}
}

// Loopback is exempt from ICMP rate limiting, so a closed port always
// answers with a port unreachable.
func TestDoClosed(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	obs, reply := Do(ctx, closedPort(t), Exchange{
		Payload: fixed([]byte("x")), Waits: []time.Duration{2 * time.Second, 2 * time.Second}, Silence: probes.Filtered,
	})
	if obs.State != probes.Closed || obs.Outcome != "ICMP port unreachable" {
		t.Errorf("state %q outcome %q; want closed by ICMP port unreachable", obs.State, obs.Outcome)
	}
	if reply != nil || obs.Attempts != 1 {
		t.Errorf("reply %q after %d attempts; want none after 1", reply, obs.Attempts)
	}
}

// A socket that is never read is the cheapest firewall that drops: the
// caller's Silence state comes back, after every wait was spent on a send.
func TestDoSilence(t *testing.T) {
	for _, silence := range []probes.State{probes.Filtered, probes.OpenFiltered} {
		t.Run(string(silence), func(t *testing.T) {
			sink := listen(t)
			obs, _ := Do(context.Background(), target(sink), Exchange{
				Payload: fixed([]byte("x")), Waits: []time.Duration{time.Millisecond, time.Millisecond, time.Millisecond},
				Silence: silence,
			})
			if obs.State != silence || obs.Error != "" {
				t.Errorf("state %q error %q; want %q", obs.State, obs.Error, silence)
			}
			if got := drain(sink); obs.Attempts != 3 || got != 3 {
				t.Errorf("attempts %d, datagrams received %d; want 3 and 3", obs.Attempts, got)
			}
			if obs.Outcome != "no reply to 3 sends" {
				t.Errorf("outcome %q; want %q", obs.Outcome, "no reply to 3 sends")
			}
		})
	}
}

// The context's deadline cuts a long wait short; what was sent stands.
func TestDoSilenceShortContext(t *testing.T) {
	sink := listen(t)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	obs, _ := Do(ctx, target(sink), Exchange{
		Payload: fixed([]byte("x")), Waits: []time.Duration{time.Hour, time.Hour}, Silence: probes.OpenFiltered,
	})
	if obs.State != probes.OpenFiltered || obs.Attempts != 1 {
		t.Errorf("state %q after %d attempts; want open|filtered after 1", obs.State, obs.Attempts)
	}
	if got := drain(sink); got != 1 {
		t.Errorf("datagrams received %d; want 1", got)
	}
}

func TestDoAcceptRejectsStray(t *testing.T) {
	answer := func(b []byte) bool { return bytes.HasPrefix(b, []byte("ok")) }
	t.Run("stray only", func(t *testing.T) {
		r := startResponder(t, func([]byte, int64) [][]byte { return [][]byte{[]byte("stray")} })
		obs, reply := Do(context.Background(), target(r.conn), Exchange{
			Payload: fixed([]byte("q")), Accept: answer,
			Waits: []time.Duration{50 * time.Millisecond, 50 * time.Millisecond}, Silence: probes.Filtered,
		})
		if obs.State != probes.Filtered || reply != nil {
			t.Errorf("state %q reply %q; want filtered and no reply: a stray is no answer", obs.State, reply)
		}
		if obs.Attempts != 2 || r.got.Load() != 2 {
			t.Errorf("attempts %d, responder got %d; want 2 and 2", obs.Attempts, r.got.Load())
		}
	})
	t.Run("stray then answer", func(t *testing.T) {
		r := startResponder(t, func([]byte, int64) [][]byte { return [][]byte{[]byte("stray"), []byte("ok!")} })
		obs, reply := Do(context.Background(), target(r.conn), Exchange{
			Payload: fixed([]byte("q")), Accept: answer, Waits: []time.Duration{5 * time.Second}, Silence: probes.Filtered,
		})
		if obs.State != probes.Open || string(reply) != "ok!" {
			t.Errorf("state %q reply %q; want open with %q", obs.State, reply, "ok!")
		}
	})
}

// Each attempt sends what Payload returns for it.
func TestDoPayloadPerAttempt(t *testing.T) {
	sink := listen(t)
	var asked []int
	obs, _ := Do(context.Background(), target(sink), Exchange{
		Payload: func(i int) []byte { asked = append(asked, i); return []byte{byte('a' + i)} },
		Waits:   []time.Duration{time.Millisecond, time.Millisecond}, Silence: probes.Filtered,
	})
	if !slices.Equal(asked, []int{0, 1}) || obs.Attempts != 2 {
		t.Errorf("payloads asked for %v in %d attempts; want [0 1] in 2", asked, obs.Attempts)
	}
	buf := make([]byte, 8)
	var got []byte
	for range 2 {
		_ = sink.SetReadDeadline(time.Now().Add(time.Second))
		n, _, err := sink.ReadFromUDP(buf)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, buf[:n]...)
	}
	if string(got) != "ab" {
		t.Errorf("datagrams %q; want %q", got, "ab")
	}
}

// Silence proves nothing when nothing was sent.
func TestDoNothingSent(t *testing.T) {
	sink := listen(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	obs, _ := Do(ctx, target(sink), Exchange{Payload: fixed([]byte("x")), Waits: []time.Duration{time.Second}, Silence: probes.Filtered})
	if obs.State != probes.NoState || obs.Error != probes.ErrCanceled || obs.Attempts != 0 {
		t.Errorf("state %q error %q attempts %d; want no state, canceled, 0", obs.State, obs.Error, obs.Attempts)
	}
	expired, cancel2 := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel2()
	obs, _ = Do(expired, target(sink), Exchange{Payload: fixed([]byte("x")), Waits: []time.Duration{time.Second}, Silence: probes.Filtered})
	if obs.State != probes.NoState || obs.Error != probes.ErrCanceled {
		t.Errorf("expired deadline: state %q error %q; want no state, canceled", obs.State, obs.Error)
	}
	obs, _ = Do(context.Background(), target(sink), Exchange{Payload: fixed([]byte("x")), Silence: probes.Filtered})
	if obs.Error != probes.ErrInternal {
		t.Errorf("no waits: error %q; want internal", obs.Error)
	}
	if got := drain(sink); got != 0 {
		t.Errorf("datagrams received %d; want 0", got)
	}
}

func TestBackoff(t *testing.T) {
	ms := func(ds ...int) []time.Duration {
		var out []time.Duration
		for _, d := range ds {
			out = append(out, time.Duration(d)*time.Millisecond)
		}
		return out
	}
	tests := []struct {
		name          string
		t1, t2, total time.Duration
		want          []time.Duration
	}{
		{"sip defaults over 8s", 500 * time.Millisecond, 4 * time.Second, 8 * time.Second, ms(500, 1000, 2000, 4000, 500)},
		{"capped at t2", 500 * time.Millisecond, time.Second, 4 * time.Second, ms(500, 1000, 1000, 1000, 500)},
		{"total shorter than t1", 500 * time.Millisecond, 4 * time.Second, 200 * time.Millisecond, ms(200)},
		{"exact fit", 100 * time.Millisecond, time.Second, 300 * time.Millisecond, ms(100, 200)},
		{"zero total sends nothing", 500 * time.Millisecond, 4 * time.Second, 0, nil},
		{"zero total and zero t1 sends nothing", 0, 4 * time.Second, 0, nil},
		{"zero t1 sends once", 0, 4 * time.Second, 3 * time.Second, ms(3000)},
		{"t2 below t1", time.Second, 100 * time.Millisecond, 3 * time.Second, ms(1000, 1000, 1000)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Backoff(tc.t1, tc.t2, tc.total)
			if !slices.Equal(got, tc.want) {
				t.Errorf("Backoff(%v, %v, %v) = %v; want %v", tc.t1, tc.t2, tc.total, got, tc.want)
			}
		})
	}
}

// Local learns the socket's address before the payload is built, so a
// request can name it (SIP's Via); the responder sees the same address.
func TestDoLocal(t *testing.T) {
	var from atomic.Value
	r := startResponder(t, func(req []byte, _ int64) [][]byte { from.Store(string(req)); return [][]byte{[]byte("ok")} })
	var local string
	obs, _ := Do(context.Background(), target(r.conn), Exchange{
		Local:   func(a net.Addr) { local = a.String() },
		Payload: func(int) []byte { return []byte(local) },
		Waits:   []time.Duration{5 * time.Second}, Silence: probes.Filtered,
	})
	if obs.State != probes.Open {
		t.Fatalf("state %q; want open", obs.State)
	}
	if local == "" || from.Load() != local {
		t.Errorf("Local gave %q; the request carried %v; want the same, non-empty", local, from.Load())
	}
}

func TestAtMost(t *testing.T) {
	ms := func(ds ...int) []time.Duration {
		var out []time.Duration
		for _, d := range ds {
			out = append(out, time.Duration(d)*time.Millisecond)
		}
		return out
	}
	sip3s := ms(500, 1000, 1500)
	tests := []struct {
		name  string
		waits []time.Duration
		sends int
		want  []time.Duration
	}{
		{"fits already", sip3s, 3, sip3s},
		{"more sends than the schedule has", sip3s, 5, sip3s},
		{"no cap", sip3s, 0, sip3s},
		{"two sends, the last listens to the end", sip3s, 2, ms(500, 2500)},
		{"one send listens the whole time", sip3s, 1, ms(3000)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := AtMost(tc.waits, tc.sends); !slices.Equal(got, tc.want) {
				t.Errorf("AtMost(%v, %d) = %v; want %v", tc.waits, tc.sends, got, tc.want)
			}
		})
	}
	if !slices.Equal(sip3s, ms(500, 1000, 1500)) {
		t.Errorf("AtMost changed the schedule it was given: %v", sip3s)
	}
}
