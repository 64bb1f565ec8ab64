package engine

import (
	"context"
	"sync"

	"golang.org/x/time/rate"
)

// limiters hold one token-bucket limiter per target address: everything
// sent to the address takes its tokens, the connects and the half-open
// sweep's SYNs alike, so together they keep to the one rate.
type limiters struct {
	rate  float64
	burst int
	mu    sync.Mutex
	by    map[string]limiter
}

// limiter is one address's bucket (*rate.Limiter).
type limiter interface {
	Wait(ctx context.Context) error
	WaitN(ctx context.Context, n int) error
	Burst() int
}

func newLimiters(r float64) *limiters {
	return &limiters{rate: r, burst: max(1, int(r)), by: map[string]limiter{}}
}

func (l *limiters) wait(ctx context.Context, host string) error {
	if l.rate <= 0 {
		return nil
	}
	return l.get(host).Wait(ctx)
}

// get returns host's limiter, made on first use.
func (l *limiters) get(host string) limiter {
	l.mu.Lock()
	defer l.mu.Unlock()
	lim, ok := l.by[host]
	if !ok {
		lim = rate.NewLimiter(rate.Limit(l.rate), l.burst)
		l.by[host] = lim
	}
	return lim
}
