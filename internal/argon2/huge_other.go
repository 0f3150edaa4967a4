//go:build !linux

package argon2

// adviseHuge does nothing where there are no transparent huge pages.
func adviseHuge([]block) {}
