package login_test

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

// TestSignInStepEmails: the step after the email is the same page for
// every email (TestA02NoEnumeration compares them); what differs is only
// what is emailed at once (issue 4, point 2): a code and link to an
// account without a password, a sign-up code to an unknown email (sign-up
// is allowed here), nothing to an account with a password until it asks,
// and nothing to a user lazy migration can check a legacy password for.
func TestSignInStepEmails(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fx) {
		f.user(f.orgID, "nopw@acme.example", "", false)
		f.user(f.orgID, "haspw@acme.example", "a good password", false)
		f.user(f.orgID, "legacy@legacy.example", "", false)
		kinds := func(email string) string {
			var k []string
			for _, m := range f.outbox(email) {
				k = append(k, m.Kind)
			}
			return strings.Join(k, ",")
		}
		for email, want := range map[string]string{"nopw@acme.example": "login_code", "haspw@acme.example": "",
			"nobody@acme.example": "signup_code"} {
			b := f.browser()
			if p := b.toStep(email); p.status != http.StatusOK || !p.has("/login/password") || !p.has("/login/code") {
				t.Fatalf("%s: %d %s", email, p.status, p.text())
			}
			if got := kinds(email); got != want {
				t.Errorf("%s was emailed %q at the email step, want %q", email, got, want)
			}
		}

		// An account with a password asks for a code: the code step.
		b := f.browser()
		p := b.submit(b.toStep("haspw@acme.example"), "/login/code/send", nil)
		if kinds("haspw@acme.example") != "login_code" || !p.has("/login/code") || p.has("/login/password") {
			t.Fatalf("email me a code: emails %q, page %s", kinds("haspw@acme.example"), p.text())
		}
		b.toApp(b.submit(p, "/login/code", map[string]string{"code": f.lastCode("haspw@acme.example")}))

		// Lazy migration on: the legacy user types their legacy password.
		l := newLegacy(t, "legacy@legacy.example", false)
		f.enableLazy(l, 0, false)
		b = f.browser()
		p = b.toStep("legacy@legacy.example")
		if got := kinds("legacy@legacy.example"); got != "" {
			t.Errorf("a lazy migration candidate was emailed %q at the email step", got)
		}
		b.toApp(b.submit(p, "/login/password", map[string]string{"password": legacyPW}))
	})
}

// TestSignInStepForms: on the step after the email, a wrong code and a
// wrong password are shown on the same page, on the field they are about
// (aria-invalid, described by the error, focused), and the right code
// signs in from there.
func TestSignInStepForms(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fx) {
		f.user(f.orgID, "nopw@acme.example", "", false)
		b := f.browser()
		p := b.toStep("nopw@acme.example")
		code := f.lastCode("nopw@acme.example")
		n, _ := strconv.Atoi(code)
		wrong := fmt.Sprintf("%06d", (n+1)%1000000)
		r := b.submit(p, "/login/code", map[string]string{"code": wrong})
		if r.status != http.StatusBadRequest || !strings.Contains(r.text(), "That code is not right") || !r.has("/login/password") {
			t.Fatalf("a wrong code: %d %s", r.status, r.text())
		}
		checkErrorOn(t, r, "code", "password")
		r = b.submit(p, "/login/password", map[string]string{"password": "not the password"})
		if r.status != http.StatusBadRequest || !strings.Contains(r.text(), "Incorrect email or password.") || !r.has("/login/code") {
			t.Fatalf("a wrong password: %d %s", r.status, r.text())
		}
		checkErrorOn(t, r, "password", "code")
		checkAccessible(t, r, []string{"username", "current-password", "one-time-code"})
		b.toApp(b.submitRaw(r, "/login/code", map[string]string{"code": code}))
	})
}

// checkErrorOn checks that the page's error is on the input named bad
// (invalid, described by the error, focused) and not on the one named ok,
// and that every id an aria attribute names is on the page.
func checkErrorOn(t *testing.T, p *page, bad, ok string) {
	t.Helper()
	in, other := p.input(bad), p.input(ok)
	if in == nil || other == nil {
		t.Fatalf("no %s or %s input: %s", bad, ok, p.text())
	}
	if attr(in, "aria-invalid") != "true" || !strings.Contains(attr(in, "aria-describedby"), "form-error") || !hasAttr(in, "autofocus") {
		t.Errorf("the %s input does not carry the error: %v", bad, in.Attr)
	}
	if attr(other, "aria-invalid") != "" || hasAttr(other, "autofocus") {
		t.Errorf("the %s input is marked too: %v", ok, other.Attr)
	}
	ids := map[string]bool{}
	walk(p.doc, func(n *html.Node) bool {
		if id := attr(n, "id"); n.Type == html.ElementNode && id != "" {
			ids[id] = true
		}
		return true
	})
	walk(p.doc, func(n *html.Node) bool {
		for _, a := range []string{"aria-describedby", "aria-labelledby"} {
			for _, id := range strings.Fields(attr(n, a)) {
				if !ids[id] {
					t.Errorf("%s=%q names no element", a, id)
				}
			}
		}
		return true
	})
}

func hasAttr(n *html.Node, key string) bool {
	for _, a := range n.Attr {
		if a.Key == key {
			return true
		}
	}
	return false
}

// TestSignInStepSendLimit: the email step counts a send against the
// per-email limit for every email, so once the limit is reached its notice
// is the same for an account with a password, one without and an unknown
// email (SECURITY-BAR A02), and the account without one is sent no more.
func TestSignInStepSendLimit(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fx) {
		f.user(f.orgID, "nopw@acme.example", "", false)
		f.user(f.orgID, "haspw@acme.example", "a good password", false)
		const unknown = "nobody@acme.example"
		last := map[string]*page{}
		for i := 0; i < 8; i++ {
			for _, email := range []string{"nopw@acme.example", "haspw@acme.example", unknown} {
				last[email] = f.browser().toStep(email)
			}
		}
		if !strings.Contains(last[unknown].text(), "several codes recently") {
			t.Fatalf("no notice after 8 email steps: %s", last[unknown].text())
		}
		same(t, "email step at the send limit (no password)", last["nopw@acme.example"], "nopw@acme.example", last[unknown], unknown)
		same(t, "email step at the send limit (a password)", last["haspw@acme.example"], "haspw@acme.example", last[unknown], unknown)
		if n := len(f.outbox("nopw@acme.example")); n >= 8 || n == 0 {
			t.Errorf("the account without a password was sent %d codes in 8 email steps, want fewer, at least one", n)
		}
	})
}
