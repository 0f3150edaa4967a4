//go:build linux

package passwords

import (
	"context"
	"runtime"
	"slices"
	"sync"
	"testing"
)

// threadCPUs lists the CPUs the calling thread may run on.
func threadCPUs(t *testing.T) []int {
	t.Helper()
	cpus := allowedCPUs()
	if cpus == nil {
		t.Fatal("sched_getaffinity failed")
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
// the process may use at most GOMAXPROCS CPUs (at least two), and never
// otherwise.
func TestDedicatedCPUs(t *testing.T) {
	allowed := threadCPUs(t)
	if len(allowed) < 2 {
		if got := dedicatedCPUs(1); got != nil {
			t.Errorf("one CPU: pinned to %v", got)
		}
		return
	}
	old := runtime.GOMAXPROCS(0)
	defer runtime.GOMAXPROCS(old)
	for _, procs := range []int{len(allowed), len(allowed) + 1} {
		runtime.GOMAXPROCS(procs)
		if got := dedicatedCPUs(len(allowed)); !slices.Equal(got, allowed) {
			t.Errorf("GOMAXPROCS %d: pinned to %v, want the allowed CPUs %v", procs, got, allowed)
		}
		if more := dedicatedCPUs(len(allowed) + 1); more != nil {
			t.Errorf("GOMAXPROCS %d, more slots than CPUs: pinned to %v", procs, more)
		}
	}
	runtime.GOMAXPROCS(1)
	if got := dedicatedCPUs(1); got != nil {
		t.Errorf("GOMAXPROCS 1 of %d CPUs (a quota, not a cpuset): pinned to %v", len(allowed), got)
	}
}

// TestSpareProcessor: with exactly GOMAXPROCS CPUs of its own, the process
// gets one P more, its default Limiter still has one slot per CPU, each
// pinned, and a second call changes nothing; under a quota (GOMAXPROCS
// below the CPUs) nothing changes.
func TestSpareProcessor(t *testing.T) {
	allowed := threadCPUs(t)
	old := runtime.GOMAXPROCS(0)
	defer runtime.GOMAXPROCS(old)
	runtime.GOMAXPROCS(len(allowed))
	if len(allowed) < 2 {
		if n := SpareProcessor(); n != 0 || runtime.GOMAXPROCS(0) != 1 {
			t.Errorf("one CPU: SpareProcessor gave %d, GOMAXPROCS %d", n, runtime.GOMAXPROCS(0))
		}
		return
	}
	if n := SpareProcessor(); n != len(allowed)+1 || runtime.GOMAXPROCS(0) != n {
		t.Errorf("SpareProcessor on %d CPUs: %d, GOMAXPROCS %d; want %d", len(allowed), n, runtime.GOMAXPROCS(0), len(allowed)+1)
	}
	if l := NewLimiter(0); len(l.slots) != len(allowed) || !slices.Equal(l.cpus, allowed) {
		t.Errorf("with the spare P: %d slots on %v, want one on each of %v", len(l.slots), l.cpus, allowed)
	}
	if n := SpareProcessor(); n != 0 || runtime.GOMAXPROCS(0) != len(allowed)+1 {
		t.Errorf("SpareProcessor again: %d, GOMAXPROCS %d", n, runtime.GOMAXPROCS(0))
	}
	runtime.GOMAXPROCS(1)
	if n := SpareProcessor(); n != 0 || runtime.GOMAXPROCS(0) != 1 {
		t.Errorf("under a quota: SpareProcessor gave %d, GOMAXPROCS %d", n, runtime.GOMAXPROCS(0))
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
