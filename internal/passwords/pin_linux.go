//go:build linux

package passwords

import (
	"runtime"

	"golang.org/x/sys/unix"
)

// dedicatedCPUs returns the CPUs to run n hashing slots on, one each, or
// nil to leave hashes to the scheduler. It pins only when the process may
// run on at most as many CPUs as Go uses (GOMAXPROCS), at least two: a
// machine or cpuset of its own, with or without SpareProcessor's extra
// P. Under a CPU quota on a shared host the process may run on every CPU
// but use few; pinning there could hold a hash on a core another tenant
// keeps busy while others sit idle.
func dedicatedCPUs(n int) []int {
	cpus := allowedCPUs()
	if len(cpus) < 2 || len(cpus) > runtime.GOMAXPROCS(0) || n > len(cpus) {
		return nil
	}
	return cpus[:n]
}

// allowedCPUs lists the CPUs the process may run on, nil if unknown.
func allowedCPUs() []int {
	var set unix.CPUSet
	if unix.SchedGetaffinity(0, &set) != nil {
		return nil
	}
	cpus := make([]int, 0, set.Count())
	for c := 0; len(cpus) < set.Count(); c++ {
		if set.IsSet(c) {
			cpus = append(cpus, c)
		}
	}
	return cpus
}

// SpareProcessor gives Go one P (GOMAXPROCS) more than the process has
// CPUs, where a default Limiter pins its slots (the process may run on
// exactly GOMAXPROCS CPUs, at least two), and returns the new GOMAXPROCS;
// elsewhere it changes nothing and returns 0. It is for main, before the
// server starts: GOMAXPROCS is the process's.
//
// A hash holds its P for its whole 30 ms or more. With one slot per CPU
// and no P to spare, every other goroutine (the next request's reads, the
// finished login's writes, the HTTP server) waits for the runtime to
// preempt a hash, every 10 ms, and each preemption hands the slot's
// thread off and back. With the spare P they run at once, on whichever
// CPU the kernel picks, and the hashes keep their threads. On this
// project's 2-core VM, password logins went from 0.88 to 0.90 of the raw
// argon2id rate to 0.91 to 0.92 on PostgreSQL, and from 0.92 to 0.94 on
// SQLite (docs/benchmarks.md).
func SpareProcessor() int {
	n := runtime.GOMAXPROCS(0)
	if c := len(allowedCPUs()); c < 2 || c != n {
		return 0
	}
	runtime.GOMAXPROCS(n + 1)
	return n + 1
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
