package kinds

import (
	"fmt"
	"net/netip"
	"strings"
)

// The resolve kind checks the DNS half of "not internet accessible". An RDS
// or ElastiCache endpoint is a public DNS name: it resolves to a private
// address while the instance is not publicly accessible, and to a public
// one once someone turns that on. Asked from outside the VPC, "resolves
// only to private addresses" is a fact about the deployment, not about the
// prober's network; from inside, the same name must resolve privately too.
// Nothing is sent to the target: the prober's own resolver answers.
func init() {
	Register(&Kind{Name: "resolve", Resolves: true})
}

// The words a resolve expectation may say for a vantage.
const (
	// ResolvesPrivate: every address the name resolves to is private.
	ResolvesPrivate = "private"
	// ResolvesPublic: every address the name resolves to is public.
	ResolvesPublic = "public"
)

// ResolveWords lists them, in the order documentation shows them.
var ResolveWords = []string{ResolvesPrivate, ResolvesPublic}

// JudgeResolved judges the addresses a name resolved to against want (a
// ResolveWord). class says what an address is ("private", "public", or
// "" for neither: loopback, link-local). It returns the observed word
// ("private", "public", "mixed", or "other") and the addresses in words.
func JudgeResolved(want string, addrs []netip.Addr, class func(netip.Addr) string) (observed, described string, pass bool) {
	counts := map[string]int{}
	parts := make([]string, 0, len(addrs))
	for _, a := range addrs {
		c := class(a)
		if c == "" {
			c = "neither public nor private"
		}
		counts[c]++
		parts = append(parts, fmt.Sprintf("%s (%s)", a, c))
	}
	switch {
	case len(addrs) == 0:
		observed = "none"
	case counts[ResolvesPrivate] == len(addrs):
		observed = ResolvesPrivate
	case counts[ResolvesPublic] == len(addrs):
		observed = ResolvesPublic
	case counts[ResolvesPrivate]+counts[ResolvesPublic] == len(addrs):
		observed = "mixed"
	default:
		observed = "other"
	}
	return observed, strings.Join(parts, ", "), observed == want
}
