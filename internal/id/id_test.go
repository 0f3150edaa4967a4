package id

import (
	"testing"
	"time"
)

func TestIDsAreOrderedAndUnique(t *testing.T) {
	now := time.Unix(1700000000, 0)
	g := NewGenerator(func() time.Time { return now })
	seen := map[string]bool{}
	prev := ""
	for i := 0; i < 10000; i++ {
		if i%1000 == 0 {
			now = now.Add(time.Millisecond)
		}
		v := g.New(Organization)
		if !HasPrefix(v, Organization) {
			t.Fatalf("%q lacks the org_ prefix or has the wrong length", v)
		}
		if seen[v] {
			t.Fatalf("duplicate id %q", v)
		}
		if v <= prev {
			t.Fatalf("id %q does not sort after %q", v, prev)
		}
		seen[v], prev = true, v
	}
}

func TestClockGoingBackwardsKeepsOrder(t *testing.T) {
	now := time.Unix(1700000000, 0)
	g := NewGenerator(func() time.Time { return now })
	a := g.New(User)
	now = now.Add(-time.Second)
	if b := g.New(User); b <= a {
		t.Fatalf("%q after clock step back does not sort after %q", b, a)
	}
}
