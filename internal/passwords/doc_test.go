package passwords

import (
	"os"
	"strings"
	"testing"
)

// TestDocExamplesParse keeps the package documentation honest: every
// complete example hash in doc.go must parse.
func TestDocExamplesParse(t *testing.T) {
	src, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, line := range strings.Split(string(src), "\n") {
		ex, ok := strings.CutPrefix(line, "//\t")
		if !ok {
			continue
		}
		ex, _, _ = strings.Cut(ex, " ")
		// Skip code that is not a hash, and abbreviated examples.
		if !strings.Contains(ex, "$") && !strings.HasPrefix(ex, "{") ||
			strings.ContainsAny(ex, "<(") || strings.Contains(ex, "...") {
			continue
		}
		n++
		t.Logf("example %s", ex)
		if _, err := Parse(ex); err != nil {
			t.Errorf("doc.go example %q: %v", ex, err)
		}
	}
	if n < 10 {
		t.Errorf("found only %d complete examples in doc.go", n)
	}
}
