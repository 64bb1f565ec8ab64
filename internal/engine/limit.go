package engine

import (
	"context"
	"sync"

	"golang.org/x/time/rate"
)

// limiters hold one token-bucket limiter per target address.
type limiters struct {
	rate  float64
	burst int
	mu    sync.Mutex
	by    map[string]*rate.Limiter
}

func newLimiters(r float64) *limiters {
	return &limiters{rate: r, burst: max(1, int(r)), by: map[string]*rate.Limiter{}}
}

func (l *limiters) wait(ctx context.Context, host string) error {
	if l.rate <= 0 {
		return nil
	}
	return l.get(host).Wait(ctx)
}

// get returns host's limiter, made on first use.
func (l *limiters) get(host string) *rate.Limiter {
	l.mu.Lock()
	defer l.mu.Unlock()
	lim, ok := l.by[host]
	if !ok {
		lim = rate.NewLimiter(rate.Limit(l.rate), l.burst)
		l.by[host] = lim
	}
	return lim
}
