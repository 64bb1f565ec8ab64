package engine

import "syscall"

// fdReserve are the descriptors kept back from probes: stdio, the report
// file, the resolver, the paced UDP groups (one socket per sampled port),
// STUN, and the Go runtime's own.
const fdReserve = 128

// FDConcurrency returns how many probes may be in flight: want, lowered to
// what the process's file descriptor limit allows (one descriptor per
// probe, fdReserve kept back). It first raises the soft RLIMIT_NOFILE to the
// hard limit, as Go's runtime already does at start on Linux; doing it here
// too keeps the bound right when that was undone (a parent that lowered it
// for its children, or a Go built without it).
func FDConcurrency(want int) int {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return max(1, want)
	}
	raised := lim
	raised.Cur = lim.Max
	if syscall.Setrlimit(syscall.RLIMIT_NOFILE, &raised) == nil {
		lim = raised
	}
	allowed := int(min(lim.Cur, 1<<20)) - fdReserve
	return max(1, min(want, allowed))
}
