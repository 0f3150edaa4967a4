package oauth_test

// Signing key rotation at the boundary apps touch (SECURITY-BAR J09): /keys,
// the management API, /userinfo and /oauth/introspect, with the rotation
// made through gatehouse.v1.KeysService and a fake clock.

import (
	"net/http"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/servertest"
	"github.com/gatehouse/gatehouse/internal/signing"
)

func kidOf(t *testing.T, tok string) string {
	t.Helper()
	h, _ := segments(t, tok)
	kid, _ := h["kid"].(string)
	return kid
}

func jwksHas(t *testing.T, base string, want ...string) bool {
	t.Helper()
	set := fetchJWKS(t, base)
	if len(set.Keys) != len(want) {
		return false
	}
	for _, kid := range want {
		if len(set.Key(kid)) != 1 {
			return false
		}
	}
	return true
}

// rotate calls KeysService.RotateSigningKey over REST and returns the new kid.
func rotate(t *testing.T, in *servertest.Instance, token, body string) string {
	t.Helper()
	status, out := in.Do(t, token, http.MethodPost, "/api/v1/signing-keys/rotate", body)
	key, _ := out["key"].(map[string]any)
	kid, _ := key["id"].(string)
	if status != http.StatusOK || kid == "" {
		t.Fatalf("rotate %s: %d %v", body, status, out)
	}
	return kid
}

func TestKeyRotation(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fx) {
		in := f.in
		m1 := in.Token(t)
		oldKid := kidOf(t, m1)
		if status, _ := in.Do(t, "", http.MethodPost, "/api/v1/signing-keys/rotate", "{}"); status != http.StatusUnauthorized {
			t.Errorf("rotate without a token: %d, want 401", status)
		}
		newKid := rotate(t, in, m1, "{}")
		if !jwksHas(t, in.URL, oldKid, newKid) {
			t.Fatalf("/keys right after the rotation = %v, want %s and %s", fetchJWKS(t, in.URL).Keys, oldKid, newKid)
		}

		// The new key is published but signs nothing until the delay ends.
		f.clk.Set(t0.Add(signing.DefaultPublishFor - time.Second))
		tk, _, _ := f.signIn(t)
		if k1, k2, k3 := kidOf(t, tk.access), kidOf(t, tk.id), kidOf(t, in.Token(t)); k1 != oldKid || k2 != oldKid || k3 != oldKid {
			t.Fatalf("before activation tokens are signed by %s, %s, %s, want the old key %s", k1, k2, k3, oldKid)
		}

		// Overlap: both keys published, old tokens still good everywhere.
		f.clk.Set(t0.Add(signing.DefaultPublishFor))
		m2 := in.Token(t)
		tk2, _, _ := f.signIn(t)
		if k1, k2, k3 := kidOf(t, m2), kidOf(t, tk2.access), kidOf(t, tk2.id); k1 != newKid || k2 != newKid || k3 != newKid {
			t.Fatalf("after activation tokens are signed by %s, %s, %s, want the new key %s", k1, k2, k3, newKid)
		}
		if !jwksHas(t, in.URL, oldKid, newKid) {
			t.Errorf("/keys during the overlap = %v", fetchJWKS(t, in.URL).Keys)
		}
		if s := bearer(t, in, m1); s != http.StatusOK {
			t.Errorf("an old-key management token during the overlap: %d", s)
		}
		if r := f.userinfo(t, tk.access); r.status != http.StatusOK {
			t.Errorf("userinfo with an old-key access token during the overlap: %d %s", r.status, r.raw)
		}
		if !f.active(t, tk.access) {
			t.Error("introspect says an old-key access token is inactive during the overlap")
		}

		// Removal: an emergency rotation removes both keys at once; their
		// unexpired tokens (m1 was cached as verified) fail everywhere.
		key3 := rotate(t, in, m2, `{"immediate": true, "remove_previous": true}`)
		for what, tok := range map[string]string{"old": m1, "second": m2} {
			if s := bearer(t, in, tok); s != http.StatusUnauthorized {
				t.Errorf("the %s key's management token after its removal: %d, want 401", what, s)
			}
		}
		if r := f.userinfo(t, tk.access); r.status != http.StatusUnauthorized {
			t.Errorf("userinfo with a removed key's token: %d, want 401", r.status)
		}
		if f.active(t, tk2.access) {
			t.Error("introspect says a removed key's access token is active")
		}
		m3 := in.Token(t)
		if kidOf(t, m3) != key3 || bearer(t, in, m3) != http.StatusOK || !jwksHas(t, in.URL, key3) {
			t.Fatalf("after the emergency rotation: token kid %s, /keys %v", kidOf(t, m3), fetchJWKS(t, in.URL).Keys)
		}

		// A normal rotation's old key leaves after the longest token
		// lifetime (24 h, the session policy's maximum) and the margin.
		start := f.clk.Now()
		key4 := rotate(t, in, m3, `{"publication_delay_seconds": 300}`)
		removeAt := start.Add(300*time.Second + 24*time.Hour + signing.RemovalMargin)
		f.clk.Set(removeAt.Add(-time.Second))
		if !jwksHas(t, in.URL, key3, key4) {
			t.Errorf("/keys a second before removal = %v, want %s and %s", fetchJWKS(t, in.URL).Keys, key3, key4)
		}
		f.clk.Set(removeAt)
		if !jwksHas(t, in.URL, key4) {
			t.Errorf("/keys at removal = %v, want only %s", fetchJWKS(t, in.URL).Keys, key4)
		}
	})
}

// TestKeyRotationAcrossNodes: two servers on one PostgreSQL database; a
// rotation through one reaches the other at its next reload, and both sign
// with the new key from the same moment.
func TestKeyRotationAcrossNodes(t *testing.T) {
	clk := newClock()
	fast := func(c *config.Config) { c.KeysReloadInterval = 50 * time.Millisecond }
	a := servertest.Start(t, withMasterKey(servertest.Options{Postgres: true, Now: clk.Now, Configure: fast}))
	b := servertest.Start(t, withMasterKey(servertest.Options{Now: clk.Now, Configure: func(c *config.Config) {
		fast(c)
		// Nodes behind one load balancer share the database and the issuer.
		c.DatabaseURL, c.PublicURL = a.Config.DatabaseURL, a.Config.PublicURL
	}}))
	m1 := a.Token(t)
	oldKid := kidOf(t, m1)
	if !jwksHas(t, b.URL, oldKid) {
		t.Fatalf("the second node's /keys = %v, want the first node's key %s", fetchJWKS(t, b.URL).Keys, oldKid)
	}
	newKid := rotate(t, a, m1, `{"publication_delay_seconds": 300}`)
	eventually(t, "the second node publishes the next key", func() bool { return jwksHas(t, b.URL, oldKid, newKid) })
	if kid := kidOf(t, b.Token(t)); kid != oldKid {
		t.Errorf("the second node signs with %s before activation", kid)
	}
	clk.Set(t0.Add(300 * time.Second))
	if ka, kb := kidOf(t, a.Token(t)), kidOf(t, b.Token(t)); ka != newKid || kb != newKid {
		t.Errorf("at activation the nodes sign with %s and %s, want %s", ka, kb, newKid)
	}
	if s := bearer(t, b, m1); s != http.StatusOK {
		t.Errorf("the second node refuses a token of the retiring key: %d", s)
	}
	rotate(t, a, a.Token(t), `{"immediate": true, "remove_previous": true}`)
	eventually(t, "the second node refuses the removed key's token", func() bool { return bearer(t, b, m1) == http.StatusUnauthorized })
}

func eventually(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
