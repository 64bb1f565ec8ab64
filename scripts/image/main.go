// Command image builds probe's OCI image without a container daemon: a
// multi-platform image index (linux/amd64, linux/arm64) in an OCI image
// layout directory, from the release binaries. The image has no shell and
// no package manager: the probe binary, the CA bundle for TLS checks, a
// passwd entry for the non-root user it runs as, and the directories the
// nightly job writes. Its entrypoint is probe, its default command
// `probe nightly` (scripts/nightly/probe-nightly's steps as a command).
//
//	go run ./scripts/image --version V --out DIR probe-V-linux-amd64 probe-V-linux-arm64
//
// scripts/release calls it.
package main

import (
	"archive/tar"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Name is the image's repository name, which the CronJob in
// scripts/nightly refers to; the tags are the version and "latest".
const Name = "probe"

// UID and GID are the non-root user the image runs as (the CronJob's
// runAsUser).
const UID, GID = 65532, 65532

// caBundle is where Go's crypto/x509 looks first on Linux, on the build
// host and in the image alike.
const caBundle = "/etc/ssl/certs/ca-certificates.crt"

func main() {
	version := flag.String("version", "", "the version, for the tag and the image's labels (required)")
	out := flag.String("out", "", "the OCI image layout directory to write (required; replaced)")
	flag.Parse()
	if *version == "" || *out == "" || flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: image --version V --out DIR BINARY...  (binaries named *-linux-amd64, *-linux-arm64)")
		os.Exit(2)
	}
	if err := build(*out, *version, flag.Args()); err != nil {
		fmt.Fprintln(os.Stderr, "image:", err)
		os.Exit(1)
	}
}

func build(out, version string, binaries []string) error {
	ca, err := os.ReadFile(caBundle)
	if err != nil {
		return fmt.Errorf("the CA bundle for TLS checks (apt-get install ca-certificates): %w", err)
	}
	idx := v1.ImageIndex(empty.Index)
	idx = mutate.IndexMediaType(idx, types.OCIImageIndex)
	for _, bin := range binaries {
		arch := ""
		for _, a := range []string{"amd64", "arm64"} {
			if strings.HasSuffix(bin, "-linux-"+a) {
				arch = a
			}
		}
		if arch == "" {
			return fmt.Errorf("%s: want a name ending in -linux-amd64 or -linux-arm64", bin)
		}
		probe, err := os.ReadFile(bin)
		if err != nil {
			return err
		}
		img, err := Image(arch, version, probe, ca)
		if err != nil {
			return err
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{
			Add: img,
			Descriptor: v1.Descriptor{
				Platform:    &v1.Platform{OS: "linux", Architecture: arch},
				Annotations: map[string]string{"org.opencontainers.image.ref.name": version},
			},
		})
	}
	if err := os.RemoveAll(out); err != nil {
		return err
	}
	p, err := layout.Write(out, empty.Index)
	if err != nil {
		return err
	}
	// The index itself goes in twice, under the version and under latest,
	// as skopeo and umoci find a tag: oci:DIR:VERSION, oci:DIR:latest.
	for _, tag := range []string{version, "latest"} {
		if err := p.AppendIndex(idx, layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": tag})); err != nil {
			return err
		}
	}
	return nil
}

// Image is the image for one architecture.
func Image(arch, version string, probe, ca []byte) (v1.Image, error) {
	files, err := rootfs(probe, ca)
	if err != nil {
		return nil, err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(files)), nil
	}, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return nil, err
	}
	img, err := mutate.AppendLayers(mutate.MediaType(empty.Image, types.OCIManifestSchema1), layer)
	if err != nil {
		return nil, err
	}
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", arch
	cf.Created = v1.Time{Time: time.Unix(0, 0).UTC()} // reproducible
	cf.Config = v1.Config{
		User:       fmt.Sprintf("%d:%d", UID, GID),
		Entrypoint: []string{"/usr/local/bin/probe"},
		Cmd:        []string{"nightly"},
		WorkingDir: "/var/lib/probe",
		Env: []string{
			"PATH=/usr/local/bin",
			"PROBE_CONFIG=/etc/probe/expectations.toml",
			"PROBE_DIR=/var/lib/probe",
			"PROBE_FROM=auto",
		},
		ExposedPorts: map[string]struct{}{"9469/tcp": {}}, // probe serve --listen :9469
		Volumes:      map[string]struct{}{"/var/lib/probe": {}},
		Labels: map[string]string{
			"org.opencontainers.image.title":       "probe",
			"org.opencontainers.image.description": "proves a deployment's network exposure with real traffic",
			"org.opencontainers.image.version":     version,
		},
	}
	return mutate.ConfigFile(img, cf)
}

// rootfs is the image's one layer, as a tar.
func rootfs(probe, ca []byte) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	epoch := time.Unix(0, 0)
	dir := func(name string, mode int64, uid int) error {
		return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: name, Mode: mode, Uid: uid, Gid: uid, ModTime: epoch})
	}
	file := func(name string, mode int64, body []byte) error {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: mode, Size: int64(len(body)), ModTime: epoch}); err != nil {
			return err
		}
		_, err := tw.Write(body)
		return err
	}
	passwd := fmt.Sprintf("root:x:0:0:root:/root:/sbin/nologin\nprobe:x:%d:%d:probe:/var/lib/probe:/sbin/nologin\n", UID, GID)
	group := fmt.Sprintf("root:x:0:\nprobe:x:%d:\n", GID)
	errs := []error{
		dir("etc/", 0o755, 0),
		file("etc/passwd", 0o644, []byte(passwd)),
		file("etc/group", 0o644, []byte(group)),
		dir("etc/probe/", 0o755, 0),
		dir("etc/ssl/", 0o755, 0),
		dir("etc/ssl/certs/", 0o755, 0),
		file(strings.TrimPrefix(caBundle, "/"), 0o644, ca),
		dir("tmp/", 0o1777, 0),
		dir("usr/", 0o755, 0),
		dir("usr/local/", 0o755, 0),
		dir("usr/local/bin/", 0o755, 0),
		file("usr/local/bin/probe", 0o755, probe),
		dir("var/", 0o755, 0),
		dir("var/lib/", 0o755, 0),
		dir("var/lib/probe/", 0o755, UID),
		tw.Close(),
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
