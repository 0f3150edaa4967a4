// Package ratelimit keeps one token bucket per key (an API client), in this
// node's memory. It guards against runaway scripts; the limit is generous
// enough that normal use never meets it.
package ratelimit

import (
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Limiter hands out tokens per key. A nil *Limiter allows everything.
type Limiter struct {
	perSecond float64
	burst     int

	mu      sync.Mutex
	buckets map[string]*rate.Limiter
}

// New returns a limiter of perSecond tokens per second with the given
// burst, or nil (no limit) when perSecond is 0.
func New(perSecond float64, burst int) *Limiter {
	if perSecond <= 0 {
		return nil
	}
	if burst < 1 {
		burst = 1
	}
	return &Limiter{perSecond: perSecond, burst: burst, buckets: map[string]*rate.Limiter{}}
}

// Decision is the outcome of one Take, with what the rate-limit headers show.
type Decision struct {
	Allowed    bool
	Limit      int           // the burst: the most a client can send at once
	Remaining  int           // tokens left after this request
	Reset      time.Duration // until the bucket is full again
	RetryAfter time.Duration // until a denied request may succeed
}

// Take spends one token of key's bucket at now.
func (l *Limiter) Take(key string, now time.Time) Decision {
	if l == nil {
		return Decision{Allowed: true}
	}
	l.mu.Lock()
	b, ok := l.buckets[key]
	if !ok {
		b = rate.NewLimiter(rate.Limit(l.perSecond), l.burst)
		l.buckets[key] = b
	}
	l.mu.Unlock()
	d := Decision{Limit: l.burst, Allowed: b.AllowN(now, 1)}
	left := b.TokensAt(now)
	d.Remaining = int(math.Max(0, math.Floor(left)))
	d.Reset = time.Duration((float64(l.burst) - left) / l.perSecond * float64(time.Second))
	if !d.Allowed {
		d.RetryAfter = time.Duration((1 - left) / l.perSecond * float64(time.Second))
	}
	return d
}
