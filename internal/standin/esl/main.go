// Command esl is a stand-in for FreeSWITCH's Event Socket (mod_event_socket)
// on port 8021, for the testbed only: no Debian package ships FreeSWITCH.
//
// It reproduces what a prober sees on the wire, not the ESL itself:
//   - a caller outside the ACL completes the TCP handshake, then gets
//     "Content-Type: text/rude-rejection" with "Access Denied, go away." and
//     a close, exactly as FreeSWITCH does;
//   - a caller inside the ACL is greeted with "Content-Type: auth/request";
//     "auth <password>" answers "+OK accepted" only when -password is set and
//     matches, otherwise "-ERR invalid" and a close.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"log"
	"net"
	"net/netip"
	"os"
	"strings"
	"time"
)

const rudeBody = "Access Denied, go away.\n"

// server holds the ACL and the password; one goroutine per connection.
type server struct {
	allow    []netip.Prefix
	password string // empty: no password is accepted
	idle     time.Duration
}

// allowed reports whether the remote address is inside the ACL.
func (s *server) allowed(addr net.Addr) bool {
	ap, err := netip.ParseAddrPort(addr.String())
	if err != nil {
		return false
	}
	ip := ap.Addr().Unmap()
	for _, p := range s.allow {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

func (s *server) serve(ln net.Listener) error {
	for {
		c, err := ln.Accept()
		if err != nil {
			return err
		}
		go s.handle(c)
	}
}

func (s *server) handle(c net.Conn) {
	defer c.Close()
	if !s.allowed(c.RemoteAddr()) {
		fmt.Fprintf(c, "Content-Type: text/rude-rejection\nContent-Length: %d\n\n%s", len(rudeBody), rudeBody)
		return
	}
	fmt.Fprint(c, "Content-Type: auth/request\n\n")
	r := bufio.NewReader(c)
	authed := false
	for {
		c.SetReadDeadline(time.Now().Add(s.idle))
		cmd, err := readCommand(r)
		if err != nil {
			return
		}
		switch {
		case !authed && strings.HasPrefix(cmd, "auth "):
			if s.password != "" && strings.TrimSpace(strings.TrimPrefix(cmd, "auth ")) == s.password {
				authed = true
				reply(c, "+OK accepted")
				continue
			}
			reply(c, "-ERR invalid")
			return
		case cmd == "exit":
			reply(c, "+OK bye")
			return
		case !authed:
			// FreeSWITCH answers anything but auth with this before login.
			reply(c, "-ERR command not found")
		default:
			reply(c, "-ERR command not found")
		}
	}
}

func reply(c net.Conn, text string) {
	fmt.Fprintf(c, "Content-Type: command/reply\nReply-Text: %s\n\n", text)
}

// readCommand reads one ESL command: lines up to an empty line.
func readCommand(r *bufio.Reader) (string, error) {
	var lines []string
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return "", err
		}
		line = strings.TrimRight(line, "\r\n")
		if line == "" {
			if len(lines) == 0 {
				continue
			}
			return strings.Join(lines, "\n"), nil
		}
		lines = append(lines, line)
	}
}

// cidrList is a repeatable flag that also takes comma-separated lists.
type cidrList []netip.Prefix

func (l *cidrList) String() string { return fmt.Sprint(*l) }
func (l *cidrList) Set(v string) error {
	for _, f := range strings.Split(v, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if !strings.Contains(f, "/") {
			a, err := netip.ParseAddr(f)
			if err != nil {
				return err
			}
			f = netip.PrefixFrom(a, a.BitLen()).String()
		}
		p, err := netip.ParsePrefix(f)
		if err != nil {
			return err
		}
		*l = append(*l, p.Masked())
	}
	return nil
}

func main() {
	var allow cidrList
	listen := flag.String("listen", "127.0.0.1:8021", "TCP address to listen on")
	password := flag.String("password", "", "password that auth accepts (empty: none)")
	flag.Var(&allow, "allow", "CIDR allowed to get auth/request (repeatable, or comma list)")
	flag.Parse()
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Fprintf(os.Stderr, "esl stand-in listening on %s, allow %v\n", ln.Addr(), allow)
	s := &server{allow: allow, password: *password, idle: 30 * time.Second}
	log.Fatal(s.serve(ln))
}
