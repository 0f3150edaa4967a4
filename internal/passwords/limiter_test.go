package passwords

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestLimiterBoundsConcurrency: with two slots, twelve concurrent calls
// never run more than two hashes at once, and all of them complete.
func TestLimiterBoundsConcurrency(t *testing.T) {
	l := NewLimiter(2)
	var running, peak atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < 12; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			slot, err := l.acquire(context.Background())
			if err != nil {
				t.Error(err)
				return
			}
			n := running.Add(1)
			for {
				p := peak.Load()
				if n <= p || peak.CompareAndSwap(p, n) {
					break
				}
			}
			time.Sleep(5 * time.Millisecond)
			running.Add(-1)
			l.release(slot)
		}()
	}
	wg.Wait()
	if p := peak.Load(); p != 2 {
		t.Errorf("peak concurrency %d, want 2", p)
	}
}

// TestLimiterHonoursContext: a caller waiting for a slot gives up when its
// context ends, with the context's error and no verification.
func TestLimiterHonoursContext(t *testing.T) {
	l := NewLimiter(1)
	slot, err := l.acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	hash := mustHash(t, "a password")
	ok, _, err := l.Verify(ctx, hash, "a password")
	if ok || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Verify while full: ok=%v err=%v", ok, err)
	}
	if _, err := l.Hash(ctx, "a password"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Hash while full: %v", err)
	}
	l.release(slot)
	if ok, _, err := l.Verify(context.Background(), hash, "a password"); !ok || err != nil {
		t.Errorf("Verify with a free slot: ok=%v err=%v", ok, err)
	}
	if h, err := l.Hash(context.Background(), "a password"); err != nil || !isArgon2id(h) {
		t.Errorf("Hash with a free slot: %q %v", h, err)
	}
}

// TestNewLimiterDefault: one slot per CPU Go may use, GOMAXPROCS, or the
// process's CPUs when GOMAXPROCS is higher (SpareProcessor).
func TestNewLimiterDefault(t *testing.T) {
	if got, want := len(NewLimiter(0).slots), min(runtime.GOMAXPROCS(0), runtime.NumCPU()); got != want {
		t.Errorf("default slots %d, want %d", got, want)
	}
	old := runtime.GOMAXPROCS(runtime.NumCPU() + 1)
	defer runtime.GOMAXPROCS(old)
	if got := len(NewLimiter(0).slots); got != runtime.NumCPU() {
		t.Errorf("GOMAXPROCS %d on %d CPUs: %d slots, want one per CPU", runtime.GOMAXPROCS(0), runtime.NumCPU(), got)
	}
	runtime.GOMAXPROCS(1)
	if got := len(NewLimiter(0).slots); got != 1 {
		t.Errorf("GOMAXPROCS 1: %d slots, want 1", got)
	}
}

func isArgon2id(h string) bool { ok, _, err := Verify(h, "a password"); return ok && err == nil }

// BenchmarkVerifyConcurrency: argon2id verifications per second with one
// goroutine per CPU, with 16 per CPU unbounded, and with 16 per CPU
// through a Limiter (what the login does). Run them in one command; the
// ratios are what matter on a shared machine:
//
//	go test ./internal/passwords/ -run '^$' -bench VerifyConcurrency -benchtime 3s
func BenchmarkVerifyConcurrency(b *testing.B) {
	hash := mustHash(b, "correct horse battery staple")
	l := NewLimiter(0)
	for _, bc := range []struct {
		name   string
		perCPU int
		verify func() (bool, bool, error)
	}{
		{"1-per-cpu", 1, func() (bool, bool, error) { return Verify(hash, "correct horse battery staple") }},
		{"16-per-cpu-unbounded", 16, func() (bool, bool, error) { return Verify(hash, "correct horse battery staple") }},
		{"16-per-cpu-limiter", 16, func() (bool, bool, error) {
			return l.Verify(context.Background(), hash, "correct horse battery staple")
		}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetParallelism(bc.perCPU)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if ok, _, err := bc.verify(); !ok || err != nil {
						b.Error(fmt.Errorf("verify: %v %v", ok, err))
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "verifies/s")
		})
	}
}
