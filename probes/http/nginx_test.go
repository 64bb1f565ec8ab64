package http

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"probe/internal/testutil"
	"probe/probes"
)

const nginxConf = `worker_processes 1;
pid {{dir}}/nginx.pid;
error_log {{dir}}/error.log notice;
events { worker_connections 64; }
http {
	access_log {{dir}}/access.log;
	client_body_temp_path {{dir}}/client_body;
	proxy_temp_path {{dir}}/proxy;
	fastcgi_temp_path {{dir}}/fastcgi;
	uwsgi_temp_path {{dir}}/uwsgi;
	scgi_temp_path {{dir}}/scgi;

	# Port 80's job in the reference deployment: send everyone to https.
	server {
		listen 127.0.0.1:{{plain}};
		server_name api.example.test;
		return 301 https://$host$request_uri;
	}

	server {
		listen 127.0.0.1:{{tls}} ssl;
		server_name api.example.test;
		ssl_certificate {{dir}}/server.pem;
		ssl_certificate_key {{dir}}/server.key;
		ssl_protocols TLSv1.2 TLSv1.3;
		add_header Strict-Transport-Security "max-age=63072000; includeSubDomains" always;
		location / { return 200 "ok\n"; }
	}
}
`

// startNginx runs Debian's nginx on two loopback ports: a redirect on
// plain, TLS with cert on tls. It returns when both accept.
func startNginx(t *testing.T, cert testutil.Leaf) (plain, tls int, dir string) {
	t.Helper()
	bin := testutil.RequireBinary(t, "nginx", "nginx", "/usr/sbin/nginx")
	dir = t.TempDir()
	// Workers may drop to another user; let them into the directory.
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	plain, tls = testutil.FreePort(t), testutil.FreePort(t)
	for name, data := range map[string][]byte{"server.pem": cert.CertPEM, "server.key": cert.KeyPEM} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	conf := strings.NewReplacer("{{dir}}", dir, "{{plain}}", strconv.Itoa(plain), "{{tls}}", strconv.Itoa(tls)).Replace(nginxConf)
	confPath := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	cmd := exec.Command(bin, "-c", confPath, "-p", dir, "-g", "daemon off;")
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGQUIT)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	})
	errorLog := func() string {
		b, _ := os.ReadFile(filepath.Join(dir, "error.log"))
		return out.String() + string(b)
	}
	// Readiness, not a timing assertion: wait until both ports accept.
	deadline := time.Now().Add(10 * time.Second)
	for _, port := range []int{plain, tls} {
		for {
			c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), time.Second)
			if err == nil {
				c.Close()
				break
			}
			select {
			case err := <-exited:
				t.Fatalf("nginx exited (%v): %s", err, errorLog())
			case <-time.After(50 * time.Millisecond):
			}
			if time.Now().After(deadline) {
				t.Fatalf("nginx did not listen on %d: %s", port, errorLog())
			}
		}
	}
	return plain, tls, dir
}

func TestAgainstNginx(t *testing.T) {
	ca := testutil.NewCA(t, "Probe Test CA", "probe tests")
	now := time.Now()
	cert := ca.Issue(t, "api.example.test", []string{"api.example.test"}, now.Add(-time.Hour), now.Add(20*24*time.Hour+time.Hour))
	plain, tlsPort, dir := startNginx(t, cert)
	caFile := ca.WriteFile(t, dir)
	host := "127.0.0.1"
	ctx := func() context.Context {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		t.Cleanup(cancel)
		return ctx
	}

	t.Run("port 80 redirects to https", func(t *testing.T) {
		o := Probe(ctx(), probes.Target{Host: host, Port: plain, Transport: "tcp"}, Options{ServerName: "api.example.test", Path: "/login?next=1"})
		if o.State != probes.Open || o.Error != "" {
			t.Fatalf("state %q error %q (%s); want open", o.State, o.Error, o.Outcome)
		}
		f := facts(t, o)
		if f.StatusCode != 301 || f.Location != "https://api.example.test/login?next=1" {
			t.Errorf("status %d Location %q; want 301 to https://api.example.test/login?next=1", f.StatusCode, f.Location)
		}
		if !strings.HasPrefix(f.Headers["Server"], "nginx") {
			t.Errorf("Server %q; want nginx's", f.Headers["Server"])
		}
		// Second opinion: curl, sending the same Host header.
		curl := testutil.RequireBinary(t, "curl", "curl")
		out, err := exec.Command(curl, "-sI", "-H", "Host: api.example.test", fmt.Sprintf("http://127.0.0.1:%d/login?next=1", plain)).Output()
		if err != nil {
			t.Fatalf("curl: %v", err)
		}
		m := regexp.MustCompile(`(?mi)^Location: (\S+)\r?$`).FindSubmatch(out)
		if m == nil || string(m[1]) != f.Location {
			t.Errorf("curl saw Location %q; the probe saw %q", m, f.Location)
		}
	})

	t.Run("port 443 TLS facts", func(t *testing.T) {
		o := Probe(ctx(), probes.Target{Host: host, Port: tlsPort, Transport: "tcp"}, Options{TLS: true, ServerName: "api.example.test", CAFiles: []string{caFile}})
		if o.State != probes.Open || o.Error != "" {
			t.Fatalf("state %q error %q (%s: %s); want open", o.State, o.Error, o.Outcome, o.Detail)
		}
		f := facts(t, o)
		if f.StatusCode != 200 {
			t.Errorf("status %d; want 200", f.StatusCode)
		}
		if f.Headers["Strict-Transport-Security"] != "max-age=63072000; includeSubDomains" {
			t.Errorf("HSTS %q; want nginx's add_header value", f.Headers["Strict-Transport-Security"])
		}
		tf := f.TLS
		if tf.Version != "TLS 1.3" || tf.Verified == nil || !*tf.Verified || tf.VerifyName != "api.example.test" {
			t.Errorf("version %q verified %v for %q (%s); want TLS 1.3, verified for api.example.test", tf.Version, tf.Verified, tf.VerifyName, tf.VerifyError)
		}
		if tf.DaysLeft != 20 || strings.Join(tf.SANs, ",") != "api.example.test" || tf.Issuer != "CN=Probe Test CA,O=probe tests" {
			t.Errorf("days left %d, SANs %q, issuer %q; want 20, [api.example.test], the test CA", tf.DaysLeft, tf.SANs, tf.Issuer)
		}

		// Second opinion: openssl s_client on the same name and CA.
		openssl := testutil.RequireBinary(t, "openssl", "openssl")
		cmd := exec.Command(openssl, "s_client", "-connect", fmt.Sprintf("127.0.0.1:%d", tlsPort),
			"-servername", "api.example.test", "-verify_hostname", "api.example.test", "-CAfile", caFile)
		cmd.Stdin = strings.NewReader("")
		out, _ := cmd.CombinedOutput()
		s := string(out)
		if !strings.Contains(s, "Verify return code: 0 (ok)") {
			t.Errorf("openssl does not verify what the probe verified:\n%s", s)
		}
		if !strings.Contains(s, "New, TLSv1.3,") {
			t.Errorf("openssl did not negotiate TLS 1.3 as the probe did:\n%s", s)
		}
		if m := regexp.MustCompile(`NotAfter: (.+)`).FindStringSubmatch(s); m == nil {
			t.Errorf("openssl printed no NotAfter:\n%s", s)
		} else if na, err := time.Parse("Jan _2 15:04:05 2006 MST", strings.TrimSpace(m[1])); err != nil || na.UTC().Format(time.RFC3339) != tf.NotAfter {
			t.Errorf("openssl NotAfter %q (%v); the probe saw %s", m[1], err, tf.NotAfter)
		}
	})

	t.Run("older versions refused", func(t *testing.T) {
		// nginx here speaks TLSv1.2 and TLSv1.3 only (ssl_protocols).
		o := Probe(ctx(), probes.Target{Host: host, Port: tlsPort, Transport: "tcp"}, Options{TLS: true, ServerName: "api.example.test", RefuseBelow: tls.VersionTLS12})
		tries := facts(t, o).OlderVersions
		if len(tries) != 2 || !tries[0].Refused || !tries[1].Refused {
			t.Fatalf("tries %+v; want TLS 1.0 and TLS 1.1 refused", tries)
		}
		// Second opinion: openssl offering TLS 1.0 alone, at a security
		// level that lets it (Debian's default would not even send it).
		openssl := testutil.RequireBinary(t, "openssl", "openssl")
		cmd := exec.Command(openssl, "s_client", "-connect", fmt.Sprintf("127.0.0.1:%d", tlsPort), "-tls1", "-cipher", "DEFAULT@SECLEVEL=0")
		cmd.Stdin = strings.NewReader("")
		out, _ := cmd.CombinedOutput()
		if !strings.Contains(string(out), "alert protocol version") {
			t.Errorf("openssl -tls1 was not refused with a protocol_version alert, as the probe was:\n%s", out)
		}
	})

	t.Run("the wrong name does not verify, but is observed", func(t *testing.T) {
		o := Probe(ctx(), probes.Target{Host: host, Port: tlsPort, Transport: "tcp"}, Options{TLS: true, ServerName: "www.example.test", CAFiles: []string{caFile}})
		f := facts(t, o)
		if o.State != probes.Open || f.StatusCode != 200 {
			t.Errorf("state %q status %d; want open, 200 (nginx serves its default server)", o.State, f.StatusCode)
		}
		if f.TLS.Verified == nil || *f.TLS.Verified || !strings.Contains(f.TLS.VerifyError, "www.example.test") {
			t.Errorf("verified %v (%s); want false, naming www.example.test", f.TLS.Verified, f.TLS.VerifyError)
		}
	})

	t.Run("TLS on the plain port is a protocol error", func(t *testing.T) {
		o := Probe(ctx(), probes.Target{Host: host, Port: plain, Transport: "tcp"}, Options{TLS: true, ServerName: "api.example.test"})
		if o.State != probes.Open || o.Error != probes.ErrProtocol {
			t.Errorf("state %q error %q (%s); want open, protocol", o.State, o.Error, o.Outcome)
		}
	})
}
