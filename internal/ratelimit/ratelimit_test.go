package ratelimit

import (
	"testing"
	"time"
)

func TestBucketEmptiesAndRefills(t *testing.T) {
	l := New(10, 3)
	now := time.Unix(1000, 0)
	for i := 0; i < 3; i++ {
		if d := l.Take("a", now); !d.Allowed || d.Remaining != 2-i {
			t.Fatalf("request %d: %+v, want allowed with %d remaining", i, d, 2-i)
		}
	}
	d := l.Take("a", now)
	if d.Allowed || d.RetryAfter <= 0 || d.RetryAfter > 100*time.Millisecond {
		t.Fatalf("over the burst: %+v, want denied with a retry within 100ms", d)
	}
	if d := l.Take("b", now); !d.Allowed {
		t.Fatal("another key shares the bucket")
	}
	if d := l.Take("a", now.Add(100*time.Millisecond)); !d.Allowed {
		t.Fatal("bucket did not refill after 1/rate")
	}
}

func TestZeroMeansOff(t *testing.T) {
	var l *Limiter = New(0, 0)
	for i := 0; i < 10000; i++ {
		if !l.Take("a", time.Now()).Allowed {
			t.Fatal("a disabled limiter denied a request")
		}
	}
}
