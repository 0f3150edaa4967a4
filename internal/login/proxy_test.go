package login_test

import (
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/config"
)

// lastAttemptIP is the IP of the newest entry of the authentication log.
func (f *fx) lastAttemptIP() string {
	f.t.Helper()
	code, body := f.in.Do(f.t, f.in.Token(f.t), "GET", "/api/v1/logs/authentication/requests", "")
	reqs, _ := body["authRequests"].([]any)
	if code != 200 || len(reqs) == 0 {
		f.t.Fatalf("auth log: %d %v", code, body)
	}
	ip, _ := reqs[0].(map[string]any)["resource_name"].(string)
	return ip
}

// TestTrustedProxies: X-Forwarded-For from a peer that is not a trusted
// proxy is ignored (the per-IP limits and the authentication log see the
// peer); from a trusted proxy, its rightmost untrusted hop is the client.
// Either way emailed links use the public URL (A11).
func TestTrustedProxies(t *testing.T) {
	for _, pg := range []bool{false, true} {
		name := map[bool]string{false: "sqlite", true: "postgres"}[pg]
		t.Run(name+"/untrusted", func(t *testing.T) {
			f := newFx(t, pg, nil)
			f.user(f.orgID, "proxy@acme.example", "a fine password", false)
			b := f.browser()
			b.header.Set("X-Forwarded-For", "203.0.113.9")
			b.header.Set("Forwarded", "for=203.0.113.10")
			b.submit(b.toPassword("proxy@acme.example"), "/login/password", map[string]string{"password": "wrong password"})
			if ip := f.lastAttemptIP(); ip != "127.0.0.1" {
				t.Errorf("a spoofed X-Forwarded-For was believed: %s", ip)
			}
		})
		t.Run(name+"/trusted", func(t *testing.T) {
			f := newFx(t, pg, func(c *config.Config) { c.TrustedProxies = "127.0.0.0/8" })
			f.user(f.orgID, "proxy@acme.example", "a fine password", false)
			b := f.browser()
			b.header.Set("X-Forwarded-For", "198.51.100.1, 203.0.113.9")
			b.header.Set("X-Forwarded-Host", "evil.test")
			b.submit(b.toPassword("proxy@acme.example"), "/login/password", map[string]string{"password": "wrong password"})
			if ip := f.lastAttemptIP(); ip != "203.0.113.9" {
				t.Errorf("client IP behind a trusted proxy: %s, want 203.0.113.9", ip)
			}
			b.submit(b.get("/login/forgot"), "/login/forgot", map[string]string{"email": "proxy@acme.example"})
			if m := f.lastMail("proxy@acme.example"); strings.Contains(m.Body, "evil.test") || !strings.Contains(m.Body, f.in.URL+"/login/reset?") {
				t.Errorf("emailed link behind a trusted proxy: %s", m.Body)
			}
		})
	}
}
