package probes

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// version may be set at build time (scripts/release does):
// go build -ldflags "-X probe/probes.version=v1.2.3" ./cmd/probe
var version string

// Version is the tool's version: what the build set, else the main module's
// version as the build recorded it (Go stamps a pseudo-version from the VCS
// when it builds in a repository), else the commit the build recorded, else
// "dev" for a build that recorded none. Probes put it where a peer's logs
// show it (SSH client version, SIP User-Agent), so an operator sees which
// tool knocked.
func Version() string {
	if version != "" {
		return version
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "dev"
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	if rev := setting(bi, "vcs.revision"); rev != "" {
		if len(rev) > 12 {
			rev = rev[:12]
		}
		if setting(bi, "vcs.modified") == "true" {
			rev += "-dirty"
		}
		return "dev-" + rev
	}
	return "dev"
}

// Build describes the build from its build info: commit, commit time,
// whether the tree was modified, the Go version and the platform. It is
// empty when the binary carries no build info.
func Build() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	s := fmt.Sprintf("built with %s for %s/%s", bi.GoVersion, runtime.GOOS, runtime.GOARCH)
	if rev := setting(bi, "vcs.revision"); rev != "" {
		s += ", commit " + rev
		if t := setting(bi, "vcs.time"); t != "" {
			s += " (" + t + ")"
		}
		if setting(bi, "vcs.modified") == "true" {
			s += ", modified work tree"
		}
	} else {
		s += ", no commit recorded (built outside a repository or with -buildvcs=false)"
	}
	return s
}

func setting(bi *debug.BuildInfo, key string) string {
	for _, s := range bi.Settings {
		if s.Key == key {
			return s.Value
		}
	}
	return ""
}
