package login_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/gatehouse/gatehouse/internal/accounts"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/passwords"
	"github.com/gatehouse/gatehouse/internal/settings"
	"github.com/gatehouse/gatehouse/internal/store"
)

// TestSignup: an unknown email confirms a code, names itself and its
// organization, and is signed in as the admin of that new organization.
func TestSignup(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fx) {
		b := f.browser()
		a := newAuthz()
		p := b.signInWithCode(a, "new@startup.example")
		if p.heading() != "Create your account" || !p.has("/login/signup") {
			t.Fatalf("want the sign-up form, got %d: %s", p.status, p.text())
		}
		if f.lastMail("new@startup.example").Kind != "signup_code" {
			t.Error("the code email is not a sign-up email")
		}
		p = b.submit(p, "/login/signup", map[string]string{"given_name": "Grace", "family_name": "Hopper", "organization_name": "Startup"})
		_, idt := f.tokens(b.callback(p, a), a)
		u := f.getUser(idt["sub"].(string))
		if u.Email != "new@startup.example" || !u.EmailVerified || u.GivenName != "Grace" || len(u.Memberships) != 1 {
			t.Fatalf("user %+v", u)
		}
		m := u.Memberships[0]
		if m.OrgName != "Startup" || m.Status != store.MembershipActive || len(m.Roles) != 1 || m.Roles[0].Name != "admin" ||
			idt["oid"] != m.OrgID {
			t.Fatalf("membership %+v, oid %v", m, idt["oid"])
		}
	})
}

// TestSignupDisabled: without --allow-signup an unknown email sees the
// same code page, but no email is sent and no account can be made.
func TestSignupDisabled(t *testing.T) {
	f := newFx(t, false, func(c *config.Config) { c.AllowSignup = "false" })
	b := f.browser()
	p := b.authorize(newAuthz())
	if strings.Contains(p.text(), "Create an account") {
		t.Error("the sign-in page offers sign-up")
	}
	p = b.submit(p, "/login/email", map[string]string{"email": "stranger@else.example"})
	if !p.has("/login/code") {
		t.Fatalf("want the code page: %s", p.text())
	}
	if n := len(f.outbox("stranger@else.example")); n != 0 {
		t.Fatalf("%d emails sent to an unknown address with sign-up off", n)
	}
}

// TestPromptCreate: prompt=create opens on the sign-up form.
func TestPromptCreate(t *testing.T) {
	f := newFx(t, false, nil)
	b := f.browser()
	a := newAuthz()
	a.extra = url.Values{"prompt": {"create"}}
	p := b.authorize(a)
	if p.heading() != "Create your account" || p.form(t, "/login/email").Get("intent") != "signup" {
		t.Fatalf("prompt=create: %s", p.text())
	}
}

// TestInviteAcceptance: a PENDING_INVITE membership becomes ACTIVE at the
// first sign-in, and the email becomes verified.
func TestInviteAcceptance(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fx) {
		uid := f.user(f.orgID, "invited@acme.example", "", true)
		if u := f.getUser(uid); u.Memberships[0].Status != store.MembershipPendingInvite || u.EmailVerified {
			t.Fatalf("before: %+v", u.Memberships[0])
		}
		b := f.browser()
		a := newAuthz()
		_, idt := f.tokens(b.callback(b.signInWithCode(a, "invited@acme.example"), a), a)
		u := f.getUser(uid)
		if idt["oid"] != f.orgID || u.Memberships[0].Status != store.MembershipActive || !u.EmailVerified || u.LastLoginAt.IsZero() {
			t.Fatalf("after: %+v verified=%v", u.Memberships[0], u.EmailVerified)
		}
	})
}

// TestOrganizationPicker: a member of two organizations picks one; an
// organization_id in the request picks it without asking, and one the
// user does not belong to ends in access_denied.
func TestOrganizationPicker(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fx) {
		uid := f.user(f.orgID, "two@acme.example", "correct horse battery", false)
		second := f.org("Second")
		f.member(uid, second)
		third := f.org("Third")

		b := f.browser()
		a := newAuthz()
		p := b.signInWithPassword(a, "two@acme.example", "correct horse battery")
		if p.heading() != "Choose an organization" || !strings.Contains(p.text(), "Acme") || !strings.Contains(p.text(), "Second") {
			t.Fatalf("want the picker: %s", p.text())
		}
		bad := b.submitRaw(p, "/login/organization", map[string]string{"organization_id": third})
		if bad.status != http.StatusBadRequest {
			t.Fatalf("a foreign organization was accepted: %d", bad.status)
		}
		p = b.submitRaw(p, "/login/organization", map[string]string{"organization_id": second})
		if _, idt := f.tokens(b.callback(p, a), a); idt["oid"] != second {
			t.Fatalf("oid = %v, want %s", idt["oid"], second)
		}

		b = f.browser()
		a = newAuthz()
		a.extra = url.Values{"organization_id": {second}}
		p = b.signInWithPassword(a, "two@acme.example", "correct horse battery")
		if _, idt := f.tokens(b.callback(p, a), a); idt["oid"] != second {
			t.Fatalf("organization_id: oid = %v", idt["oid"])
		}

		b = f.browser()
		a = newAuthz()
		a.extra = url.Values{"organization_id": {third}}
		p = b.signInWithPassword(a, "two@acme.example", "correct horse battery")
		q := mustURL(t, p.location).Query()
		if p.status != http.StatusSeeOther || !strings.HasPrefix(p.location, appCB) || q.Get("error") != "access_denied" ||
			q.Get("state") != a.state || q.Get("iss") != f.in.URL {
			t.Fatalf("non-member: %d %s", p.status, p.location)
		}
	})
}

// TestPromptMaxAgeLoginHint: login_hint prefills the email; a session
// gives single sign-on until prompt=login or max_age ask again;
// prompt=select_account shows the picker even for one organization.
func TestPromptMaxAgeLoginHint(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fx) {
		f.user(f.orgID, "hint@acme.example", "correct horse battery", false)
		b := f.browser()
		a := newAuthz()
		a.extra = url.Values{"login_hint": {"hint@acme.example"}}
		p := b.authorize(a)
		if got := attr(p.input("email"), "value"); got != "hint@acme.example" {
			t.Fatalf("login_hint: email field = %q", got)
		}
		p = b.submit(p, "/login/email", nil)
		_, first := f.tokens(b.callback(b.submit(p, "/login/password", map[string]string{"password": "correct horse battery"}), a), a)

		a = newAuthz()
		b.callback(b.authorize(a), a) // single sign-on

		for _, extra := range []url.Values{{"prompt": {"login"}}, {"max_age": {"0"}}} {
			f.advance(2 * time.Second)
			a = newAuthz()
			a.extra = extra
			p = b.authorize(a)
			if !p.has("/login/email") {
				t.Fatalf("%v: want the sign-in page, got %d %s", extra, p.status, p.location)
			}
			p = b.submit(p, "/login/email", map[string]string{"email": "hint@acme.example"})
			_, idt := f.tokens(b.callback(b.submit(p, "/login/password", map[string]string{"password": "correct horse battery"}), a), a)
			if idt["auth_time"].(float64) <= first["auth_time"].(float64) {
				t.Errorf("%v: auth_time %v not after %v", extra, idt["auth_time"], first["auth_time"])
			}
		}

		a = newAuthz()
		a.extra = url.Values{"prompt": {"select_account"}}
		p = b.authorize(a)
		p = b.submit(p, "/login/email", map[string]string{"email": "hint@acme.example"})
		p = b.submit(p, "/login/password", map[string]string{"password": "correct horse battery"})
		if p.heading() != "Choose an organization" {
			t.Fatalf("select_account: %s", p.text())
		}
		p = b.submitRaw(p, "/login/organization", map[string]string{"organization_id": f.orgID})
		b.callback(p, a)
	})
}

// TestPasswordReset: "forgot your password?" emails a single-use link
// whose page sets a new password; the old one stops working.
func TestPasswordReset(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fx) {
		f.user(f.orgID, "reset@acme.example", "old password here", false)
		b := f.browser()
		a := newAuthz()
		p := b.authorize(a)
		p = b.submit(p, "/login/email", map[string]string{"email": "reset@acme.example"})
		p = b.get(attr(findLink(p, "Forgot your password?"), "href"))
		p = b.submit(p, "/login/forgot", map[string]string{"email": "reset@acme.example"})
		if !strings.Contains(p.text(), "If an account exists") {
			t.Fatalf("forgot: %s", p.text())
		}
		link := f.lastLink("reset@acme.example", resetRE)
		p = b.get(link)
		if !p.has("/login/reset") || attr(p.input("new_password"), "autocomplete") != "new-password" {
			t.Fatalf("reset page: %d %s", p.status, p.text())
		}
		p = b.submit(p, "/login/reset", map[string]string{"new_password": "new password here"})
		if p.heading() != "Your password is set" {
			t.Fatalf("reset: %s", p.text())
		}
		if again := b.get(link); again.status != http.StatusBadRequest {
			t.Errorf("a used reset link still shows its form: %d", again.status)
		}
		p = b.follow(b.get(attr(findLink(p, "Continue to sign in"), "href")))
		if !p.has("/login/password") {
			t.Fatalf("want the password step after a reset: %s", p.text())
		}
		if bad := b.submit(p, "/login/password", map[string]string{"password": "old password here"}); bad.status != http.StatusBadRequest {
			t.Fatalf("the old password still works: %d", bad.status)
		}
		p = b.submit(p, "/login/password", map[string]string{"password": "new password here"})
		b.callback(p, a)
	})
}

// TestLegacyHashRehashed: an imported bcrypt hash signs in and is
// replaced with argon2id (SECURITY-BAR A07, the login half).
func TestLegacyHashRehashed(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fx) {
		uid := f.user(f.orgID, "legacy@acme.example", "", false)
		// bcrypt of "test" at cost 4 (php-src's vector).
		f.setHash(uid, "$2y$04$MTIzNDU2Nzg5MDEyMzQ1NekACxf2CF7ipfk/b9FllU9Fs8RcUm5UG")
		b := f.browser()
		a := newAuthz()
		b.callback(b.signInWithPassword(a, "legacy@acme.example", "test"), a)
		h := f.storedHash(uid)
		if !strings.HasPrefix(h, "$argon2id$") {
			t.Fatalf("hash after login: %s", h)
		}
		if ok, rehash, _ := passwords.Verify(h, "test"); !ok || rehash {
			t.Fatalf("the new hash does not verify as current: ok=%v rehash=%v", ok, rehash)
		}
	})
}

// TestBranding: the environment's branding on the page; the
// organization's logo when the request names it.
func TestBranding(t *testing.T) {
	f := newFx(t, false, nil)
	_, err := f.in.Server.Settings.UpdateBranding(f.ctx, settings.Branding{LogoURL: "https://cdn.example/env.png",
		PrimaryColor: "#1a73e8", BackgroundColor: "#fafafa", CompanyName: "Acme Corp", TermsURL: "https://acme.example/terms",
		PrivacyURL: "https://acme.example/privacy", LoginHeading: "Welcome to Acme"})
	if err != nil {
		t.Fatal(err)
	}
	p := f.browser().authorize(newAuthz())
	for _, want := range []string{`src="https://cdn.example/env.png"`, `alt="Acme Corp"`, "--primary: #1a73e8", "--background: #fafafa",
		`href="https://acme.example/terms"`, `href="https://acme.example/privacy"`, "Welcome to Acme"} {
		if !strings.Contains(p.body, want) {
			t.Errorf("the page lacks %s", want)
		}
	}
	logo := "https://cdn.example/org.png"
	if _, err := f.in.Server.Accounts.UpdateOrganization(f.ctx, accounts.Ref{ID: f.orgID}, accounts.OrgFields{LogoURL: &logo}, []string{"logo_url"}); err != nil {
		t.Fatal(err)
	}
	a := newAuthz()
	a.extra = url.Values{"organization_id": {f.orgID}}
	if p := f.browser().authorize(a); !strings.Contains(p.body, `src="`+logo+`"`) {
		t.Errorf("the organization's logo is not shown")
	}
}

func findLink(p *page, text string) *html.Node {
	var found *html.Node
	walk(p.doc, func(n *html.Node) bool {
		if n.Type == html.ElementNode && n.Data == "a" && n.FirstChild != nil && strings.TrimSpace(n.FirstChild.Data) == text {
			found = n
		}
		return found == nil
	})
	return found
}
