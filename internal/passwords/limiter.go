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
// Where the process has CPUs of its own, each slot also runs its hashes on
// one CPU (pin_linux.go): the login's other work then moves around them,
// and a hash is not resumed on another core with cold caches every time
// the scheduler lets a request through. On this project's 2-core VM that
// took password logins from 0.87 to 0.91 of the raw argon2id rate on
// SQLite and from 0.64 to 0.74 on PostgreSQL, the raw side pinned the same
// way (docs/benchmarks.md, BenchmarkPasswordLogin/*/interleaved). While
// every slot hashes, the rest of the server still needs a Go processor:
// SpareProcessor, called by main, gives it one.
//
// A Limiter is safe for concurrent use. The zero value is not usable; use
// NewLimiter.
type Limiter struct {
	slots chan int // the free slots' numbers
	cpus  []int    // the CPU of each slot, or nil when hashes float
}

// NewLimiter returns a Limiter running at most n hashes at once; n <= 0
// means one per CPU Go may use: GOMAXPROCS, or the CPUs the process may
// run on when there are fewer (SpareProcessor's extra P is not a CPU).
func NewLimiter(n int) *Limiter {
	if n <= 0 {
		n = min(runtime.GOMAXPROCS(0), runtime.NumCPU())
	}
	l := &Limiter{slots: make(chan int, n), cpus: dedicatedCPUs(n)}
	for i := range n {
		l.slots <- i
	}
	return l
}

// acquire waits for a free slot or for ctx to end.
func (l *Limiter) acquire(ctx context.Context) (int, error) {
	select {
	case i := <-l.slots:
		return i, nil
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

func (l *Limiter) release(slot int) { l.slots <- slot }

// run runs fn in slot, on the slot's CPU when it has one.
func (l *Limiter) run(slot int, fn func()) {
	if l.cpus == nil {
		fn()
		return
	}
	onCPU(l.cpus[slot], fn)
}

// Verify is Verify run in a slot. It returns ctx's error, and ok false,
// when ctx ends before a slot frees up.
func (l *Limiter) Verify(ctx context.Context, encoded, password string) (ok, needsRehash bool, err error) {
	slot, err := l.acquire(ctx)
	if err != nil {
		return false, false, err
	}
	defer l.release(slot)
	l.run(slot, func() { ok, needsRehash, err = Verify(encoded, password) })
	return ok, needsRehash, err
}

// Hash is Hash run in a slot.
func (l *Limiter) Hash(ctx context.Context, password string) (encoded string, err error) {
	slot, err := l.acquire(ctx)
	if err != nil {
		return "", err
	}
	defer l.release(slot)
	l.run(slot, func() { encoded, err = Hash(password) })
	return encoded, err
}

// DummyVerify is DummyVerify run in a slot, so that the time an unknown
// account's answer takes includes the same wait in line as a real one.
func (l *Limiter) DummyVerify(ctx context.Context, password string) {
	slot, err := l.acquire(ctx)
	if err != nil {
		return
	}
	defer l.release(slot)
	l.run(slot, func() { DummyVerify(password) })
}
