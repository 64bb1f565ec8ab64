package kinds

import (
	"context"
	"net"
	"testing"
	"time"

	"probe/probes"
	"probe/probes/rtp"
)

func TestRTPSectionValidate(t *testing.T) {
	tests := []struct {
		name string
		s    RTPSection
		keys []string
	}{
		{"empty", RTPSection{}, nil},
		{"all set", RTPSection{Sample: 20, Seed: -4, Burst: 6, Pace: "1500ms"}, nil},
		{"negative sample", RTPSection{Sample: -1}, []string{"sample"}},
		{"negative burst", RTPSection{Burst: -1}, []string{"burst"}},
		{"pace not a duration", RTPSection{Pace: "1 second"}, []string{"pace"}},
		{"pace without unit", RTPSection{Pace: "1"}, []string{"pace"}},
		{"zero pace", RTPSection{Pace: "0s"}, []string{"pace"}},
		{"negative pace", RTPSection{Pace: "-1s"}, []string{"pace"}},
		{"several", RTPSection{Sample: -2, Pace: "x"}, []string{"sample", "pace"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			errs := tc.s.Validate()
			var keys []string
			for _, e := range errs {
				keys = append(keys, e.Key)
				if e.Msg == "" {
					t.Errorf("%s: empty message", e.Key)
				}
			}
			if len(keys) != len(tc.keys) {
				t.Fatalf("errors on %v; want on %v", keys, tc.keys)
			}
			for i := range keys {
				if keys[i] != tc.keys[i] {
					t.Errorf("errors on %v; want on %v", keys, tc.keys)
				}
			}
		})
	}
}

func TestRTPOptions(t *testing.T) {
	p := Params{Timeout: 3 * time.Second}
	if got := (*RTPSection)(nil).options(p); got.Wait != 3*time.Second || got.Burst != 0 || got.Pace != 0 {
		t.Errorf("no section: %+v; want the timeout as wait and defaults elsewhere", got)
	}
	got := (&RTPSection{Burst: 3, Pace: "250ms"}).options(p)
	if got.Burst != 3 || got.Pace != 250*time.Millisecond || got.Wait != 3*time.Second {
		t.Errorf("options %+v; want burst 3, pace 250ms, wait 3s", got)
	}
}

// The kind probes each host's ports together and returns the observations
// in the targets' order, across two loopback addresses.
func TestRTPRunPorts(t *testing.T) {
	k := Lookup("rtp")
	if k == nil || k.RunPorts == nil || k.Run != nil {
		t.Fatal("rtp must be registered with RunPorts only")
	}
	echo := func(ip net.IP) int {
		c, err := net.ListenUDP("udp", &net.UDPAddr{IP: ip})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		go func() {
			buf := make([]byte, 2048)
			for {
				n, from, err := c.ReadFromUDP(buf)
				if err != nil {
					return
				}
				_, _ = c.WriteToUDP(buf[:n], from)
			}
		}()
		return c.LocalAddr().(*net.UDPAddr).Port
	}
	closed := func(ip net.IP) int {
		c, err := net.ListenUDP("udp", &net.UDPAddr{IP: ip})
		if err != nil {
			t.Fatal(err)
		}
		p := c.LocalAddr().(*net.UDPAddr).Port
		c.Close()
		return p
	}
	one, two := net.IPv4(127, 0, 0, 1), net.IPv4(127, 0, 0, 2)
	ts := []probes.Target{
		{Name: "a", Host: "127.0.0.1", Port: echo(one), Transport: "udp"},
		{Name: "b", Host: "127.0.0.2", Port: closed(two), Transport: "udp"},
		{Name: "a", Host: "127.0.0.1", Port: closed(one), Transport: "udp"},
		{Name: "b", Host: "127.0.0.2", Port: echo(two), Transport: "udp"},
	}
	p := Params{Timeout: 200 * time.Millisecond, Section: &RTPSection{Burst: 1, Pace: "1ms"}}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	obs := k.RunPorts(ctx, ts, p)
	want := []probes.State{probes.Open, probes.Closed, probes.Closed, probes.Open}
	if len(obs) != len(ts) {
		t.Fatalf("%d observations for %d targets", len(obs), len(ts))
	}
	for i, o := range obs {
		if o.State != want[i] {
			t.Errorf("target %d (%s:%d): state %q (%s); want %q", i, ts[i].Host, ts[i].Port, o.State, o.Outcome, want[i])
		}
		if _, ok := o.Facts.(*rtp.Facts); !ok {
			t.Errorf("target %d: facts %T; want *rtp.Facts", i, o.Facts)
		}
	}
}
