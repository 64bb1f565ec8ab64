package testutil

import (
	"net"
	"strconv"
	"sync"
	"testing"

	"github.com/pion/stun/v3"
)

// STUNResponder answers STUN Binding requests on a loopback UDP port with
// the sender's address, as a STUN server on the internet side would, and
// returns its address. It stops when the test ends.
func STUNResponder(t testing.TB) string { return stunServer(t, nil) }

// STUNSays answers STUN Binding requests on a loopback UDP port with the
// fixed address ip, as a STUN server seen through a NAT would, and returns
// its address. It stops when the test ends.
func STUNSays(t testing.TB, ip string) string {
	t.Helper()
	return stunServer(t, net.ParseIP(ip))
}

// stunServer answers with mapped, or with the sender's address when mapped
// is nil.
func stunServer(t testing.TB, mapped net.IP) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
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
			ua := from.(*net.UDPAddr)
			addr := &stun.XORMappedAddress{IP: ua.IP, Port: ua.Port}
			if mapped != nil {
				addr = &stun.XORMappedAddress{IP: mapped, Port: 40000}
			}
			res, err := stun.Build(stun.NewTransactionIDSetter(req.TransactionID), stun.BindingSuccess, addr, stun.Fingerprint)
			if err == nil {
				_, _ = pc.WriteTo(res.Raw, from)
			}
		}
	}()
	return pc.LocalAddr().String()
}

// Greeter listens on addr (such as "127.0.0.1:0") and writes greeting, if
// any, to each connection it accepts, then closes it. The listener is
// closed when the test ends; closing it sooner is harmless.
func Greeter(t testing.TB, addr, greeting string) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			if greeting != "" {
				_, _ = c.Write([]byte(greeting))
			}
			c.Close()
		}
	}()
	return ln
}

// ServeTCP listens on a loopback port and hands each connection to handle
// in a goroutine of its own, closing the connection when handle returns.
// When the test ends the listener is closed and the handlers waited for.
func ServeTCP(t testing.TB, handle func(net.Conn)) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer c.Close()
				handle(c)
			})
		}
	})
	return ln
}

// Port is the port of a listener's TCP or UDP address.
func Port(a net.Addr) int {
	switch a := a.(type) {
	case *net.TCPAddr:
		return a.Port
	case *net.UDPAddr:
		return a.Port
	}
	_, p, _ := net.SplitHostPort(a.String())
	n, _ := strconv.Atoi(p)
	return n
}

// FreePort returns a loopback TCP port that nothing listens on right now:
// one the kernel chose and that has been released again. Another process
// may take it in between.
func FreePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// FreeUDPTCPPort returns a loopback port free for both UDP and TCP, for a
// server that binds both (Kamailio, coturn).
func FreeUDPTCPPort(t testing.TB) int {
	t.Helper()
	for range 50 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		pc, err := net.ListenPacket("udp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		ln.Close()
		if err == nil {
			pc.Close()
			return port
		}
	}
	t.Fatal("no port free for both UDP and TCP")
	return 0
}
