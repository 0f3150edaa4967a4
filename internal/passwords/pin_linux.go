//go:build linux

package passwords

import (
	"runtime"

	"golang.org/x/sys/unix"
)

// dedicatedCPUs returns the CPUs to run n hashing slots on, one each, or
// nil to leave hashes to the scheduler. It pins only when the process may
// run on exactly as many CPUs as Go uses (GOMAXPROCS), at least two: a
// machine or cpuset of its own. Under a CPU quota on a shared host the
// process may run on every CPU but use few; pinning there could hold a
// hash on a core another tenant keeps busy while others sit idle.
func dedicatedCPUs(n int) []int {
	var set unix.CPUSet
	if unix.SchedGetaffinity(0, &set) != nil {
		return nil
	}
	allowed := set.Count()
	if allowed < 2 || allowed != runtime.GOMAXPROCS(0) || n > allowed {
		return nil
	}
	cpus := make([]int, 0, allowed)
	for c := 0; len(cpus) < allowed; c++ {
		if set.IsSet(c) {
			cpus = append(cpus, c)
		}
	}
	return cpus[:n]
}

// onCPU runs fn with its goroutine locked to its thread and the thread
// bound to cpu, then gives the thread its CPU set back. When that cannot
// be given back the goroutine keeps the thread locked, so the runtime
// ends the thread with the goroutine rather than hand a pinned thread to
// other goroutines. When the thread cannot be bound, fn runs unpinned.
func onCPU(cpu int, fn func()) {
	runtime.LockOSThread()
	var old, one unix.CPUSet
	one.Set(cpu)
	if unix.SchedGetaffinity(0, &old) != nil || unix.SchedSetaffinity(0, &one) != nil {
		runtime.UnlockOSThread()
		fn()
		return
	}
	defer func() {
		if unix.SchedSetaffinity(0, &old) == nil {
			runtime.UnlockOSThread()
		}
	}()
	fn()
}
