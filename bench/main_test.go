package bench

import (
	"os"
	"testing"

	"github.com/gatehouse/gatehouse/internal/passwords"
)

// TestMain gives the process one Go processor beyond its CPUs where the
// password-hashing slots are pinned, as `gatehouse serve` does
// (passwords.SpareProcessor), so the benchmarks measure the server as it
// runs.
func TestMain(m *testing.M) {
	passwords.SpareProcessor()
	os.Exit(m.Run())
}
