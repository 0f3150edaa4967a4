package config

import (
	"strings"
	"testing"
	"time"
)

// TestAuthLogRetention: 90 days by default; under an hour is refused.
func TestAuthLogRetention(t *testing.T) {
	c := Defaults()
	if err := c.Resolve(); err != nil || c.AuthLogRetention != 90*24*time.Hour {
		t.Fatalf("default %s, %v", c.AuthLogRetention, err)
	}
	c.AuthLogRetention = time.Minute
	if err := c.Resolve(); err == nil || !strings.Contains(err.Error(), "--auth-log-retention") {
		t.Errorf("1m accepted: %v", err)
	}
}

// TestEventRetention: 90 days by default; under an hour is refused.
func TestEventRetention(t *testing.T) {
	c := Defaults()
	if err := c.Resolve(); err != nil || c.EventRetention != 90*24*time.Hour {
		t.Fatalf("default %s, %v", c.EventRetention, err)
	}
	c.EventRetention = 59 * time.Minute
	if err := c.Resolve(); err == nil || !strings.Contains(err.Error(), "--event-retention") {
		t.Errorf("59m accepted: %v", err)
	}
}
