package middleware_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"

	sessionsv1 "github.com/gatehouse/gatehouse/gen/scalekit/v1/sessions"
	"github.com/gatehouse/gatehouse/sdk"
	"github.com/gatehouse/gatehouse/sdk/middleware"
)

func eachDB(t *testing.T, fn func(t *testing.T, pg bool)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, false) })
	t.Run("postgres", func(t *testing.T) { fn(t, true) })
}

// userTokens signs the seeded user in directly through the SDK (as an SPA
// or a mobile app would) and returns its tokens.
func (a *app) userTokens() *sdk.AuthenticationResponse {
	a.t.Helper()
	pk, _ := sdk.NewPKCE()
	cb := a.url + "/callback"
	code := a.env.Code(a.t, a.client.AuthorizationURL(cb, sdk.AuthorizationURLOptions{State: "s",
		Scopes: []string{"openid", "offline_access"}, CodeChallenge: pk.Challenge, CodeChallengeMethod: pk.Method}))
	res, err := a.client.AuthenticateWithCode(context.Background(), code, cb, sdk.AuthenticationOptions{CodeVerifier: pk.Verifier})
	if err != nil {
		a.t.Fatal(err)
	}
	return res
}

// TestBearer: RequireAuth with an Authorization header; the role and
// permission checks; the 401 and 403 answers.
func TestBearer(t *testing.T) {
	a := newApp(t, false)
	tok := a.userTokens()
	for _, c := range []struct {
		path, auth string
		status     int
		body       string
		challenge  string
	}{
		{"/api/me", "Bearer " + tok.AccessToken, 200, a.env.UserID, ""},
		{"/api/me", "bearer " + tok.AccessToken, 200, a.env.UserID, ""},
		{"/api/admin", "Bearer " + tok.AccessToken, 200, a.env.UserID, ""},
		{"/api/projects", "Bearer " + tok.AccessToken, 200, a.env.UserID, ""},
		{"/api/billing", "Bearer " + tok.AccessToken, 403, "forbidden: requires the role billing", ""},
		{"/api/delete", "Bearer " + tok.AccessToken, 403, "forbidden: requires the permission projects:delete", ""},
		{"/api/me", "", 401, "unauthorized", `Bearer realm="app"`},
		{"/api/me", "Bearer " + tok.IDToken, 401, "invalid or expired token", `Bearer realm="app", error="invalid_token"`},
		{"/api/me", "Bearer " + tok.AccessToken + "x", 401, "invalid or expired token", `Bearer realm="app", error="invalid_token"`},
		{"/api/me", "Basic dXNlcjpwYXNz", 401, "Bearer", `Bearer realm="app", error="invalid_request", error_description="use the Bearer scheme"`},
		{"/api/admin", "", 401, "unauthorized", `Bearer realm="app"`},
		{"/api/norequireauth", "Bearer " + tok.AccessToken, 401, "sign in first", `Bearer realm="app"`},
	} {
		p := a.bearerGet(c.path, c.auth)
		if p.status != c.status || !strings.Contains(p.body, c.body) || p.header.Get("WWW-Authenticate") != c.challenge {
			t.Errorf("%s with %.20q: %d %q WWW-Authenticate %q; want %d %q %q", c.path, c.auth, p.status, p.body,
				p.header.Get("WWW-Authenticate"), c.status, c.body, c.challenge)
		}
	}
	// A bearer token decides even when a session cookie is there too.
	a.signIn()
	p := a.browse(http.MethodGet, a.url+"/api/me", http.Header{"Authorization": {"Bearer nope"}})
	if p.status != http.StatusUnauthorized {
		t.Errorf("a bad bearer token beside a good cookie: %d", p.status)
	}
	// The expiry: 299 s later the token is refused.
	a.clk.Advance(299*time.Second + sdk.DefaultLeeway)
	if p := a.bearerGet("/api/me", "Bearer "+tok.AccessToken); p.status != http.StatusUnauthorized {
		t.Errorf("an expired token: %d", p.status)
	}
}

// TestUnavailable: a token that cannot be checked (JWKS unreachable) is a
// 503, not a 401.
func TestUnavailable(t *testing.T) {
	c, _ := sdk.New("http://127.0.0.1:1", "skc_x", "")
	h := middleware.RequireAuth(c)(http.NotFoundHandler())
	req, _ := http.NewRequest(http.MethodGet, "/", nil)
	req.Header.Set("Authorization", "Bearer eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIiwidHlwIjoiYXQrand0In0.e30.c2ln")
	rec := &recorder{header: http.Header{}}
	h.ServeHTTP(rec, req)
	if rec.status != http.StatusServiceUnavailable {
		t.Fatalf("unreachable JWKS: %d %s", rec.status, rec.body.String())
	}
}

type recorder struct {
	header http.Header
	status int
	body   strings.Builder
}

func (r *recorder) Header() http.Header { return r.header }
func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = 200
	}
	return r.body.Write(b)
}
func (r *recorder) WriteHeader(s int) { r.status = s }

// TestCookieSession: a page sends an anonymous browser through the login
// and back; the session cookie is HttpOnly, Secure, SameSite=Lax, path /,
// a new value after the login; a forged state or a callback without a
// login in progress fails.
func TestCookieSession(t *testing.T) {
	eachDB(t, func(t *testing.T, pg bool) {
		a := newApp(t, pg)
		// The login's redirect, one hop at a time.
		resp, err := a.hc.Get(a.url + "/page?x=1")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/login?return_to=%2Fpage%3Fx%3D1" {
			t.Fatalf("anonymous /page: %d %q", resp.StatusCode, resp.Header.Get("Location"))
		}
		resp, err = a.hc.Get(a.url + "/login?return_to=%2Fpage%3Fx%3D1")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		loginCookie := resp.Cookies()
		au, _ := url.Parse(resp.Header.Get("Location"))
		q := au.Query()
		if !strings.HasPrefix(au.String(), a.env.URL+"/oauth/authorize?") || q.Get("state") == "" || q.Get("nonce") == "" ||
			q.Get("code_challenge_method") != "S256" || q.Get("redirect_uri") != a.url+"/callback" ||
			q.Get("scope") != "openid profile email offline_access" {
			t.Fatalf("login redirect: %s", au)
		}
		cb := a.env.SignIn(t, au.String())
		// A callback with a forged state fails and leaves the login alone
		// (the real answer may still come).
		forged := *cb
		fq := forged.Query()
		fq.Set("state", "forged")
		forged.RawQuery = fq.Encode()
		if p := a.browse(http.MethodGet, forged.String(), nil); p.status != http.StatusBadRequest {
			t.Fatalf("forged state: %d %s", p.status, p.body)
		}
		if p := a.browse(http.MethodGet, cb.String(), nil); p.status != http.StatusOK {
			t.Fatalf("the real callback after a forged one: %d %s", p.status, p.body)
		}
		// Replayed, the callback finds no login in progress.
		if p := a.browse(http.MethodGet, cb.String(), nil); p.status != http.StatusBadRequest {
			t.Fatalf("a replayed callback: %d %s", p.status, p.body)
		}

		// Again in a new browser, one hop at a time.
		a.newBrowser()
		resp, _ = a.hc.Get(a.url + "/login?return_to=%2Fpage%3Fx%3D1")
		resp.Body.Close()
		loginCookie = resp.Cookies()
		cb = a.env.SignIn(t, resp.Header.Get("Location"))
		resp, err = a.hc.Get(cb.String())
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/page?x=1" {
			t.Fatalf("callback: %d %q", resp.StatusCode, resp.Header.Get("Location"))
		}
		sc := resp.Header.Values("Set-Cookie")
		if len(sc) != 1 {
			t.Fatalf("callback set %d cookies: %q", len(sc), sc)
		}
		for _, attr := range []string{"__Host-gatehouse_app=", "Path=/", "HttpOnly", "Secure", "SameSite=Lax"} {
			if !strings.Contains(sc[0], attr) {
				t.Errorf("session cookie %q lacks %s", sc[0], attr)
			}
		}
		if len(loginCookie) != 1 || strings.Contains(sc[0], loginCookie[0].Value) {
			t.Error("the session cookie kept the value it had before the login")
		}
		me := a.me()
		if me["sub"] != a.env.UserID || me["oid"] != a.env.OrgID {
			t.Errorf("/api/me = %v", me)
		}
		if p := a.get("/api/admin"); p.status != http.StatusOK {
			t.Errorf("/api/admin with the admin's session: %d", p.status)
		}
		if p := a.get("/api/billing"); p.status != http.StatusForbidden {
			t.Errorf("/api/billing: %d", p.status)
		}
		// A callback with no login in progress.
		a.newBrowser()
		if p := a.browse(http.MethodGet, cb.String(), nil); p.status != http.StatusBadRequest {
			t.Errorf("callback in another browser: %d", p.status)
		}
		// Open redirects are refused: return_to must be a local path.
		resp, _ = a.hc.Get(a.url + "/login?return_to=" + url.QueryEscape("//evil.example/x"))
		resp.Body.Close()
		resp, _ = a.hc.Get(a.env.SignIn(t, resp.Header.Get("Location")).String())
		resp.Body.Close()
		if resp.Header.Get("Location") != "/" {
			t.Errorf("return_to //evil.example/x ended at %q", resp.Header.Get("Location"))
		}
	})
}

// TestTransparentRefresh: near expiry, 50 concurrent requests of one
// session cause exactly one refresh, and every one of them succeeds; the
// rotated refresh token is kept; a revoked session ends the app session.
func TestTransparentRefresh(t *testing.T) {
	eachDB(t, func(t *testing.T, pg bool) {
		a := newApp(t, pg)
		a.signIn()
		first := a.me()
		if n := a.counter.count("refresh_token"); n != 0 {
			t.Fatalf("%d refreshes before expiry", n)
		}
		// 299 s tokens are renewed in their last minute: at 230 s not yet.
		a.clk.Advance(230 * time.Second)
		if a.me()["jti"] != first["jti"] || a.counter.count("refresh_token") != 0 {
			t.Fatal("refreshed too early")
		}
		a.clk.Advance(20 * time.Second)
		a.counter.delay.Store(int64(100 * time.Millisecond))
		var wg sync.WaitGroup
		jtis := make(chan any, 50)
		for range 50 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				p := a.get("/api/me")
				if p.status != http.StatusOK {
					t.Errorf("concurrent request during refresh: %d %s", p.status, p.body)
					return
				}
				jtis <- p.body
			}()
		}
		wg.Wait()
		close(jtis)
		if n := a.counter.count("refresh_token"); n != 1 {
			t.Fatalf("50 concurrent requests made %d refreshes, want 1", n)
		}
		second := a.me()
		if second["jti"] == first["jti"] || second["sid"] != first["sid"] {
			t.Fatalf("after the refresh: %v (before %v)", second, first)
		}
		for body := range jtis {
			if !strings.Contains(body.(string), second["jti"].(string)) {
				t.Errorf("a concurrent request saw %s, want the new token %s", body, second["jti"])
			}
		}
		// Later, again once, with the rotated refresh token (the spent one
		// would be reuse and end the session).
		a.clk.Advance(250 * time.Second)
		if a.me()["jti"] == second["jti"] || a.counter.count("refresh_token") != 2 {
			t.Fatalf("the second refresh: %d refreshes", a.counter.count("refresh_token"))
		}
		if a.me()["sid"] != first["sid"] {
			t.Fatal("the second refresh changed the session")
		}
		// Revoked at Gatehouse: the next refresh fails, the app session
		// ends, and the page asks for a login again.
		if _, err := a.env.Client.Sessions().RevokeSession(context.Background(), connect.NewRequest(
			&sessionsv1.RevokeSessionRequest{SessionId: first["sid"].(string)})); err != nil {
			t.Fatal(err)
		}
		a.clk.Advance(250 * time.Second)
		if p := a.bearerless("/api/me"); p.status != http.StatusUnauthorized {
			t.Fatalf("after revocation: %d %s", p.status, p.body)
		}
		if a.store.Len() != 0 {
			t.Errorf("%d sessions left in the store", a.store.Len())
		}
	})
}

// bearerless is get without following redirects (to see a 401).
func (a *app) bearerless(path string) page {
	resp, err := a.hc.Get(a.url + path)
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	return page{status: resp.StatusCode, header: resp.Header}
}

// TestLogout: a same-origin POST ends the app session and the Gatehouse
// session and comes back to the post-logout URL; a cross-site POST and a
// GET are refused.
func TestLogout(t *testing.T) {
	a := newApp(t, false)
	a.signIn()
	sid := a.me()["sid"].(string)
	cross := a.browse(http.MethodPost, a.url+"/logout", http.Header{"Sec-Fetch-Site": {"cross-site"}, "Origin": {"https://evil.example"}})
	if cross.status != http.StatusForbidden {
		t.Fatalf("cross-site logout: %d", cross.status)
	}
	if p := a.browse(http.MethodGet, a.url+"/logout", nil); p.status != http.StatusMethodNotAllowed {
		t.Fatalf("GET /logout: %d", p.status)
	}
	a.me() // still signed in
	p := a.browse(http.MethodPost, a.url+"/logout", http.Header{"Sec-Fetch-Site": {"same-origin"}, "Origin": {a.url}})
	if p.status != http.StatusOK || p.body != "bye" {
		t.Fatalf("logout ended at %s: %d %q", p.url, p.status, p.body)
	}
	if p := a.bearerless("/api/me"); p.status != http.StatusUnauthorized {
		t.Fatalf("after logout: %d", p.status)
	}
	s, err := a.env.Client.Sessions().GetSession(context.Background(), connect.NewRequest(&sessionsv1.SessionDetailsRequest{SessionId: sid}))
	if err != nil || s.Msg.GetStatus() != "LOGOUT" {
		t.Fatalf("the Gatehouse session after logout: %v %v", s, err)
	}
}
