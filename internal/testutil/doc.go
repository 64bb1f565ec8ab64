// Package testutil holds the helpers several packages' tests share: loopback
// peers (a STUN responder, TCP servers, free ports), the rule for tests that
// need a real peer binary (skip outside CI, fail in CI), a throwaway
// certificate authority, and building and running the probe binary.
//
// It is for tests only. Its files are ordinary .go files so that other
// packages' _test.go files can import it, but non-test code must never
// import it; TestNoProductionImports checks that.
package testutil
