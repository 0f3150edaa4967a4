package config

import (
	"strings"
	"testing"
)

// TestTrustedProxies: --trusted-proxies takes IPs and CIDR ranges; a bad
// entry is refused with an error that names it.
func TestTrustedProxies(t *testing.T) {
	for _, ok := range []string{"", "10.0.0.0/8", "10.0.0.0/8, 192.0.2.7, ::1"} {
		c := Defaults()
		c.TrustedProxies = ok
		if err := c.Resolve(); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	c := Defaults()
	c.TrustedProxies = "10.0.0.0/8, proxy.internal"
	err := c.Resolve()
	if err == nil || !strings.Contains(err.Error(), "--trusted-proxies") || !strings.Contains(err.Error(), `"proxy.internal"`) {
		t.Errorf("a bad entry: %v", err)
	}
}
