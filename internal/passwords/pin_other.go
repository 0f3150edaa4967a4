//go:build !linux

package passwords

// dedicatedCPUs: hashes are pinned only on Linux (pin_linux.go).
func dedicatedCPUs(int) []int { return nil }

func onCPU(_ int, fn func()) { fn() }

// SpareProcessor changes nothing where hashes are not pinned.
func SpareProcessor() int { return 0 }
