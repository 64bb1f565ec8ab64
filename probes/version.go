package probes

import "runtime/debug"

// version may be set at build time:
// go build -ldflags "-X probe/probes.version=v1.2.3" ./cmd/probe
var version string

// Version is the tool's version: what the build set, else the main module's
// version as the build recorded it, else "dev" for a build from a work tree.
// Probes put it where a peer's logs show it (SSH client version, SIP
// User-Agent), so an operator sees which tool knocked.
func Version() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}
