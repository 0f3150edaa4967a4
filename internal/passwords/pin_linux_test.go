//go:build linux

package passwords

import (
	"context"
	"runtime"
	"slices"
	"sync"
	"testing"

	"golang.org/x/sys/unix"
)

func threadCPUs(t *testing.T) []int {
	t.Helper()
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err != nil {
		t.Fatal(err)
	}
	var cpus []int
	for c := 0; len(cpus) < set.Count(); c++ {
		if set.IsSet(c) {
			cpus = append(cpus, c)
		}
	}
	return cpus
}

// TestOnCPU: fn runs on its thread bound to the one CPU asked for, and the
// thread has its whole CPU set back afterwards.
func TestOnCPU(t *testing.T) {
	runtime.LockOSThread() // the same thread before, in and after onCPU
	defer runtime.UnlockOSThread()
	before := threadCPUs(t)
	if len(before) < 2 {
		t.Skip("one CPU: nothing to pin to")
	}
	for _, cpu := range before[:2] {
		var inside []int
		onCPU(cpu, func() { inside = threadCPUs(t) })
		if !slices.Equal(inside, []int{cpu}) {
			t.Errorf("in onCPU(%d) the thread may run on %v", cpu, inside)
		}
		if after := threadCPUs(t); !slices.Equal(after, before) {
			t.Errorf("after onCPU(%d) the thread may run on %v, want %v", cpu, after, before)
		}
	}
}

// TestDedicatedCPUs: slots are pinned, one distinct allowed CPU each, when
// the process may use exactly GOMAXPROCS CPUs, and never otherwise.
func TestDedicatedCPUs(t *testing.T) {
	allowed := threadCPUs(t)
	got := dedicatedCPUs(runtime.GOMAXPROCS(0))
	switch {
	case len(allowed) < 2 || len(allowed) != runtime.GOMAXPROCS(0):
		if got != nil {
			t.Errorf("%d CPUs allowed, GOMAXPROCS %d: pinned to %v", len(allowed), runtime.GOMAXPROCS(0), got)
		}
	default:
		if !slices.Equal(got, allowed) {
			t.Errorf("pinned to %v, want the allowed CPUs %v", got, allowed)
		}
		if more := dedicatedCPUs(len(allowed) + 1); more != nil {
			t.Errorf("more slots than CPUs: pinned to %v", more)
		}
	}
	if len(allowed) >= 2 {
		old := runtime.GOMAXPROCS(1)
		defer runtime.GOMAXPROCS(old)
		if got := dedicatedCPUs(1); got != nil {
			t.Errorf("GOMAXPROCS 1 of %d CPUs (a quota, not a cpuset): pinned to %v", len(allowed), got)
		}
	}
}

// TestLimiterLeavesThreadsUnpinned: concurrent verifications through a
// pinning Limiter are all correct, and the threads they ran on are given
// their CPU set back (checked on a thread the test holds).
func TestLimiterLeavesThreadsUnpinned(t *testing.T) {
	l := NewLimiter(0)
	hash := mustHash(t, "a password")
	var wg sync.WaitGroup
	for range 6 {
		wg.Go(func() {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			before := threadCPUs(t)
			if ok, _, err := l.Verify(context.Background(), hash, "a password"); !ok || err != nil {
				t.Errorf("verify: %v %v", ok, err)
			}
			if after := threadCPUs(t); !slices.Equal(after, before) {
				t.Errorf("after a pinned verification the thread may run on %v, want %v", after, before)
			}
		})
	}
	wg.Wait()
}
