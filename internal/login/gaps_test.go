package login_test

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/sessions"
)

// TestFirstMagicLinkVerifiesEmail: a user whose email is not verified
// signs in by magic link, which proves they read the email: the address
// is verified afterwards and the ID token says so.
func TestFirstMagicLinkVerifiesEmail(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fx) {
		const email = "unverified@acme.example"
		uid := f.user(f.orgID, email, "", false)
		if _, err := f.in.Server.Store().DB().Exec(`UPDATE users SET email_verified = $1 WHERE id = $2`, false, uid); err != nil {
			t.Fatal(err)
		}
		if f.getUser(uid).EmailVerified {
			t.Fatal("the user starts verified; the test would prove nothing")
		}
		b := f.browser()
		a := newAuthz()
		b.submit(b.authorize(a), "/login/email", map[string]string{"email": email})
		p := b.submit(b.get(f.lastLink(email, linkRE)), "/login/link", nil)
		_, idt := f.tokens(b.callback(p, a), a)
		if !f.getUser(uid).EmailVerified {
			t.Error("the first magic link did not verify the email")
		}
		if idt["email_verified"] != true {
			t.Errorf("email_verified claim = %v", idt["email_verified"])
		}
	})
}

// TestA10MagicLinkAfterLogout: a signed-in user asks for a sign-in link
// (a new sign-in with prompt=login), then signs out at /oidc/logout; the
// link from before the logout no longer signs anyone in, in that browser
// or another, and the session stays ended.
func TestA10MagicLinkAfterLogout(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fx) {
		const email = "logout-link@acme.example"
		uid := f.user(f.orgID, email, "", false)
		b := f.browser()
		a := newAuthz()
		tok, _ := f.tokens(b.callback(b.signInWithCode(a, email), a), a)

		again := newAuthz()
		again.extra = url.Values{"prompt": {"login"}}
		p := b.authorize(again)
		if !p.has("/login/email") {
			t.Fatalf("prompt=login: want the email step, got %d %s", p.status, p.text())
		}
		b.submit(p, "/login/email", map[string]string{"email": email})
		link := f.lastLink(email, linkRE)
		confirm := b.get(link)
		if !confirm.has("/login/link") {
			t.Fatalf("the link before logout: %d %s", confirm.status, confirm.text())
		}
		v := confirm.form(t, "/login/link")

		out := b.get("/oidc/logout?" + url.Values{"id_token_hint": {tok["id_token"].(string)}}.Encode())
		if out.status != http.StatusOK || len(liveSessions(t, f, uid)) != 0 {
			t.Fatalf("logout: %d, %d live sessions", out.status, len(liveSessions(t, f, uid)))
		}

		if p := b.post("/login/link", v); p.status == http.StatusSeeOther && strings.HasPrefix(p.location, appCB) {
			t.Fatalf("the link from before the logout signed in: %s", p.location)
		} else if p.status != http.StatusBadRequest && p.status != http.StatusForbidden {
			t.Errorf("the link after logout: %d %s", p.status, p.text())
		}
		if p := b.get(link); p.has("/login/link") {
			t.Errorf("the link's confirmation page is still offered after logout: %s", p.text())
		}
		if p := f.browser().get(link); p.status != http.StatusBadRequest {
			t.Errorf("the link in another browser after logout: %d", p.status)
		}
		if n := len(liveSessions(t, f, uid)); n != 0 {
			t.Errorf("%d live sessions after using the link", n)
		}
	})
}

// TestS02SessionIDsUnique: 1,000 sessions made by the session service
// have distinct ids and distinct cookies of at least 128 random bits.
func TestS02SessionIDsUnique(t *testing.T) {
	f := newFx(t, false, nil)
	uid := f.user(f.orgID, "many@acme.example", "", false)
	ids, cookies := map[string]bool{}, map[string]bool{}
	for range 1000 {
		ses, cookie, err := f.in.Server.Sessions.Create(f.ctx, sessions.NewSession{UserID: uid, OrgID: f.orgID, AMR: []string{"otp"}, Cookie: true})
		if err != nil {
			t.Fatal(err)
		}
		if ids[ses.ID] || cookies[cookie] {
			t.Fatalf("a repeated session id or cookie after %d sessions", len(ids))
		}
		ids[ses.ID], cookies[cookie] = true, true
		raw, err := base64.RawURLEncoding.DecodeString(cookie)
		if err != nil || len(raw) < 16 {
			t.Fatalf("cookie %q: %d bytes (%v), want at least 16 random bytes", cookie, len(raw), err)
		}
		if strings.Contains(cookie, ses.ID) {
			t.Fatalf("the cookie %q carries the session id", cookie)
		}
	}
	if !strings.HasPrefix(firstKey(ids), "ses_") {
		t.Errorf("session id %q", firstKey(ids))
	}
}

func firstKey(m map[string]bool) string {
	for k := range m {
		return k
	}
	return ""
}

// TestMorePagesAccessible extends TestPagesAccessible to the sign-up,
// reset, organization picker and link confirmation pages: labelled
// inputs with the standard autocomplete tokens, one h1, lang, a viewport,
// no script, and a name for every button.
func TestMorePagesAccessible(t *testing.T) {
	f := newFx(t, false, func(c *config.Config) { c.AllowSignup = "true" })
	// Sign-up: an unknown email, its code, then the sign-up form.
	b := f.browser()
	p := b.submit(b.authorize(newAuthz()), "/login/email", map[string]string{"email": "newcomer@acme.example"})
	signup := b.submit(p, "/login/code", map[string]string{"code": f.lastCode("newcomer@acme.example")})
	if !signup.has("/login/signup") {
		t.Fatalf("no sign-up page: %d %s", signup.status, signup.text())
	}
	// Reset: the page of an emailed reset link.
	f.user(f.orgID, "resetter@acme.example", "a fine password", false)
	rb := f.browser()
	rb.submit(rb.get("/login/forgot"), "/login/forgot", map[string]string{"email": "resetter@acme.example"})
	reset := rb.get(f.lastLink("resetter@acme.example", resetRE))
	// The organization picker: a member of two organizations.
	two := f.user(f.orgID, "two-orgs@acme.example", "a fine password", false)
	f.member(two, f.org("Beta"))
	picker := f.browser().signInWithPassword(newAuthz(), "two-orgs@acme.example", "a fine password")
	// The link confirmation page.
	f.user(f.orgID, "linker@acme.example", "", false)
	lb := f.browser()
	lb.submit(lb.authorize(newAuthz()), "/login/email", map[string]string{"email": "linker@acme.example"})
	link := lb.get(f.lastLink("linker@acme.example", linkRE))

	want := map[*page][]string{
		signup: {"given-name", "family-name", "organization"},
		reset:  {"username", "new-password"},
		picker: nil,
		link:   nil,
	}
	for p, tokens := range want {
		if p.status != http.StatusOK || p.doc == nil {
			t.Fatalf("%s: %d %s", p.url.Path, p.status, p.text())
		}
		checkAccessible(t, p, tokens)
	}
	if !picker.has("/login/organization") {
		t.Errorf("no organization picker: %s", picker.text())
	}
	if !link.has("/login/link") {
		t.Errorf("no link confirmation: %s", link.text())
	}
}

// checkAccessible checks one page: every visible input has a label
// (label for=id) and, when it is in tokens' page, its autocomplete token;
// exactly one h1; lang and a viewport; no script; every button has text.
func checkAccessible(t *testing.T, p *page, tokens []string) {
	t.Helper()
	labels, got := map[string]bool{}, map[string]bool{}
	h1 := 0
	walk(p.doc, func(n *html.Node) bool {
		if n.Type != html.ElementNode {
			return true
		}
		switch n.Data {
		case "label":
			labels[attr(n, "for")] = true
		case "h1":
			h1++
		case "script":
			t.Errorf("%s: a script element", p.url.Path)
		case "button":
			if textOf(n) == "" && attr(n, "aria-label") == "" {
				t.Errorf("%s: a button without a name", p.url.Path)
			}
		}
		return true
	})
	walk(p.doc, func(n *html.Node) bool {
		if n.Type == html.ElementNode && n.Data == "input" && attr(n, "type") != "hidden" {
			if attr(n, "id") == "" || !labels[attr(n, "id")] {
				t.Errorf("%s: input %s has no label", p.url.Path, attr(n, "name"))
			}
			if attr(n, "autocomplete") == "" {
				t.Errorf("%s: input %s has no autocomplete token", p.url.Path, attr(n, "name"))
			}
			got[attr(n, "autocomplete")] = true
		}
		return true
	})
	for _, tok := range tokens {
		if !got[tok] {
			t.Errorf("%s: no input with autocomplete=%s", p.url.Path, tok)
		}
	}
	if h1 != 1 {
		t.Errorf("%s: %d h1 headings, want 1", p.url.Path, h1)
	}
	if !strings.Contains(p.body, `<html lang="en">`) || !strings.Contains(p.body, `name="viewport"`) {
		t.Errorf("%s: no lang or viewport", p.url.Path)
	}
}
