package main

import (
	"archive/tar"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"go.yaml.in/yaml/v3"

	"probe/internal/testutil"
)

// entry is one file of the image's filesystem.
type entry struct {
	hdr  *tar.Header
	body []byte
}

func files(t *testing.T, img v1.Image) map[string]entry {
	t.Helper()
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]entry{}
	for _, l := range layers {
		rc, err := l.Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		tr := tar.NewReader(rc)
		for {
			h, err := tr.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(tr)
			out[h.Name] = entry{h, b}
		}
		rc.Close()
	}
	return out
}

// The image index holds one image per platform, each with the binary of
// its architecture, run as the non-root user, with probe as entrypoint and
// `nightly` as command, as the CronJob expects.
func TestImageLayout(t *testing.T) {
	dir := t.TempDir()
	bins := map[string]string{}
	for _, arch := range []string{"amd64", "arm64"} {
		bins[arch] = filepath.Join(dir, "probe-v1.2.3-linux-"+arch)
		if err := os.WriteFile(bins[arch], []byte("binary for "+arch), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	out := filepath.Join(dir, "image")
	if err := build(out, "v1.2.3", []string{bins["amd64"], bins["arm64"]}); err != nil {
		t.Fatal(err)
	}
	p, err := layout.FromPath(out)
	if err != nil {
		t.Fatal(err)
	}
	top, err := p.ImageIndex()
	if err != nil {
		t.Fatal(err)
	}
	tm, err := top.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	tags := map[string]bool{}
	for _, d := range tm.Manifests {
		tags[d.Annotations["org.opencontainers.image.ref.name"]] = true
	}
	if !tags["v1.2.3"] || !tags["latest"] {
		t.Errorf("tags %v; want v1.2.3 and latest", tags)
	}
	idx, err := top.ImageIndex(tm.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(im.Manifests) != 2 {
		t.Fatalf("%d images; want one per platform", len(im.Manifests))
	}

	cron := cronJob(t)
	for _, d := range im.Manifests {
		arch := d.Platform.Architecture
		img, err := idx.Image(d.Digest)
		if err != nil {
			t.Fatal(err)
		}
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		c := cf.Config
		if cf.Architecture != arch || cf.OS != "linux" {
			t.Errorf("%s: config says %s/%s", arch, cf.OS, cf.Architecture)
		}
		if c.User != "65532:65532" {
			t.Errorf("%s: user %q; want the non-root 65532:65532", arch, c.User)
		}
		if strings.Join(c.Entrypoint, " ") != "/usr/local/bin/probe" || strings.Join(c.Cmd, " ") != "nightly" {
			t.Errorf("%s: entrypoint %v, cmd %v; want probe nightly", arch, c.Entrypoint, c.Cmd)
		}
		if strings.Join(cron.Command, " ") != strings.Join(append(c.Entrypoint, c.Cmd...), " ") {
			t.Errorf("the CronJob runs %v; the image's entrypoint and command are %v %v", cron.Command, c.Entrypoint, c.Cmd)
		}
		if cron.RunAsUser != UID || cron.RunAsGroup != GID {
			t.Errorf("the CronJob runs as %d:%d; the image's user is %d:%d", cron.RunAsUser, cron.RunAsGroup, UID, GID)
		}
		fs := files(t, img)
		if e := fs["usr/local/bin/probe"]; string(e.body) != "binary for "+arch || e.hdr.Mode&0o111 == 0 {
			t.Errorf("%s: /usr/local/bin/probe is %q mode %o; want its own binary, executable", arch, e.body, e.hdr.Mode)
		}
		if e := fs["etc/passwd"]; !strings.Contains(string(e.body), "probe:x:65532:65532:") {
			t.Errorf("%s: /etc/passwd lacks the probe user:\n%s", arch, e.body)
		}
		if e := fs["etc/ssl/certs/ca-certificates.crt"]; !strings.Contains(string(e.body), "BEGIN CERTIFICATE") {
			t.Errorf("%s: no CA bundle for TLS checks", arch)
		}
		if e, ok := fs["var/lib/probe/"]; !ok || e.hdr.Uid != UID {
			t.Errorf("%s: /var/lib/probe missing or not the user's (nightly writes there)", arch)
		}
		for name := range fs {
			if strings.HasPrefix(name, "bin/") {
				t.Errorf("%s: %s in the image; it has no shell", arch, name)
			}
		}
	}
	if name, tag, _ := strings.Cut(cron.Image, ":"); name != Name || !tags[tag] {
		t.Errorf("the CronJob's image %q is not what is built (%s, tagged %v)", cron.Image, Name, tags)
	}
}

type cronContainer struct {
	Image      string
	Command    []string
	RunAsUser  int
	RunAsGroup int
}

// cronJob reads what scripts/nightly/cronjob.yaml asks of the image.
func cronJob(t *testing.T) cronContainer {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "nightly", "cronjob.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Spec struct {
			JobTemplate struct {
				Spec struct {
					Template struct {
						Spec struct {
							SecurityContext struct {
								RunAsUser  int `yaml:"runAsUser"`
								RunAsGroup int `yaml:"runAsGroup"`
							} `yaml:"securityContext"`
							Containers []struct {
								Image   string   `yaml:"image"`
								Command []string `yaml:"command"`
							} `yaml:"containers"`
						} `yaml:"spec"`
					} `yaml:"template"`
				} `yaml:"spec"`
			} `yaml:"jobTemplate"`
		} `yaml:"spec"`
	}
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	pod := doc.Spec.JobTemplate.Spec.Template.Spec
	if len(pod.Containers) != 1 {
		t.Fatalf("cronjob.yaml: %d containers", len(pod.Containers))
	}
	return cronContainer{pod.Containers[0].Image, pod.Containers[0].Command, pod.SecurityContext.RunAsUser, pod.SecurityContext.RunAsGroup}
}

// The image runs under a real OCI runtime: skopeo takes this machine's
// platform out of the index, umoci unpacks it into a runtime bundle, and
// runc runs `probe version` in it, as the image's user.
func TestImageRunsUnderRunc(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: builds probe and runs a container")
	}
	if os.Geteuid() != 0 {
		testutil.Unavailable(t, "runc needs root here")
	}
	skopeo := testutil.RequireBinary(t, "skopeo", "skopeo")
	umoci := testutil.RequireBinary(t, "umoci", "umoci")
	runc := testutil.RequireBinary(t, "runc", "runc")
	root, err := testutil.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "probe-v0.0.0-image-test-linux-"+runtime.GOARCH)
	build := exec.Command("go", "build", "-trimpath", "-ldflags", "-X probe/probes.version=v0.0.0-image-test", "-o", bin, "./cmd/probe")
	build.Dir = root
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	layoutDir := filepath.Join(dir, "image")
	if err := build0(layoutDir, bin); err != nil {
		t.Fatal(err)
	}
	one := filepath.Join(dir, "one")
	bundle := filepath.Join(dir, "bundle")
	for _, cmd := range [][]string{
		{skopeo, "copy", "oci:" + layoutDir + ":latest", "oci:" + one + ":latest"},
		{umoci, "unpack", "--image", one + ":latest", bundle},
	} {
		if out, err := exec.Command(cmd[0], cmd[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(cmd, " "), err, out)
		}
	}
	spec := filepath.Join(bundle, "config.json")
	b, err := os.ReadFile(spec)
	if err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	if err := json.Unmarshal(b, &cfg); err != nil {
		t.Fatal(err)
	}
	proc := cfg["process"].(map[string]any)
	if args := proc["args"].([]any); len(args) != 2 || args[0] != "/usr/local/bin/probe" || args[1] != "nightly" {
		t.Errorf("the bundle runs %v; want the image's probe nightly", args)
	}
	if user := proc["user"].(map[string]any); user["uid"] != float64(UID) {
		t.Errorf("the bundle runs as uid %v; want %d", user["uid"], UID)
	}
	proc["args"] = []string{"/usr/local/bin/probe", "version"}
	proc["terminal"] = false
	if b, err = json.Marshal(cfg); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(spec, b, 0o644); err != nil {
		t.Fatal(err)
	}
	id := "probe-image-test-" + filepath.Base(dir)
	run := exec.Command(runc, "run", "--bundle", bundle, id)
	defer exec.Command(runc, "delete", "--force", id).Run()
	out, err := run.CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "probe v0.0.0-image-test\n") {
		t.Errorf("runc run (probe version): %v\n%s", err, out)
	}
}

// build0 builds the layout from a single binary.
func build0(out, bin string) error { return build(out, "v0.0.0-image-test", []string{bin}) }
