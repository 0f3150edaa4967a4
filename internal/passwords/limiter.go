package passwords

import (
	"context"
	"runtime"
)

// Limiter bounds how many password hashes are computed at once.
//
// Every argon2id computation at Gatehouse's parameters holds 19 MiB for
// tens of milliseconds. Without a bound, a burst of logins (or an attacker
// posting passwords from many addresses) allocates memory without limit,
// and the hashes slow each other down: more goroutines than cores only add
// cache and GC pressure, so the machine completes fewer hashes per second,
// not more (BenchmarkVerifyConcurrency). With one slot per CPU the rate
// stays at its best, memory stays at slots × 19 MiB, and callers beyond
// that wait in line until their request is cancelled.
//
// A Limiter is safe for concurrent use. The zero value is not usable; use
// NewLimiter.
type Limiter struct {
	slots chan struct{}
}

// NewLimiter returns a Limiter running at most n hashes at once; n <= 0
// means one per CPU (runtime.GOMAXPROCS).
func NewLimiter(n int) *Limiter {
	if n <= 0 {
		n = runtime.GOMAXPROCS(0)
	}
	return &Limiter{slots: make(chan struct{}, n)}
}

// acquire waits for a free slot or for ctx to end.
func (l *Limiter) acquire(ctx context.Context) error {
	select {
	case l.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (l *Limiter) release() { <-l.slots }

// Verify is Verify run in a slot. It returns ctx's error, and ok false,
// when ctx ends before a slot frees up.
func (l *Limiter) Verify(ctx context.Context, encoded, password string) (ok, needsRehash bool, err error) {
	if err := l.acquire(ctx); err != nil {
		return false, false, err
	}
	defer l.release()
	return Verify(encoded, password)
}

// Hash is Hash run in a slot.
func (l *Limiter) Hash(ctx context.Context, password string) (string, error) {
	if err := l.acquire(ctx); err != nil {
		return "", err
	}
	defer l.release()
	return Hash(password)
}

// DummyVerify is DummyVerify run in a slot, so that the time an unknown
// account's answer takes includes the same wait in line as a real one.
func (l *Limiter) DummyVerify(ctx context.Context, password string) {
	if l.acquire(ctx) != nil {
		return
	}
	defer l.release()
	DummyVerify(password)
}
