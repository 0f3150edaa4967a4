package oauth_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/oauth"
	"github.com/gatehouse/gatehouse/internal/servertest"
	"github.com/gatehouse/gatehouse/internal/sessions"
	"github.com/gatehouse/gatehouse/internal/signing"
)

// checkLogoutToken verifies a back-channel logout token (OIDC Back-Channel
// Logout 1.0 section 2.4, SECURITY-BAR C12).
func checkLogoutToken(t *testing.T, f *fx, tok, sid string) {
	t.Helper()
	h, c := verifyJWT(t, f.in.URL, tok)
	if h.ExtraHeaders["typ"] != signing.TypeLogoutToken {
		t.Errorf("logout token typ %v, want logout+jwt", h.ExtraHeaders["typ"])
	}
	if c["iss"] != f.in.URL || c["sid"] != sid || c["sub"] != f.userID || c["jti"] == nil || c["iat"] == nil {
		t.Errorf("logout token claims %v", c)
	}
	if aud := strList(c["aud"]); len(aud) != 1 || aud[0] != servertest.ClientID {
		t.Errorf("logout token aud %v", c["aud"])
	}
	ev, _ := c["events"].(map[string]any)
	if _, ok := ev[oauth.BackChannelLogoutEvent]; !ok {
		t.Errorf("logout token events %v", c["events"])
	}
	if _, ok := c["nonce"]; ok {
		t.Error("a logout token carries a nonce")
	}
}

func (f *fx) logout(t *testing.T, method string, v url.Values, cookie string, hdr http.Header) browserResp {
	t.Helper()
	var req *http.Request
	if method == http.MethodPost {
		req, _ = http.NewRequest(method, f.in.URL+"/oidc/logout", strings.NewReader(v.Encode()))
		req.Header.Set("Content-Type", formCT)
	} else {
		req, _ = http.NewRequest(method, f.in.URL+"/oidc/logout?"+v.Encode(), nil)
	}
	for k, vals := range hdr {
		req.Header[k] = vals
	}
	if cookie != "" {
		req.AddCookie(&http.Cookie{Name: sessions.CookieName, Value: cookie})
	}
	return f.send(t, req)
}

func (f *fx) live(t *testing.T, sid string) bool {
	t.Helper()
	s, err := f.in.Server.Sessions.Get(t.Context(), sid)
	if err != nil {
		t.Fatal(err)
	}
	return sessions.Live(s, f.clk.Now())
}

// TestLogout covers C12 and S03: the valid request ends the session,
// redirects to the registered URI with the state, and posts a logout
// token; a later prompt=none needs a login.
func TestLogout(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fx) {
		tk, ses, cookie := f.signIn(t)
		r := f.logout(t, http.MethodGet, url.Values{"id_token_hint": {tk.id}, "post_logout_redirect_uri": {appBye}, "state": {"bye-1"}}, cookie, nil)
		if r.status != http.StatusSeeOther || r.location != appBye+"?state=bye-1" {
			t.Fatalf("logout: %d Location %q: %.300s", r.status, r.location, r.body)
		}
		wantBrowserHeaders(t, "logout", r)
		if !strings.Contains(r.header.Get("Set-Cookie"), sessions.CookieName+"=;") {
			t.Errorf("logout does not clear the cookie: %q", r.header.Get("Set-Cookie"))
		}
		if f.live(t, ses.ID) {
			t.Error("session still live after logout")
		}
		checkLogoutToken(t, f, f.bc.wait(t), ses.ID)
		a := goodAuthz()
		a.extra = url.Values{"prompt": {"none"}}
		wantErrorRedirect(t, f, "prompt=none after logout", f.authorize(t, a, cookie), appCB, "st-123", "login_required")
		wantGrantError(t, "refresh after logout", f.refresh(t, appBasic, tk.refresh), "invalid_grant")
		if f.active(t, tk.access) {
			t.Error("access token active after logout")
		}
		got, _ := f.in.Server.Sessions.Get(t.Context(), ses.ID)
		if sessions.Status(got, f.clk.Now()) != "LOGOUT" {
			t.Errorf("status after logout %q", sessions.Status(got, f.clk.Now()))
		}

		// POST works the same, and without a post_logout_redirect_uri the
		// user sees the signed-out page.
		tk, ses, cookie = f.signIn(t)
		r = f.logout(t, http.MethodPost, url.Values{"id_token_hint": {tk.id}}, cookie, nil)
		if r.status != 200 || r.location != "" || f.live(t, ses.ID) {
			t.Errorf("POST logout without a redirect: %d %q live=%v", r.status, r.location, f.live(t, ses.ID))
		}
		f.bc.wait(t)
	})
}

// TestLogoutBadVariants: every bad request is a page, redirects nowhere,
// and leaves the session alone (C12, S05); the id_token_hint is held to
// J01-J09.
func TestLogoutBadVariants(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fx) {
		tk, ses, cookie := f.signIn(t)
		kr := serverKeyring(t, f.in)
		_, good := segments(t, tk.id)
		claims := func(mod func(c map[string]any)) map[string]any {
			c := map[string]any{}
			for k, v := range good {
				if n, ok := v.(json.Number); ok {
					v, _ = n.Int64() // go-jose would write a json.Number as a string
				}
				c[k] = v
			}
			if mod != nil {
				mod(c)
			}
			return c
		}
		signed := func(c map[string]any) string {
			tok, err := kr.Sign(c)
			if err != nil {
				t.Fatal(err)
			}
			return tok
		}
		hdr := func(extra map[string]any) map[string]any {
			h := map[string]any{"alg": "RS256", "typ": "JWT", "kid": kr.KeyID()}
			for k, v := range extra {
				h[k] = v
			}
			return h
		}
		foreign, _ := rsa.GenerateKey(rand.Reader, 2048)
		set := fetchJWKS(t, f.in.URL)
		pub := set.Key(kr.KeyID())[0].Key.(*rsa.PublicKey)
		pubDER, _ := x509.MarshalPKIXPublicKey(pub)
		pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
		attacker := newBCListener(t)
		hints := map[string]string{
			"alg none":                      rawToken(t, map[string]any{"alg": "none", "typ": "JWT"}, good, nil),
			"alg None":                      rawToken(t, map[string]any{"alg": "None", "kid": kr.KeyID()}, good, nil),
			"HS256 with the public key PEM": rawToken(t, hdr(map[string]any{"alg": "HS256"}), good, hs256(pubPEM)),
			"HS256 with the public key DER": rawToken(t, hdr(map[string]any{"alg": "HS256"}), good, hs256(pubDER)),
			"foreign key":                   rawToken(t, hdr(nil), good, rs256(t, foreign)),
			"kid path":                      rawToken(t, hdr(map[string]any{"kid": "../../../../dev/null"}), good, rs256(t, foreign)),
			"kid SQL":                       rawToken(t, hdr(map[string]any{"kid": "' OR '1'='1"}), good, rs256(t, foreign)),
			"kid 10 KB":                     rawToken(t, hdr(map[string]any{"kid": strings.Repeat("k", 10<<10)}), good, rs256(t, foreign)),
			"jku to a loopback listener": rawToken(t, hdr(map[string]any{"jku": attacker.srv.URL + "/jwks", "kid": "attacker"}), good,
				rs256(t, foreign)),
			"x5u to a loopback listener": rawToken(t, hdr(map[string]any{"x5u": attacker.srv.URL + "/cert", "kid": "attacker"}), good,
				rs256(t, foreign)),
			"embedded jwk": rawToken(t, hdr(map[string]any{"kid": "attacker", "jwk": map[string]any{"kty": "RSA",
				"n": b64(foreign.N.Bytes()), "e": "AQAB"}}), good, rs256(t, foreign)),
			"wrong iss":          signed(claims(func(c map[string]any) { c["iss"] = "https://evil.example" })),
			"aud not our client": signed(claims(func(c map[string]any) { c["aud"] = []string{"skc_unknown"}; delete(c, "azp"); delete(c, "client_id") })),
			"iat in the future":  signed(claims(func(c map[string]any) { c["iat"] = t0.Add(time.Hour).Unix() })),
			"no exp":             signed(claims(func(c map[string]any) { delete(c, "exp") })),
			"a logout token":     signed(claims(func(c map[string]any) { c["events"] = map[string]any{oauth.BackChannelLogoutEvent: map[string]any{}} })),
			"the access token":   tk.access,
			"four segments":      tk.id + ".x",
			"truncated":          tk.id[:len(tk.id)-10],
			"bit-flipped":        flip(tk.id),
			"1 MB":               strings.Repeat("a", 1<<20),
			"crit header":        rawToken(t, hdr(map[string]any{"crit": []string{"x-unknown"}, "x-unknown": 1}), good, rs256(t, foreign)),
		}
		for name, hint := range hints {
			r := f.logout(t, http.MethodPost, url.Values{"id_token_hint": {hint}, "post_logout_redirect_uri": {appBye}, "state": {"s"}}, cookie, nil)
			wantPage(t, "hint: "+name, r)
		}
		if attacker.count() != 0 {
			t.Errorf("the attacker's listener was fetched %d times (J04)", attacker.count())
		}
		for name, v := range map[string]url.Values{
			"unregistered post_logout_redirect_uri": {"id_token_hint": {tk.id}, "post_logout_redirect_uri": {"https://evil.example/bye"}},
			"query added":                           {"id_token_hint": {tk.id}, "post_logout_redirect_uri": {appBye + "?foo=bar"}},
			"fragment added":                        {"id_token_hint": {tk.id}, "post_logout_redirect_uri": {appBye + "#x"}},
			"redirect without a hint":               {"post_logout_redirect_uri": {appBye}, "state": {"s"}},
			"client_id of another client":           {"id_token_hint": {tk.id}, "client_id": {otherID}},
			"duplicate hint":                        {"id_token_hint": {tk.id, tk.id}},
		} {
			wantPage(t, name, f.logout(t, http.MethodGet, v, cookie, nil))
		}
		// No parameters, only state, or an expired hint: a confirmation,
		// not a logout and not a redirect.
		expired := signed(claims(func(c map[string]any) {
			c["exp"] = t0.Add(-120 * time.Second).Unix()
			c["iat"] = t0.Add(-time.Hour).Unix()
		}))
		for name, v := range map[string]url.Values{
			"no parameters": {},
			"only state":    {"state": {"s"}},
			"expired hint":  {"id_token_hint": {expired}, "post_logout_redirect_uri": {appBye}, "state": {"s"}},
		} {
			r := f.logout(t, http.MethodGet, v, cookie, nil)
			if r.status != 200 || r.location != "" || !strings.Contains(r.body, `name="confirm"`) {
				t.Errorf("%s: %d %q, want a confirmation page", name, r.status, r.location)
			}
			wantBrowserHeaders(t, name, r)
		}
		if !f.live(t, ses.ID) {
			t.Fatal("a bad logout request ended the session")
		}
		if f.bc.count() != 0 {
			t.Errorf("bad logout requests sent %d back-channel tokens", f.bc.count())
		}

		// The confirmation must come from our own page (S05).
		v := url.Values{"id_token_hint": {expired}, "post_logout_redirect_uri": {appBye}, "state": {"s"}}
		tok, csrfCookie := f.confirmPage(t, v, cookie)
		confirm := url.Values{"confirm": {"yes"}, "csrf": {tok}, "id_token_hint": {expired}, "post_logout_redirect_uri": {appBye}, "state": {"s"}}
		r := f.logout(t, http.MethodPost, confirm, cookie, csrfHeader(csrfCookie, "Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example"))
		if r.status != http.StatusForbidden || r.location != "" || !f.live(t, ses.ID) {
			t.Errorf("cross-site confirmation: %d %q live=%v", r.status, r.location, f.live(t, ses.ID))
		}
		r = f.logout(t, http.MethodPost, confirm, cookie, csrfHeader(csrfCookie, "Sec-Fetch-Site", "same-origin"))
		if r.status != http.StatusSeeOther || r.location != appBye+"?state=s" || f.live(t, ses.ID) {
			t.Errorf("confirmed logout with an expired hint: %d %q live=%v", r.status, r.location, f.live(t, ses.ID))
		}
		if !strings.Contains(strings.Join(r.header.Values("Set-Cookie"), "\n"), oauth.LogoutCSRFCookie+"=;") {
			t.Errorf("the confirmed logout does not clear the CSRF cookie: %q", r.header.Values("Set-Cookie"))
		}
		checkLogoutToken(t, f, f.bc.wait(t), ses.ID)

		// Confirmed without a hint: this browser's session ends.
		_, ses2, cookie2 := f.signIn(t)
		tok, csrfCookie = f.confirmPage(t, url.Values{}, cookie2)
		r = f.logout(t, http.MethodPost, url.Values{"confirm": {"yes"}, "csrf": {tok}}, cookie2, csrfHeader(csrfCookie))
		if r.status != 200 || r.location != "" || f.live(t, ses2.ID) {
			t.Errorf("confirmed logout without a hint: %d %q live=%v", r.status, r.location, f.live(t, ses2.ID))
		}
	})
}

// confirmPage GETs the sign-out confirmation for v and returns the CSRF
// token of its form and the value of the cookie set with it, checking the
// cookie's attributes (S02, S05).
func (f *fx) confirmPage(t *testing.T, v url.Values, cookie string) (tok, csrfCookie string) {
	t.Helper()
	r := f.logout(t, http.MethodGet, v, cookie, nil)
	m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(r.body)
	if r.status != http.StatusOK || m == nil {
		t.Fatalf("no confirmation form with a CSRF token: %d %.400s", r.status, r.body)
	}
	for _, c := range (&http.Response{Header: r.header}).Cookies() {
		if c.Name != oauth.LogoutCSRFCookie {
			continue
		}
		if !c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/" || c.Domain != "" || c.MaxAge <= 0 {
			t.Errorf("CSRF cookie attributes: %s", c.Raw)
		}
		csrfCookie = c.Value
	}
	if csrfCookie == "" {
		t.Fatalf("the confirmation page set no %s cookie: %q", oauth.LogoutCSRFCookie, r.header.Values("Set-Cookie"))
	}
	return m[1], csrfCookie
}

// csrfHeader is a request header sending the CSRF cookie value (none when
// empty) and the given header pairs.
func csrfHeader(csrfCookie string, kv ...string) http.Header {
	h := http.Header{}
	if csrfCookie != "" {
		h.Set("Cookie", oauth.LogoutCSRFCookie+"="+csrfCookie)
	}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Set(kv[i], kv[i+1])
	}
	return h
}

// TestLogoutConfirmCSRF covers S05 for the sign-out confirmation: a POST
// with neither Origin nor Sec-Fetch-Site passes the cross-origin check, so
// only the form's token, bound to the page's __Host- cookie, stands between
// a forged form and the user's session. Every POST without the pair is 403
// and logs nobody out; the pair alone works.
func TestLogoutConfirmCSRF(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fx) {
		_, ses, cookie := f.signIn(t)
		tok, cc := f.confirmPage(t, url.Values{}, cookie)
		otherTok, otherCC := f.confirmPage(t, url.Values{}, "") // another browser's page
		if tok == otherTok || cc == otherCC {
			t.Fatal("two confirmation pages share a token")
		}
		altered := []byte(tok)
		altered[len(altered)-1] ^= 1
		for _, c := range []struct {
			name, csrf, cookie string
		}{
			{"no token, no cookie", "", ""},
			{"token without its cookie", tok, ""},
			{"cookie without the token", "", cc},
			{"another page's token", otherTok, cc},
			{"another page's cookie", tok, otherCC},
			{"altered token", string(altered), cc},
		} {
			form := url.Values{"confirm": {"yes"}}
			if c.csrf != "" {
				form.Set("csrf", c.csrf)
			}
			r := f.logout(t, http.MethodPost, form, cookie, csrfHeader(c.cookie))
			if r.status != http.StatusForbidden || r.location != "" || !f.live(t, ses.ID) {
				t.Errorf("%s: %d %q live=%v, want 403 and the session untouched", c.name, r.status, r.location, f.live(t, ses.ID))
			}
			wantBrowserHeaders(t, c.name, r)
		}
		f.in.Server.OAuth.WaitBackground()
		if f.bc.count() != 0 {
			t.Errorf("refused confirmations sent %d back-channel tokens", f.bc.count())
		}
		r := f.logout(t, http.MethodPost, url.Values{"confirm": {"yes"}, "csrf": {tok}}, cookie, csrfHeader(cc))
		if r.status != http.StatusOK || f.live(t, ses.ID) {
			t.Errorf("confirmation with its token: %d live=%v, want the signed-out page", r.status, f.live(t, ses.ID))
		}
		checkLogoutToken(t, f, f.bc.wait(t), ses.ID)
	})
}

// flip changes one bit in the signature of a compact JWS.
func flip(tok string) string {
	b := []byte(tok)
	i := len(b) - 5
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	return string(b)
}
