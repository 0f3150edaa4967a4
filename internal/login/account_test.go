package login_test

// The account page (SECURITY-BAR A12, S02, S04, S05): changing the
// password and the email with re-authentication, signing out everywhere
// else, CSRF on every form, and the session cookie it is reached with.

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/gatehouse/gatehouse/internal/login"
	"github.com/gatehouse/gatehouse/internal/passwords"
	"github.com/gatehouse/gatehouse/internal/sessions"
)

// signedIn is a browser signed in as email (with its password, or a code
// when pw is empty) and the tokens its app got.
func (f *fx) signedIn(email, pw string) (*browser, map[string]any) {
	f.t.Helper()
	b := f.browser()
	a := newAuthz()
	var p *page
	if pw != "" {
		p = b.signInWithPassword(a, email, pw)
	} else {
		p = b.signInWithCode(a, email)
	}
	tok, _ := f.tokens(b.callback(p, a), a)
	return b, tok
}

// account opens the account page and checks it is there.
func (b *browser) account() *page {
	b.t.Helper()
	p := b.get(login.AccountPath)
	if p.status != http.StatusOK || p.heading() != "Your account" {
		b.t.Fatalf("account page: %d %s", p.status, p.text())
	}
	return p
}

// refreshStatus redeems a refresh token and returns the status and error.
func (f *fx) refreshStatus(tok map[string]any) (int, string) {
	f.t.Helper()
	rt, _ := tok["refresh_token"].(string)
	if rt == "" {
		f.t.Fatal("no refresh token")
	}
	code, body := f.postToken(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}})
	e, _ := body["error"].(string)
	return code, e
}

var anyCodeRE = regexp.MustCompile(`code is (\d{6})`)

// TestA12AccountPasswordChange: the current password is required and
// throttled; the new one meets the policy and is stored as argon2id; the
// other sessions and their refresh tokens end, this one stays.
func TestA12AccountPasswordChange(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fx) {
		const email = "acct-pw@acme.example"
		uid := f.user(f.orgID, email, "first password", false)
		b, _ := f.signedIn(email, "first password")
		other, otherTok := f.signedIn(email, "first password")
		p := b.account()
		for name, token := range map[string]string{"current_password": "current-password", "new_password": "new-password", "username": "username"} {
			if in := p.input(name); in == nil || attr(in, "autocomplete") != token {
				t.Errorf("input %s: want autocomplete=%s", name, token)
			}
		}
		before := f.storedHash(uid)
		if r := b.submitRaw(p, "/account/password", map[string]string{"current_password": "wrong password", "new_password": "second password"}); r.status != http.StatusBadRequest || !strings.Contains(r.text(), "current password is not right") {
			t.Errorf("wrong current password: %d %s", r.status, r.text())
		}
		if r := b.submitRaw(p, "/account/password", map[string]string{"current_password": "", "new_password": "second password"}); r.status != http.StatusBadRequest {
			t.Errorf("no current password: %d", r.status)
		}
		if r := b.submitRaw(p, "/account/password", map[string]string{"current_password": "first password", "new_password": "password1"}); r.status != http.StatusBadRequest || !strings.Contains(r.text(), "most common") {
			t.Errorf("a common new password: %d %s", r.status, r.text())
		}
		if f.storedHash(uid) != before {
			t.Fatal("a refused change changed the password")
		}
		r := b.submitRaw(p, "/account/password", map[string]string{"current_password": "first password", "new_password": "second password"})
		if r.status != http.StatusSeeOther || r.location != login.AccountPath+"?done=password" {
			t.Fatalf("change: %d %q %s", r.status, r.location, r.text())
		}
		if p := b.follow(r); !strings.Contains(p.text(), "Your password is changed") {
			t.Errorf("no notice: %s", p.text())
		}
		h := f.storedHash(uid)
		if ok, _, _ := passwords.Verify(h, "second password"); !ok || !strings.HasPrefix(h, "$argon2id$") {
			t.Errorf("stored hash %q", h)
		}
		if code, e := f.refreshStatus(otherTok); code != http.StatusBadRequest || e != "invalid_grant" {
			t.Errorf("the other session's refresh token after a password change: %d %s", code, e)
		}
		if p := other.get(login.AccountPath); p.status != http.StatusUnauthorized {
			t.Errorf("the other browser still reaches the account page: %d", p.status)
		}
		b.account()
		if n := len(liveSessions(t, f, uid)); n != 1 {
			t.Errorf("%d live sessions, want this one", n)
		}
	})
}

// TestA12AccountPasswordThrottled: wrong current passwords are throttled
// like the login, sharing its per-account counter.
func TestA12AccountPasswordThrottled(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fx) {
		const email = "acct-throttle@acme.example"
		f.user(f.orgID, email, "first password", false)
		b, _ := f.signedIn(email, "first password")
		p := b.account()
		throttled := 0
		for i := 0; i < 12 && throttled == 0; i++ {
			r := b.submitRaw(p, "/account/password", map[string]string{"current_password": "wrong password", "new_password": "second password"})
			if r.status == http.StatusTooManyRequests {
				throttled = i + 1
			}
		}
		if throttled == 0 || throttled < login.DefaultLimits.PasswordPerAccount.Free {
			t.Fatalf("throttled at attempt %d", throttled)
		}
		// The right password waits too, and the login shares the counter.
		if r := b.submitRaw(p, "/account/password", map[string]string{"current_password": "first password", "new_password": "second password"}); r.status != http.StatusTooManyRequests {
			t.Errorf("the right password while throttled: %d", r.status)
		}
		lb := f.browser()
		if r := lb.submit(lb.toPassword(email), "/login/password", map[string]string{"password": "first password"}); r.status != http.StatusTooManyRequests {
			t.Errorf("the login is not throttled by the account page's failures: %d", r.status)
		}
		f.advance(time.Hour)
		if r := b.submitRaw(p, "/account/password", map[string]string{"current_password": "first password", "new_password": "second password"}); r.status != http.StatusSeeOther {
			t.Errorf("after the window: %d %s", r.status, r.text())
		}
	})
}

// TestA12AccountWithoutPassword: a user who signs in with codes has no
// password form; they get a set-password link by email.
func TestA12AccountWithoutPassword(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fx) {
		const email = "acct-nopw@acme.example"
		f.user(f.orgID, email, "", false)
		b, _ := f.signedIn(email, "")
		p := b.account()
		if p.has("/account/password") || !p.has("/account/password/link") {
			t.Fatalf("password forms: %s", p.text())
		}
		v := p.form(t, "/account/password/link")
		v.Set("current_password", "anything at all")
		v.Set("new_password", "a new password")
		if r := b.post("/account/password", v); r.status != http.StatusBadRequest {
			t.Errorf("setting a password without the link: %d", r.status)
		}
		if r := b.submitRaw(p, "/account/password/link", nil); r.status != http.StatusSeeOther {
			t.Fatalf("link: %d %s", r.status, r.text())
		}
		link := f.lastLink(email, resetRE)
		if !strings.HasPrefix(link, f.in.URL+"/login/reset?") {
			t.Errorf("link %s", link)
		}
	})
}

// TestA12AccountEmailChange: re-authentication, a code to the new
// address, the change only on confirmation (verified), no reuse or
// expired codes, and a taken address answered like a free one.
func TestA12AccountEmailChange(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fx) {
		const email, newEmail = "acct-email@acme.example", "new-address@acme.example"
		uid := f.user(f.orgID, email, "first password", false)
		f.user(f.orgID, "taken@acme.example", "", false)
		b, _ := f.signedIn(email, "first password")
		p := b.account()
		if in := p.input("new_email"); in == nil || attr(in, "autocomplete") != "email" {
			t.Error("no new_email input with autocomplete=email")
		}
		r := b.submitRaw(p, "/account/email", map[string]string{"new_email": newEmail, "current_password": "wrong password"})
		if r.status != http.StatusBadRequest || len(f.outbox(newEmail)) != 0 {
			t.Fatalf("wrong current password: %d, %d emails", r.status, len(f.outbox(newEmail)))
		}
		r = b.submitRaw(p, "/account/email", map[string]string{"new_email": newEmail, "current_password": "first password"})
		if r.status != http.StatusSeeOther {
			t.Fatalf("change: %d %s", r.status, r.text())
		}
		sent := b.follow(r)
		if !sent.has("/account/email/confirm") || attr(sent.input("code"), "autocomplete") != "one-time-code" {
			t.Fatalf("no confirm form: %s", sent.text())
		}
		if u := f.getUser(uid); u.Email != email {
			t.Fatalf("the email changed before confirmation: %s", u.Email)
		}
		code := f.lastCode(newEmail)
		wrong := "000000"
		if code == wrong {
			wrong = "111111"
		}
		if r := b.submitRaw(sent, "/account/email/confirm", map[string]string{"code": wrong}); r.status != http.StatusBadRequest {
			t.Errorf("wrong code: %d", r.status)
		}
		if r := b.submitRaw(sent, "/account/email/confirm", map[string]string{"code": code}); r.status != http.StatusSeeOther {
			t.Fatalf("confirm: %d %s", r.status, r.text())
		}
		u := f.getUser(uid)
		if u.Email != newEmail || !u.EmailVerified {
			t.Fatalf("after confirming: %s verified=%v", u.Email, u.EmailVerified)
		}
		if m := f.lastMail(email); m.Kind != "email_changed" {
			t.Errorf("the old address was not told: %s", m.Kind)
		}
		// Used once.
		if r := b.submitRaw(sent, "/account/email/confirm", map[string]string{"code": code}); r.status != http.StatusBadRequest {
			t.Errorf("a used code: %d", r.status)
		}
		// Expired.
		p = b.account()
		p = b.follow(b.submitRaw(p, "/account/email", map[string]string{"new_email": "third@acme.example", "current_password": "first password"}))
		code = f.lastCode("third@acme.example")
		f.advance(login.CodeTTL + time.Second)
		if r := b.submitRaw(p, "/account/email/confirm", map[string]string{"code": code}); r.status != http.StatusBadRequest {
			t.Errorf("an expired code: %d", r.status)
		}
		if u := f.getUser(uid); u.Email != newEmail {
			t.Errorf("an expired code changed the email to %s", u.Email)
		}
		// A taken address: the same answer, a notice (no code) to its owner.
		free := b.submitRaw(p, "/account/email", map[string]string{"new_email": "free@acme.example", "current_password": "first password"})
		taken := b.submitRaw(p, "/account/email", map[string]string{"new_email": "taken@acme.example", "current_password": "first password"})
		if free.status != taken.status || free.location != taken.location {
			t.Errorf("free %d %q, taken %d %q", free.status, free.location, taken.status, taken.location)
		}
		tp := b.follow(taken)
		if !tp.has("/account/email/confirm") || !strings.Contains(tp.text(), "taken@acme.example") {
			t.Errorf("taken: %s", tp.text())
		}
		m := f.lastMail("taken@acme.example")
		if m.Kind != "email_change_taken" || anyCodeRE.MatchString(m.Body) {
			t.Errorf("the owner of a taken address got %s: %s", m.Kind, m.Body)
		}
	})
}

// TestA12AccountEmailChangeWithoutPassword: a user without a password
// re-authenticates with a fresh code sent to the current address.
func TestA12AccountEmailChangeWithoutPassword(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fx) {
		const email, newEmail = "acct-code@acme.example", "acct-code-new@acme.example"
		uid := f.user(f.orgID, email, "", false)
		b, _ := f.signedIn(email, "")
		p := b.account()
		if attr(p.input("reauth_code"), "autocomplete") != "one-time-code" {
			t.Fatal("no re-authentication code input")
		}
		// The sign-in code does not re-authenticate.
		if r := b.submitRaw(p, "/account/email", map[string]string{"new_email": newEmail, "reauth_code": f.lastCode(email)}); r.status != http.StatusBadRequest {
			t.Fatalf("the sign-in code re-authenticated: %d", r.status)
		}
		f.advance(time.Hour) // past the hourly limit of emails to one address
		if r := b.submitRaw(p, "/account/email/reauth", nil); r.status != http.StatusSeeOther {
			t.Fatalf("reauth: %d %s", r.status, r.text())
		}
		reauth := f.lastCode(email)
		if r := b.submitRaw(p, "/account/email", map[string]string{"new_email": newEmail, "reauth_code": reauth}); r.status != http.StatusSeeOther {
			t.Fatalf("change: %d %s", r.status, r.text())
		}
		if r := b.submitRaw(p, "/account/email", map[string]string{"new_email": "x" + newEmail, "reauth_code": reauth}); r.status != http.StatusBadRequest {
			t.Errorf("a used re-authentication code: %d", r.status)
		}
		if r := b.submitRaw(b.account(), "/account/email/confirm", map[string]string{"code": f.lastCode(newEmail)}); r.status != http.StatusSeeOther {
			t.Fatalf("confirm: %d %s", r.status, r.text())
		}
		if u := f.getUser(uid); u.Email != newEmail || !u.EmailVerified {
			t.Errorf("after confirming: %s %v", u.Email, u.EmailVerified)
		}
	})
}

// TestS04SignOutEverywhereElse: the other sessions end at once with their
// refresh tokens; this one stays.
func TestS04SignOutEverywhereElse(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fx) {
		const email = "acct-others@acme.example"
		uid := f.user(f.orgID, email, "first password", false)
		b, myTok := f.signedIn(email, "first password")
		other, otherTok := f.signedIn(email, "first password")
		_, thirdTok := f.signedIn(email, "first password")
		p := b.account()
		if !strings.Contains(p.text(), "2 other places") {
			t.Errorf("sessions: %s", p.text())
		}
		if r := b.submitRaw(p, "/account/sessions/other", nil); r.status != http.StatusSeeOther {
			t.Fatalf("sign out others: %d %s", r.status, r.text())
		}
		for _, tok := range []map[string]any{otherTok, thirdTok} {
			if code, e := f.refreshStatus(tok); code != http.StatusBadRequest || e != "invalid_grant" {
				t.Errorf("another session's refresh token: %d %s", code, e)
			}
		}
		if code, e := f.refreshStatus(myTok); code != http.StatusOK {
			t.Errorf("this session's refresh token: %d %s", code, e)
		}
		if p := other.get(login.AccountPath); p.status != http.StatusUnauthorized {
			t.Errorf("the other browser: %d", p.status)
		}
		if n := len(liveSessions(t, f, uid)); n != 1 {
			t.Errorf("%d live sessions", n)
		}
	})
}

// TestA12NoSelfServiceManagement: a user's own access token cannot call
// the management API (so a user cannot mark their own email verified).
func TestA12NoSelfServiceManagement(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fx) {
		const email = "acct-api@acme.example"
		uid := f.user(f.orgID, email, "first password", false)
		_, tok := f.signedIn(email, "first password")
		at, _ := tok["access_token"].(string)
		for _, c := range []struct{ method, path, body string }{
			{"GET", "/api/v1/users/" + uid, ""},
			{"PATCH", "/api/v1/users/" + uid, `{"user":{"user_profile":{"name":"Mallory"}}}`},
			{"GET", "/api/v1/organizations", ""},
		} {
			if code, _ := f.in.Do(t, at, c.method, c.path, c.body); code != http.StatusUnauthorized {
				t.Errorf("%s %s with a user's access token: %d, want 401", c.method, c.path, code)
			}
		}
	})
}

// TestS05AccountCSRF: every account form refuses a POST without the
// session's token, with another session's, from another origin, as a
// cross-site form, and without a session.
func TestS05AccountCSRF(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fx) {
		const email = "acct-csrf@acme.example"
		uid := f.user(f.orgID, email, "first password", false)
		f.user(f.orgID, "acct-csrf2@acme.example", "", false)
		victim, _ := f.signedIn(email, "first password")
		attacker, _ := f.signedIn("acct-csrf2@acme.example", "")
		p := victim.account()
		good := p.form(t, "/account/password")
		good.Set("current_password", "first password")
		good.Set("new_password", "second password")
		ap := attacker.account()
		cases := map[string]func() *page{
			"no token": func() *page {
				v := url.Values{"current_password": {"first password"}, "new_password": {"second password"}}
				return victim.post("/account/password", v)
			},
			"another session's token": func() *page {
				v := ap.form(t, "/account/sessions/other")
				v.Set("current_password", "first password")
				v.Set("new_password", "second password")
				return victim.post("/account/password", v)
			},
			"Origin evil": func() *page {
				req, _ := http.NewRequest(http.MethodPost, f.in.URL+"/account/password", strings.NewReader(good.Encode()))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.Header.Set("Origin", "https://evil.test")
				return victim.do(req)
			},
			"cross-site form": func() *page {
				req, _ := http.NewRequest(http.MethodPost, f.in.URL+"/account/password", strings.NewReader(good.Encode()))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.Header.Set("Sec-Fetch-Site", "cross-site")
				return victim.do(req)
			},
		}
		for name, fn := range cases {
			if r := fn(); r.status != http.StatusForbidden {
				t.Errorf("%s: %d, want 403", name, r.status)
			}
		}
		for _, action := range []string{"/account/password", "/account/password/link", "/account/email", "/account/email/reauth",
			"/account/email/confirm", "/account/sessions/other"} {
			if r := victim.post(action, url.Values{"csrf": {"forged"}}); r.status != http.StatusForbidden {
				t.Errorf("%s with a forged token: %d", action, r.status)
			}
			if r := f.browser().post(action, url.Values{"csrf": {good.Get("csrf")}}); r.status != http.StatusForbidden {
				t.Errorf("%s without a session: %d", action, r.status)
			}
		}
		if ok, _, _ := passwords.Verify(f.storedHash(uid), "first password"); !ok {
			t.Fatal("a forged form changed the password")
		}
		if r := victim.post("/account/password", good); r.status != http.StatusSeeOther {
			t.Errorf("the genuine form: %d %s", r.status, r.text())
		}
	})
}

// TestS02AccountCookie: the account page is reached only with the
// __Host- session cookie the login sets (Secure, HttpOnly, SameSite=Lax,
// Path=/, no Domain); it sets no cookie of its own and never shows the
// session value; a revoked or unprefixed cookie is not signed in.
func TestS02AccountCookie(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fx) {
		const email = "acct-cookie@acme.example"
		f.user(f.orgID, email, "first password", false)
		b := f.browser()
		p := b.toPassword(email)
		raw := b.submitRaw(p, "/login/password", map[string]string{"password": "first password"})
		var line string
		for _, l := range raw.header.Values("Set-Cookie") {
			if strings.HasPrefix(l, sessions.CookieName+"=") {
				line = l
			}
		}
		for _, want := range []string{"Path=/", "HttpOnly", "Secure", "SameSite=Lax"} {
			if !strings.Contains(line, want) || strings.Contains(strings.ToLower(line), "domain=") {
				t.Errorf("session cookie %q lacks %s or has a Domain", line, want)
			}
		}
		value := cookieOf(b, sessions.CookieName)
		acct := b.account()
		if len(acct.header.Values("Set-Cookie")) != 0 || strings.Contains(acct.body, value) || acct.header.Get("Cache-Control") != "no-store" ||
			!strings.Contains(acct.header.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
			t.Errorf("account page headers %v", acct.header)
		}
		// The same value under a name without the prefix is nobody.
		req, _ := http.NewRequest(http.MethodGet, f.in.URL+login.AccountPath, nil)
		req.AddCookie(&http.Cookie{Name: "gatehouse_session", Value: value})
		if r := f.browser().do(req); r.status != http.StatusUnauthorized {
			t.Errorf("unprefixed cookie: %d", r.status)
		}
		// After sign-out everywhere (a reset), the cookie is dead.
		f.setPassword(email, "second password")
		if r := b.get(login.AccountPath); r.status != http.StatusUnauthorized {
			t.Errorf("the cookie after a reset: %d", r.status)
		}
	})
}

// TestAccountPageAccessible: every visible input of the account page (with
// and without a password, with a pending email change) has a label, and
// the page has no script.
func TestAccountPageAccessible(t *testing.T) {
	f := newFx(t, false, nil)
	f.user(f.orgID, "a11y-pw@acme.example", "first password", false)
	f.user(f.orgID, "a11y-code@acme.example", "", false)
	withPw, _ := f.signedIn("a11y-pw@acme.example", "first password")
	withCode, _ := f.signedIn("a11y-code@acme.example", "")
	pending := withPw.follow(withPw.submitRaw(withPw.account(), "/account/email",
		map[string]string{"new_email": "a11y-new@acme.example", "current_password": "first password"}))
	for _, p := range []*page{pending, withCode.account()} {
		labels := map[string]bool{}
		walk(p.doc, func(n *html.Node) bool {
			if n.Type == html.ElementNode && n.Data == "label" {
				labels[attr(n, "for")] = true
			}
			if n.Type == html.ElementNode && n.Data == "script" {
				t.Error("a script element")
			}
			return true
		})
		walk(p.doc, func(n *html.Node) bool {
			if n.Type == html.ElementNode && n.Data == "input" && attr(n, "type") != "hidden" && !labels[attr(n, "id")] {
				t.Errorf("input %s has no label", attr(n, "name"))
			}
			return true
		})
	}
}
