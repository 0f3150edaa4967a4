package login_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
)

// TestPasswordFlow: the app sends the browser to /oauth/authorize, the
// user types an email and a password, and the app gets a code that
// redeems for tokens about that user and organization.
func TestPasswordFlow(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fx) {
		uid := f.user(f.orgID, "ada@acme.example", "correct horse battery", false)
		b := f.browser()
		a := newAuthz()
		p := b.signInWithPassword(a, "Ada@Acme.example", "correct horse battery")
		code := b.callback(p, a)
		tok, idt := f.tokens(code, a)
		if idt["sub"] != uid || idt["oid"] != f.orgID || idt["nonce"] != a.nonce || idt["email"] != "ada@acme.example" {
			t.Fatalf("id token claims %v", idt)
		}
		if amr, _ := idt["amr"].([]any); !slices.Contains(amr, any("pwd")) {
			t.Errorf("amr = %v, want pwd", idt["amr"])
		}
		if tok["refresh_token"] == nil {
			t.Error("no refresh token for offline_access")
		}
		// The session now gives single sign-on: no page at all.
		a2 := newAuthz()
		b.callback(b.authorize(a2), a2)
	})
}

// TestOTPFlow: a user without a password gets a code by email.
func TestOTPFlow(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fx) {
		uid := f.user(f.orgID, "otp@acme.example", "", false)
		b := f.browser()
		a := newAuthz()
		p := b.signInWithCode(a, "otp@acme.example")
		_, idt := f.tokens(b.callback(p, a), a)
		if idt["sub"] != uid || idt["oid"] != f.orgID {
			t.Fatalf("id token claims %v", idt)
		}
		if amr, _ := idt["amr"].([]any); !slices.Contains(amr, any("otp")) {
			t.Errorf("amr = %v, want otp", idt["amr"])
		}
		m := f.lastMail("otp@acme.example")
		if m.Kind != "login_code" || !strings.Contains(m.Body, f.in.URL+"/login/link?token=") {
			t.Errorf("email %+v", m)
		}
	})
}

// TestMagicLinkFlow: the link in the same email signs in, after a
// confirmation (GET shows, POST uses).
func TestMagicLinkFlow(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fx) {
		uid := f.user(f.orgID, "link@acme.example", "", false)
		b := f.browser()
		a := newAuthz()
		p := b.authorize(a)
		p = b.submit(p, "/login/email", map[string]string{"email": "link@acme.example"})
		link := f.lastLink("link@acme.example", linkRE)
		for range 2 { // a scanner's GET changes nothing
			p = b.get(link)
			if p.status != http.StatusOK || !p.has("/login/link") {
				t.Fatalf("link page: %d %s", p.status, p.text())
			}
		}
		p = b.submit(p, "/login/link", nil)
		_, idt := f.tokens(b.callback(p, a), a)
		if idt["sub"] != uid {
			t.Fatalf("sub = %v", idt["sub"])
		}
	})
}
