package oauth_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/oauth"
	"github.com/gatehouse/gatehouse/internal/servertest"
	"github.com/gatehouse/gatehouse/internal/store"
)

// wantPage checks an answer is an error page that sends the browser
// nowhere (SECURITY-BAR C09, O01).
func wantPage(t *testing.T, what string, r browserResp) {
	t.Helper()
	if r.location != "" || r.status < 400 || r.status >= 500 {
		t.Errorf("%s: %d Location %q, want an error page and no redirect", what, r.status, r.location)
	}
	if !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") {
		t.Errorf("%s: Content-Type %q, want an HTML page", what, r.header.Get("Content-Type"))
	}
	wantBrowserHeaders(t, what, r)
}

// wantBrowserHeaders checks the hygiene headers of SECURITY-BAR O15 / W01.
func wantBrowserHeaders(t *testing.T, what string, r browserResp) {
	t.Helper()
	h := r.header
	if h.Get("X-Frame-Options") != "DENY" || !strings.Contains(h.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
		t.Errorf("%s: X-Frame-Options %q CSP %q", what, h.Get("X-Frame-Options"), h.Get("Content-Security-Policy"))
	}
	if h.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("%s: Access-Control-Allow-Origin %q on a browser endpoint", what, h.Get("Access-Control-Allow-Origin"))
	}
	if !strings.Contains(h.Get("Cache-Control"), "no-store") || h.Get("Referrer-Policy") != "no-referrer" {
		t.Errorf("%s: Cache-Control %q Referrer-Policy %q", what, h.Get("Cache-Control"), h.Get("Referrer-Policy"))
	}
	if r.status == http.StatusTemporaryRedirect || r.status == http.StatusPermanentRedirect {
		t.Errorf("%s: redirect status %d; only 302 or 303 are allowed", what, r.status)
	}
}

// wantErrorRedirect checks an error sent back to the client's redirect_uri
// with state and iss (RFC 6749 4.1.2.1, RFC 9207).
func wantErrorRedirect(t *testing.T, f *fx, what string, r browserResp, redirect, state, code string) {
	t.Helper()
	wantBrowserHeaders(t, what, r)
	if r.status != http.StatusSeeOther && r.status != http.StatusFound {
		t.Errorf("%s: %d, want a redirect with error=%s: %.200s", what, r.status, code, r.body)
		return
	}
	u, err := url.Parse(r.location)
	if err != nil || !strings.HasPrefix(r.location, strings.SplitN(redirect, "?", 2)[0]) {
		t.Errorf("%s: redirected to %q, want %s", what, r.location, redirect)
		return
	}
	q := u.Query()
	if q.Get("error") != code || q.Get("state") != state || q.Get("iss") != f.in.URL || q.Get("code") != "" {
		t.Errorf("%s: redirect %s, want error=%s state=%q iss=%s", what, r.location, code, state, f.in.URL)
	}
	if d := q.Get("error_description"); strings.ContainsAny(d, "\r\n\t\"\\") {
		t.Errorf("%s: error_description %q", what, d)
	}
}

// TestAuthorizeRedirectURIs covers C03 (bad client), C09 and O01: only the
// byte-exact registered string passes, plus any port for a loopback
// redirect; everything else is an error page with no redirect.
func TestAuthorizeRedirectURIs(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fx) {
		base := goodAuthz()
		try := func(client, redirect string) browserResp {
			a := base
			a.client, a.redirect = client, redirect
			return f.authorize(t, a, "")
		}
		wantPage(t, "unknown client", try("skc_no_such_client", appCB))
		wantPage(t, "no client_id", try("", appCB))
		wantPage(t, "no redirect_uri", try(servertest.ClientID, ""))
		for _, bad := range []string{
			"https://evil.example/cb", "https://APP.example/cb", "https://app.example/CB", "https://app.example/cb/",
			"https://app.example/cb/../evil", "https://app.example/cb%2F..", "https://app.example/%2e%2e/cb",
			"https://app.example@evil.example/cb", "https://app.example.evil.example/cb", "https://app.example:8443/cb",
			"http://app.example/cb", "https://app.example/cb?code=x", "https://app.example/cb?state=", "https://app.example/cb#frag",
			"http://127.0.0.1/cb", "https://app.example/cb2", "https://app.example/cb2?tenant=evil",
			"https://app.example/cb2?tenant=acme&x=1", "http://127.0.0.1:8080/other", "http://127.0.0.1:8080/native?x=1",
			"http://127.0.0.1:80@evil.example/native", "http://localhost/native", spaCB,
			// Scalekit's rules forbid a query in a registered URL
			// (SCALEKIT-COMPAT section 5), so such a registration matches
			// nothing, not even its exact copy (C09(c) is refused at
			// registration instead).
			appCBQuery,
		} {
			wantPage(t, "redirect_uri "+bad, try(servertest.ClientID, bad))
		}
		// The registered URIs, and the loopback one on any port.
		for _, good := range []string{appCB, nativeCB, "http://127.0.0.1:49152/native"} {
			f.loginRequest(t, try(servertest.ClientID, good))
		}
		// A public client's URI is its own.
		f.loginRequest(t, try(spaID, spaCB))
		// The environment's callback URLs (Settings -> Redirects) count for
		// every client, with the one wildcard label of a development
		// environment.
		if err := f.in.Server.Store().Q().PutRedirects(t.Context(), &store.Redirects{EnvID: f.in.Server.Bootstrap.EnvID,
			CallbackURLs: []string{"https://*.tenant.example/cb"}, UpdatedAt: t0}); err != nil {
			t.Fatal(err)
		}
		f.loginRequest(t, try(spaID, "https://acme.tenant.example/cb"))
		f.loginRequest(t, try(servertest.ClientID, "https://acme.tenant.example/cb"))
		for _, bad := range []string{"https://a.b.tenant.example/cb", "https://tenant.example/cb", "https://acme.tenant.example/cb/x",
			"https://acme.tenant.example.evil/cb"} {
			wantPage(t, "environment redirect "+bad, try(spaID, bad))
		}
		// Duplicate client_id or redirect_uri: page.
		v := base.values()
		v.Add("redirect_uri", appCB)
		wantPage(t, "duplicate redirect_uri", f.authorizeRaw(t, http.MethodGet, v.Encode(), "", nil))
		v = base.values()
		v.Add("client_id", servertest.ClientID)
		wantPage(t, "duplicate client_id", f.authorizeRaw(t, http.MethodGet, v.Encode(), "", nil))

		// The error page escapes what it shows (W01).
		a := base
		a.client = `"><script>alert(1)</script>`
		if r := f.authorize(t, a, ""); strings.Contains(r.body, "<script>") {
			t.Errorf("error page echoes markup: %s", r.body)
		}
	})
}

// TestAuthorizeErrorsRedirected: once client and redirect are good, errors
// go back with state and iss: missing or unsupported response types (C03,
// O08), PKCE (O03), duplicates (O15), request objects (C10), prompt=none
// without a session (C07a, O09).
func TestAuthorizeErrorsRedirected(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fx) {
		base := goodAuthz()
		with := func(mod func(v url.Values)) browserResp {
			v := base.values()
			mod(v)
			return f.authorizeRaw(t, http.MethodGet, v.Encode(), "", nil)
		}
		wantErrorRedirect(t, f, "no response_type", with(func(v url.Values) { v.Del("response_type") }), appCB, "st-123", "invalid_request")
		for _, rt := range []string{"token", "id_token token", "code token", "code id_token", "id_token", "CODE"} {
			wantErrorRedirect(t, f, "response_type="+rt, with(func(v url.Values) { v.Set("response_type", rt) }), appCB, "st-123",
				"unsupported_response_type")
		}
		wantErrorRedirect(t, f, "plain PKCE", with(func(v url.Values) { v.Set("code_challenge_method", "plain") }), appCB, "st-123", "invalid_request")
		wantErrorRedirect(t, f, "challenge without method", with(func(v url.Values) { v.Del("code_challenge_method") }), appCB, "st-123", "invalid_request")
		wantErrorRedirect(t, f, "method without challenge", with(func(v url.Values) { v.Del("code_challenge") }), appCB, "st-123", "invalid_request")
		wantErrorRedirect(t, f, "short challenge", with(func(v url.Values) { v.Set("code_challenge", "abc") }), appCB, "st-123", "invalid_request")
		wantErrorRedirect(t, f, "duplicate scope", with(func(v url.Values) { v.Add("scope", "openid") }), appCB, "st-123", "invalid_request")
		wantErrorRedirect(t, f, "duplicate state", with(func(v url.Values) { v.Add("state", "other") }), appCB, "", "invalid_request")
		wantErrorRedirect(t, f, "request object", with(func(v url.Values) { v.Set("request", "eyJhbGciOiJub25lIn0.e30.") }), appCB, "st-123",
			"request_not_supported")
		wantErrorRedirect(t, f, "request_uri", with(func(v url.Values) { v.Set("request_uri", "https://evil.example/r") }), appCB, "st-123",
			"request_uri_not_supported")
		wantErrorRedirect(t, f, "prompt=none without a session", with(func(v url.Values) { v.Set("prompt", "none") }), appCB, "st-123",
			"login_required")
		wantErrorRedirect(t, f, "prompt=none login", with(func(v url.Values) { v.Set("prompt", "none login") }), appCB, "st-123", "invalid_request")
		wantErrorRedirect(t, f, "bad max_age", with(func(v url.Values) { v.Set("max_age", "-1") }), appCB, "st-123", "invalid_request")
		wantErrorRedirect(t, f, "response_mode=fragment", with(func(v url.Values) { v.Set("response_mode", "fragment") }), appCB, "st-123",
			"invalid_request")
		wantErrorRedirect(t, f, "garbage id_token_hint", with(func(v url.Values) { v.Set("id_token_hint", "a.b.c") }), appCB, "st-123",
			"invalid_request")

		// A public client without PKCE.
		a := authz{client: spaID, redirect: spaCB, scope: "openid", state: "x"}
		wantErrorRedirect(t, f, "public client without PKCE", f.authorize(t, a, ""), spaCB, "x", "invalid_request")

		// Tolerated: unknown parameters, POST, display, ui_locales,
		// login_hint, no nonce, reversed scope order (C05); and no CORS
		// for a foreign Origin (O15).
		ok := with(func(v url.Values) {
			v.Set("extra", "foobar")
			v.Set("display", "popup")
			v.Set("ui_locales", "fr")
			v.Set("claims_locales", "fr")
			v.Set("acr_values", "urn:x")
			v.Set("login_hint", userEmail)
			v.Del("nonce")
			v.Set("scope", "offline_access email profile openid")
		})
		f.loginRequest(t, ok)
		wantBrowserHeaders(t, "login redirect", ok)
		post := base
		post.post = true
		f.loginRequest(t, f.authorize(t, post, ""))
		evil := f.authorizeRaw(t, http.MethodGet, base.values().Encode(), "", http.Header{"Origin": {"https://evil.example"}})
		f.loginRequest(t, evil)
		wantBrowserHeaders(t, "Origin: evil", evil)
	})
}

// TestSilentAuthAndReauth: prompt=none with a live session gives a code
// with no UI (C07b); max_age within bounds too (C07c); prompt=login and an
// exceeded max_age send the user to the login page again, and the new ID
// token has a later auth_time (C06); an id_token_hint of another user is
// no silent login (C07e); NeedsLogin says so to the login UI.
func TestSilentAuthAndReauth(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fx) {
		first, ses, cookie := f.signIn(t)
		_, idt := verifyJWT(t, f.in.URL, first.id)

		f.clk.Set(t0.Add(5 * time.Second))
		for _, extra := range []url.Values{
			{"prompt": {"none"}},
			{"max_age": {"10000"}},
			{"prompt": {"none"}, "id_token_hint": {first.id}},
			{},
		} {
			a := goodAuthz()
			a.extra = extra
			r := f.authorize(t, a, cookie)
			u, err := url.Parse(r.location)
			if r.status != http.StatusSeeOther || err != nil || u.Query().Get("code") == "" {
				t.Fatalf("%v with a session: %d %q, want a code", extra, r.status, r.location)
			}
			q := f.callback(t, u, appCB, "st-123")
			tk := tokensOf(t, f.redeem(t, a, q.Get("code")))
			_, idt2 := verifyJWT(t, f.in.URL, tk.id)
			if idt2["sub"] != idt["sub"] || num(t, idt2["auth_time"]) != num(t, idt["auth_time"]) || idt2["sid"] != ses.ID {
				t.Errorf("%v: sub %v auth_time %v sid %v, want those of the first login", extra, idt2["sub"], idt2["auth_time"], idt2["sid"])
			}
		}

		// prompt=login and max_age=1 after 5 s: the login page, and
		// NeedsLogin is true for the old session, false for a new one.
		for _, extra := range []url.Values{{"prompt": {"login"}}, {"max_age": {"1"}}, {"prompt": {"select_account"}},
			{"organization_id": {"org_other"}}} {
			a := goodAuthz()
			a.extra = extra
			arID := f.loginRequest(t, f.authorize(t, a, cookie))
			ar, err := f.in.Server.OAuth.GetAuthRequest(t.Context(), arID)
			if err != nil {
				t.Fatal(err)
			}
			if !f.in.Server.OAuth.NeedsLogin(ar, ses) {
				t.Errorf("%v: NeedsLogin(old session) = false", extra)
			}
			if _, err := f.complete(t, arID, ses); err != oauth.ErrLoginRequired {
				t.Errorf("%v: CompleteAuthorization with the old session = %v, want ErrLoginRequired", extra, err)
			}
			if extra.Has("organization_id") {
				continue
			}
			f.clk.Set(f.clk.Now().Add(time.Second))
			fresh, _ := f.login(t)
			if f.in.Server.OAuth.NeedsLogin(ar, fresh) {
				t.Errorf("%v: NeedsLogin(fresh session) = true", extra)
			}
			u, err := f.complete(t, arID, fresh)
			if err != nil {
				t.Fatalf("%v: %v", extra, err)
			}
			tk := tokensOf(t, f.redeem(t, a, f.callback(t, u, appCB, "st-123").Get("code")))
			_, idt3 := verifyJWT(t, f.in.URL, tk.id)
			if num(t, idt3["auth_time"]) <= num(t, idt["auth_time"]) {
				t.Errorf("%v: auth_time %v not after the first %v", extra, idt3["auth_time"], idt["auth_time"])
			}
			// An authorization request completes once.
			if _, err := f.complete(t, arID, fresh); err != oauth.ErrAuthRequestNotFound {
				t.Errorf("%v: second CompleteAuthorization = %v", extra, err)
			}
		}

		// An id_token_hint of another user: no silent login as that user.
		other, _ := f.loginAs(t, f.addUser(t, "grace@acme.example"))
		a := goodAuthz()
		otherCode := f.code(t, a, other)
		otherTk := tokensOf(t, f.redeem(t, a, otherCode))
		a.extra = url.Values{"prompt": {"none"}, "id_token_hint": {otherTk.id}}
		wantErrorRedirect(t, f, "hint of another user", f.authorize(t, a, cookie), appCB, "st-123", "login_required")

		// The login UI can refuse a request: the client gets the error.
		b := goodAuthz()
		arID := f.loginRequest(t, f.authorize(t, b, ""))
		rec := httptest.NewRecorder()
		if err := f.in.Server.OAuth.DenyAuthorization(t.Context(), rec, httptest.NewRequest(http.MethodPost, "/login", nil), arID,
			"access_denied", "not a member"); err != nil {
			t.Fatal(err)
		}
		wantErrorRedirect(t, f, "denied", browserResp{status: rec.Code, location: rec.Header().Get("Location"), header: rec.Header()},
			appCB, "st-123", "access_denied")
		if _, err := f.in.Server.OAuth.GetAuthRequest(t.Context(), arID); err != oauth.ErrAuthRequestNotFound {
			t.Errorf("a denied request is still pending: %v", err)
		}

		// An authorization request expires.
		arID = f.loginRequest(t, f.authorize(t, goodAuthz(), ""))
		f.clk.Set(f.clk.Now().Add(oauth.AuthRequestTTL + time.Second))
		fresh, _ := f.login(t)
		if _, err := f.complete(t, arID, fresh); err != oauth.ErrAuthRequestNotFound {
			t.Errorf("an expired request: %v", err)
		}
	})
}
