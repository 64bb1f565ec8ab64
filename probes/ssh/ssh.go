// Package ssh is the SSH probe: one handshake with an SSH server (RFC 4253),
// carried as far as the server's list of authentication methods (RFC 4252
// §5.2), and never further. The default port is 22.
//
// It opens one TCP connection per call. It sends its identification line
// (Options.ClientVersion, "SSH-2.0-probe_<version>" unless set, so the tool
// is named in the server's logs), completes the key exchange, records the host key
// and the algorithms, then sends the one authentication request every SSH
// client sends first: method "none" for Options.User ("probe" unless set).
// The server's failure reply lists the methods it would accept from this
// client address; the probe records them and closes the connection. It never
// sends a password, a key signature or any other credential. With
// Options.StopAfterKex it closes after the host key instead, and sends no
// authentication request at all.
//
// What OpenSSH's sshd logs for one probe (checked against OpenSSH 9.2 with
// LogLevel INFO, the default; the tests assert these lines):
//
//	Invalid user probe from 192.0.2.7 port 50432
//	Connection closed by invalid user probe 192.0.2.7 port 50432 [preauth]
//
// when the user does not exist on the server, and
//
//	Connection closed by authenticating user deploy 192.0.2.7 port 50432 [preauth]
//
// when it does. With StopAfterKex it logs only
//
//	Connection closed by 192.0.2.7 port 50432 [preauth]
//
// sshd does not log the "none" request itself, nor count it against
// MaxAuthTries. What fail2ban's sshd filter counts per probe (fail2ban 1.0.2,
// checked with fail2ban-regex on the lines above):
//
//	probe                       normal (default)  extra  ddos  aggressive
//	"none" as an unknown user   1                 1      2     2
//	"none" as an existing user  0                 0      1     1
//	StopAfterKex                0                 0      1     1
//
// So set User to an account that exists (and that AllowUsers/AllowGroups
// lets in: "not listed in AllowUsers" is counted like an unknown user), and
// add the prober's address to the jail's ignoreip. On OpenSSH 9.8 and later,
// PerSourcePenalties charges each connection that ends without
// authenticating (noauth, 1s by default; refusals begin once 15s have
// accrued); list the prober in PerSourcePenaltyExemptList.
package ssh

import (
	"context"
	"errors"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"

	"probe/probes"
	"probe/probes/tcp"
)

// DefaultUser is the name sent in the "none" request when Options.User is
// empty. It is fixed, never random: a random name is what scanners send, and
// fail2ban counts it. It names the tool in the server's log.
const DefaultUser = "probe"

// DefaultClientVersion returns the identification line sent when
// Options.ClientVersion is empty: "SSH-2.0-probe_" and the tool's version
// ("SSH-2.0-probe_v1.2.3"), so that a server's debug log names the tool and
// the build. RFC 4253 §4.2 allows no '-' or whitespace in the software
// version, so any in the version are written as '.'.
func DefaultClientVersion() string {
	return "SSH-2.0-probe_" + softwareVersion(probes.Version())
}

func softwareVersion(v string) string {
	return strings.Map(func(r rune) rune {
		if r <= ' ' || r == '-' || r > '~' {
			return '.'
		}
		return r
	}, v)
}

// DefaultTimeout bounds a probe whose context has no deadline, so that a
// server that stalls after its banner cannot hold the probe forever. The
// engine always sets a deadline; this is a backstop.
const DefaultTimeout = 10 * time.Second

// maxAuthBanner is how many bytes of the server's pre-login banner are kept.
const maxAuthBanner = 1024

// DefaultHostKeyAlgorithms is the order in which host key types are asked
// for: Ed25519 first, the key modern OpenSSH prefers and the one users most
// often pin (ssh-keyscan -t ed25519), then ECDSA, then RSA (SHA-2
// signatures before SHA-1, kept last so old servers still show their key).
// Certificates are not asked for: their fingerprint is not the host key's.
var DefaultHostKeyAlgorithms = []string{
	ssh.KeyAlgoED25519,
	ssh.KeyAlgoECDSA256, ssh.KeyAlgoECDSA384, ssh.KeyAlgoECDSA521,
	ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA,
}

// Options tune one SSH probe.
type Options struct {
	// User is the name in the "none" authentication request; DefaultUser
	// when empty. Set it to an account that exists on the server (see the
	// package doc for why).
	User string
	// ClientVersion is the identification line the probe sends;
	// DefaultClientVersion() when empty.
	ClientVersion string
	// HostKeyAlgorithms orders the host key algorithms the probe accepts,
	// which decides which of the server's keys it is shown;
	// DefaultHostKeyAlgorithms when empty.
	HostKeyAlgorithms []string
	// StopAfterKex closes the connection once the host key is seen, before
	// any authentication request: no auth methods are learned, and the
	// server logs no user name.
	StopAfterKex bool
}

// Facts are what an SSH probe learned. Fields the handshake did not reach
// are empty.
type Facts struct {
	// LocalAddr is the prober's side of the connection: the source address
	// the server saw (auth methods may depend on it, through Match Address).
	LocalAddr string `json:"local_addr,omitempty"`
	// Banner is the server's identification line without CR LF
	// ("SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u10"). When the server sent
	// none, it is the first line the server did send, made printable, so
	// the report shows what answered instead.
	Banner string `json:"banner,omitempty"`
	// SSH is whether Banner is an SSH identification line.
	SSH bool `json:"ssh"`
	// Offered are the server's KEXINIT lists, in its order of preference;
	// nil when the server's KEXINIT was not read.
	Offered *Algorithms `json:"offered,omitempty"`
	// Negotiated are the algorithms agreed on; nil when the key exchange
	// did not complete.
	Negotiated *Negotiated `json:"negotiated,omitempty"`
	// HostKeyType is the type of the host key the server presented
	// ("ssh-ed25519"; "ssh-rsa" for an RSA key whatever the signature
	// algorithm).
	HostKeyType string `json:"host_key_type,omitempty"`
	// HostKeyFingerprint is that key's SHA-256 fingerprint, in the form
	// `ssh-keygen -lf` prints ("SHA256:" and 43 unpadded base64 characters).
	HostKeyFingerprint string `json:"host_key_fingerprint,omitempty"`
	// User is the name sent in the "none" request; empty when none was sent.
	User string `json:"user,omitempty"`
	// AuthQueried is whether the server answered the "none" request, so
	// that AuthMethods is known (it may be known to be empty).
	AuthQueried bool `json:"auth_queried"`
	// AuthMethods are the methods the server offered this client, sorted
	// (the order the server lists them in carries no meaning). When the
	// server accepted "none", it is ["none"].
	AuthMethods []string `json:"auth_methods,omitempty"`
	// NoneAccepted is whether the server accepted the "none" request: it
	// let the probe in without any authentication.
	NoneAccepted bool `json:"none_accepted,omitempty"`
	// AuthBanner is the pre-login message the server sent (RFC 4252 §5.4,
	// sshd's Banner), printable, cut to 1 KiB.
	AuthBanner string `json:"auth_banner,omitempty"`
}

// errStop ends the handshake on purpose, once the probe has what it came
// for.
var errStop = errors.New("probe stops here by design")

// Probe makes one SSH handshake with t within ctx's deadline.
func Probe(ctx context.Context, t probes.Target, opt Options) probes.Observation {
	user := orDefault(opt.User, DefaultUser)
	sent := "SSH handshake, then userauth \"none\" as " + strconv.Quote(user)
	if opt.StopAfterKex {
		sent = "SSH handshake up to the host key"
	}
	obs := probes.Start(sent)
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultTimeout)
		defer cancel()
	}
	addr := net.JoinHostPort(t.Host, strconv.Itoa(t.Port))
	var d net.Dialer
	raw, err := d.DialContext(ctx, t.Network("tcp"), addr)
	if err != nil {
		return obs.Settle(t, err)
	}
	defer raw.Close()
	obs = obs.Settle(t, nil)

	// x/crypto/ssh takes no context: the deadline bounds every read and
	// write, and a cancellation closes the connection under it.
	deadline, _ := ctx.Deadline()
	_ = raw.SetDeadline(deadline)
	stopClose := context.AfterFunc(ctx, func() { raw.Close() })
	defer stopClose()

	rec := &recorder{Conn: raw}
	// The callbacks run on x/crypto's goroutines; done keeps one that runs
	// late from writing to facts once they are handed over.
	var mu sync.Mutex
	done := false
	facts := &Facts{LocalAddr: raw.LocalAddr().String()}
	cfg := &ssh.ClientConfig{
		User:              user,
		ClientVersion:     orDefault(opt.ClientVersion, DefaultClientVersion()),
		HostKeyAlgorithms: opt.HostKeyAlgorithms,
		HostKeyCallback: func(_ string, _ net.Addr, key ssh.PublicKey) error {
			mu.Lock()
			defer mu.Unlock()
			if done {
				return errStop
			}
			facts.HostKeyType = key.Type()
			facts.HostKeyFingerprint = ssh.FingerprintSHA256(key)
			if opt.StopAfterKex {
				return errStop
			}
			return nil
		},
		BannerCallback: func(msg string) error {
			mu.Lock()
			defer mu.Unlock()
			if done {
				return errStop
			}
			b := []byte(msg)
			facts.AuthBanner = tcp.Printable(b[:min(len(b), maxAuthBanner)])
			return nil
		},
		AuthCallback: func(c *ssh.ClientAuthContext) (ssh.AuthMethod, error) {
			mu.Lock()
			defer mu.Unlock()
			if done {
				return nil, errStop
			}
			facts.User = user
			facts.AuthQueried = true
			facts.AuthMethods = sortedSet(c.AllowedMethods)
			facts.Negotiated = fromX(c.Algorithms)
			return nil, errStop
		},
	}
	if len(cfg.HostKeyAlgorithms) == 0 {
		cfg.HostKeyAlgorithms = DefaultHostKeyAlgorithms
	}
	conn, _, _, err := ssh.NewClientConn(rec, addr, cfg)
	if err == nil {
		// The server accepted "none": no authentication at all. Close
		// without opening a channel.
		mu.Lock()
		facts.User, facts.AuthQueried, facts.NoneAccepted = user, true, true
		facts.AuthMethods = []string{"none"}
		if m, ok := conn.(ssh.AlgorithmsConnMetadata); ok {
			facts.Negotiated = fromX(m.Algorithms())
		}
		mu.Unlock()
		conn.Close()
	}
	raw.Close() // ends x/crypto's reader before the recorder is read

	mu.Lock()
	defer mu.Unlock()
	done = true
	server, client, serverErr := rec.hellos()
	facts.SSH = server.ident != ""
	facts.Banner = server.ident
	if !facts.SSH {
		facts.Banner = server.first
	}
	facts.Offered = server.kexinit
	if facts.Negotiated == nil && facts.HostKeyType != "" && server.kexinit != nil && client.kexinit != nil {
		// Stopped at the host key: x/crypto reports no algorithms then,
		// so apply the RFC's rule to the two KEXINITs.
		facts.Negotiated, _ = negotiate(client.kexinit, server.kexinit)
	}
	obs.Facts = facts
	obs = judgeEnd(ctx, obs, facts, err, serverErr)
	obs.Duration = time.Since(obs.Started)
	return obs
}

// judgeEnd states how the handshake ended. The port is open (the TCP
// handshake completed); a handshake that did not reach its end is the
// server's failure to speak SSH, or a stop of the run.
func judgeEnd(ctx context.Context, obs probes.Observation, f *Facts, err, serverErr error) probes.Observation {
	switch {
	case err == nil:
		obs.Outcome = "the server accepted userauth \"none\": no authentication required"
		return obs
	case errors.Is(err, errStop) && f.AuthQueried:
		obs.Outcome = "auth methods offered: " + joinOrNone(f.AuthMethods)
		return obs
	case errors.Is(err, errStop):
		obs.Outcome = "host key received"
		return obs
	}
	obs.Detail = err.Error()
	if errors.Is(ctx.Err(), context.Canceled) {
		obs.Error, obs.Outcome = probes.ErrCanceled, "canceled during the SSH handshake"
		return obs
	}
	timedOut := errors.Is(ctx.Err(), context.DeadlineExceeded) || probes.Classify(err).State == probes.Filtered
	obs.Error = probes.ErrProtocol
	switch {
	case !f.SSH && f.Banner == "" && timedOut:
		obs.Outcome = "no SSH banner before the timeout"
	case !f.SSH && f.Banner == "":
		obs.Outcome = "closed by the server before any SSH banner"
	case !f.SSH:
		obs.Outcome = "not SSH: the server's first line is not an SSH identification"
	case f.Offered == nil && timedOut:
		obs.Outcome = "SSH banner received, then no key exchange before the timeout"
	case f.Offered == nil && errors.Is(serverErr, errNotKexInit):
		obs.Outcome = "SSH banner received, then a packet that is not a KEXINIT"
	case f.HostKeyType == "" && timedOut:
		obs.Outcome = "key exchange stalled before the host key"
	case f.HostKeyType == "":
		obs.Outcome = "key exchange failed"
	case timedOut:
		obs.Outcome = "no answer to userauth before the timeout"
	default:
		obs.Outcome = "SSH handshake failed after the host key"
	}
	return obs
}

func fromX(a ssh.NegotiatedAlgorithms) *Negotiated {
	// As a client, Write is client-to-server and Read server-to-client.
	return &Negotiated{
		Kex: a.KeyExchange, HostKey: a.HostKey,
		CipherC2S: a.Write.Cipher, CipherS2C: a.Read.Cipher,
		MACC2S: a.Write.MAC, MACS2C: a.Read.MAC,
	}
}

// sortedSet returns the distinct names of s, sorted; never nil.
func sortedSet(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	out = slices.Compact(out)
	if out == nil {
		out = []string{}
	}
	return out
}

func joinOrNone(s []string) string {
	if len(s) == 0 {
		return "(none)"
	}
	return strings.Join(s, ",")
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}
