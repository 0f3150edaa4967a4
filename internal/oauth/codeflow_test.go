package oauth_test

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/servertest"
	"github.com/gatehouse/gatehouse/internal/signing"
	"github.com/gatehouse/gatehouse/internal/store"
)

// rfc6749Chars is RFC 6749 Appendix A's VSCHAR set, which access and
// refresh tokens must stay within.
var rfc6749Chars = regexp.MustCompile(`^[\x20-\x7e]+$`)

func halfHashOf(v string) string {
	sum := sha256.Sum256([]byte(v))
	return base64.RawURLEncoding.EncodeToString(sum[:16])
}

// TestCodeFlowHappyPath covers SECURITY-BAR C02 with client_secret_basic
// and client_secret_post, the token claims of SCALEKIT-COMPAT section 3,
// userinfo (C04), and a first refresh (C11).
func TestCodeFlowHappyPath(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fx) {
		ses, _ := f.login(t)
		a := goodAuthz()
		code := f.code(t, a, ses)
		r := f.redeem(t, a, code)
		if r.status != http.StatusOK {
			t.Fatalf("redeem: %d %s", r.status, r.raw)
		}
		if cc := r.header.Get("Cache-Control"); !strings.Contains(cc, "no-store") {
			t.Errorf("Cache-Control %q, want no-store", cc)
		}
		if r.body["token_type"] != "Bearer" || r.body["expires_in"] != float64(299) {
			t.Errorf("token_type %v expires_in %v, want Bearer 299", r.body["token_type"], r.body["expires_in"])
		}
		if r.body["scope"] != "openid profile email offline_access" {
			t.Errorf("scope = %v", r.body["scope"])
		}
		tk := tokensOf(t, r)
		for name, v := range map[string]string{"access_token": tk.access, "refresh_token": tk.refresh} {
			if !rfc6749Chars.MatchString(v) {
				t.Errorf("%s %q has characters outside RFC 6749 Appendix A", name, v)
			}
		}
		if !strings.HasPrefix(tk.refresh, "rt_") || len(tk.refresh) < 3+43 {
			t.Errorf("refresh_token %q: want rt_ and at least 256 random bits", tk.refresh)
		}

		// The access token: RS256, typ at+jwt, exactly Scalekit's claims.
		h, at := verifyJWT(t, f.in.URL, tk.access)
		if h.Algorithm != "RS256" || h.ExtraHeaders["typ"] != signing.TypeAccessToken {
			t.Errorf("access token header alg %s typ %v", h.Algorithm, h.ExtraHeaders["typ"])
		}
		keys := make([]string, 0, len(at))
		for k := range at {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		want := []string{"aud", "client_id", "exp", "iat", "iss", "jti", "nbf", "oid", "roles", "scopes", "sid", "sub"}
		if !slices.Equal(keys, want) {
			t.Errorf("access token claims %v, want %v", keys, want)
		}
		if at["iss"] != f.in.URL || at["sub"] != f.userID || at["client_id"] != servertest.ClientID || at["oid"] != f.orgID ||
			at["sid"] != ses.ID {
			t.Errorf("access token claims %v", at)
		}
		if aud := strList(at["aud"]); !slices.Equal(aud, []string{servertest.ClientID}) {
			t.Errorf("aud = %v, want an array with the client id", at["aud"])
		}
		if jti, _ := at["jti"].(string); !strings.HasPrefix(jti, "tkn_") {
			t.Errorf("jti = %v, want tkn_...", at["jti"])
		}
		if got := strList(at["roles"]); !slices.Equal(got, []string{"admin"}) {
			t.Errorf("roles = %v, want [admin]", got)
		}
		if got := strList(at["scopes"]); !slices.Equal(got, []string{"openid", "profile", "email", "offline_access"}) {
			t.Errorf("scopes = %v", got)
		}
		if num(t, at["exp"])-num(t, at["iat"]) != 299 || num(t, at["nbf"]) != num(t, at["iat"]) || num(t, at["iat"]) != t0.Unix() {
			t.Errorf("exp %v iat %v nbf %v", at["exp"], at["iat"], at["nbf"])
		}

		// The ID token.
		h, idt := verifyJWT(t, f.in.URL, tk.id)
		if h.Algorithm != "RS256" || h.KeyID == "" {
			t.Errorf("ID token header %+v", h)
		}
		checks := map[string]any{"iss": f.in.URL, "sub": f.userID, "azp": servertest.ClientID, "client_id": servertest.ClientID,
			"nonce": "n-456", "oid": f.orgID, "sid": ses.ID, "email": userEmail, "email_verified": true, "name": "Ada Lovelace",
			"given_name": "Ada", "family_name": "Lovelace", "locale": "en", "at_hash": halfHashOf(tk.access), "c_hash": halfHashOf(code)}
		for k, v := range checks {
			if idt[k] != v {
				t.Errorf("ID token %s = %v, want %v", k, idt[k], v)
			}
		}
		if aud := strList(idt["aud"]); !slices.Contains(aud, servertest.ClientID) {
			t.Errorf("ID token aud %v", idt["aud"])
		}
		if num(t, idt["auth_time"]) != t0.Unix() || num(t, idt["exp"]) <= t0.Unix() || num(t, idt["iat"]) != t0.Unix() {
			t.Errorf("ID token times auth_time %v iat %v exp %v", idt["auth_time"], idt["iat"], idt["exp"])
		}
		if amr := strList(idt["amr"]); !slices.Equal(amr, []string{"pwd"}) {
			t.Errorf("amr = %v", amr)
		}

		// The same flow with client_secret_post, and the same sub.
		a2 := goodAuthz()
		code2 := f.code(t, a2, ses)
		r2 := f.token(t, nil, "grant_type", "authorization_code", "code", code2, "redirect_uri", a2.redirect,
			"code_verifier", a2.verifier, "client_id", servertest.ClientID, "client_secret", servertest.ClientSecret)
		tk2 := tokensOf(t, r2)
		if _, idt2 := verifyJWT(t, f.in.URL, tk2.id); idt2["sub"] != idt["sub"] {
			t.Errorf("sub changed between logins: %v then %v", idt["sub"], idt2["sub"])
		}

		// Userinfo: GET and POST with the header, POST with a form body.
		for _, mk := range []func() *http.Request{
			func() *http.Request {
				req, _ := http.NewRequest(http.MethodGet, f.in.URL+"/userinfo", nil)
				req.Header.Set("Authorization", "Bearer "+tk.access)
				return req
			},
			func() *http.Request {
				req, _ := http.NewRequest(http.MethodPost, f.in.URL+"/userinfo", nil)
				req.Header.Set("Authorization", "bearer "+tk.access)
				return req
			},
			func() *http.Request {
				req, _ := http.NewRequest(http.MethodPost, f.in.URL+"/userinfo", strings.NewReader(form("access_token", tk.access)))
				req.Header.Set("Content-Type", formCT)
				return req
			},
		} {
			req := mk()
			ui := do(t, req)
			if ui.status != 200 || ui.body["sub"] != f.userID || ui.body["email"] != userEmail || ui.body["given_name"] != "Ada" {
				t.Errorf("userinfo %s: %d %s", req.Method, ui.status, ui.raw)
			}
		}

		// A refresh keeps iss, sub and aud, with a newer iat (C11).
		f.clk.Set(t0.Add(10 * time.Second))
		rr := f.refresh(t, appBasic, tk.refresh)
		tk3 := tokensOf(t, rr)
		if tk3.refresh == "" || tk3.refresh == tk.refresh || tk3.access == tk.access {
			t.Errorf("refresh did not rotate: %s", rr.raw)
		}
		_, idt3 := verifyJWT(t, f.in.URL, tk3.id)
		if idt3["iss"] != idt["iss"] || idt3["sub"] != idt["sub"] || !slices.Equal(strList(idt3["aud"]), strList(idt["aud"])) ||
			num(t, idt3["iat"]) <= num(t, idt["iat"]) || num(t, idt3["auth_time"]) != num(t, idt["auth_time"]) {
			t.Errorf("refreshed ID token %v vs %v", idt3, idt)
		}
		if _, ok := idt3["nonce"]; ok {
			t.Errorf("a refreshed ID token carries the nonce")
		}

		// A user access token is no management token (J06).
		if st := bearer(t, f.in, tk.access); st != http.StatusUnauthorized {
			t.Errorf("management API with a user access token: %d, want 401", st)
		}
		if st := bearer(t, f.in, tk.id); st != http.StatusUnauthorized {
			t.Errorf("management API with an ID token: %d, want 401", st)
		}
		// And an ID token is no access token at userinfo (J06).
		if ui := f.userinfo(t, tk.id); ui.status != http.StatusUnauthorized {
			t.Errorf("userinfo with an ID token: %d", ui.status)
		}
	})
}

// TestScopesReleaseClaims: without offline_access there is no refresh
// token; without openid, no ID token; profile and email claims only with
// their scopes; unknown scopes are ignored (C05).
func TestScopesReleaseClaims(t *testing.T) {
	f := newFx(t, false)
	ses, _ := f.login(t)
	for _, c := range []struct {
		scope                  string
		wantID, wantRT         bool
		wantEmail, wantProfile bool
	}{
		{"openid", true, false, false, false},
		{"openid email phone address", true, false, true, false},
		{"profile openid", true, false, false, true},
		{"email", false, false, true, false},
		{"offline_access openid", true, true, false, false},
	} {
		a := goodAuthz()
		a.scope = c.scope
		tk := tokensOf(t, f.redeem(t, a, f.code(t, a, ses)))
		if (tk.id != "") != c.wantID || (tk.refresh != "") != c.wantRT {
			t.Errorf("scope %q: id_token %v refresh %v", c.scope, tk.id != "", tk.refresh != "")
		}
		if tk.id != "" {
			_, idt := verifyJWT(t, f.in.URL, tk.id)
			if _, ok := idt["email"]; ok != c.wantEmail {
				t.Errorf("scope %q: email in ID token = %v", c.scope, ok)
			}
			if _, ok := idt["given_name"]; ok != c.wantProfile {
				t.Errorf("scope %q: given_name in ID token = %v", c.scope, ok)
			}
		}
		ui := f.userinfo(t, tk.access)
		if _, ok := ui.body["email"]; ok != c.wantEmail || ui.body["sub"] != f.userID {
			t.Errorf("scope %q: userinfo %s", c.scope, ui.raw)
		}
	}
}

// TestPublicClientPKCE: a public client redeems with client_id and the
// verifier alone; it may not send a secret, and PKCE is required (O03).
func TestPublicClientPKCE(t *testing.T) {
	f := newFx(t, false)
	ses, _ := f.login(t)
	a := authz{client: spaID, redirect: spaCB, scope: "openid offline_access", state: "s", verifier: strings.Repeat("A", 64)}
	code := f.code(t, a, ses)
	r := f.token(t, nil, "grant_type", "authorization_code", "code", code, "redirect_uri", spaCB, "client_id", spaID,
		"code_verifier", a.verifier)
	tk := tokensOf(t, r)
	// Refresh as a public client too.
	if rr := f.refresh(t, nil, tk.refresh, "client_id", spaID); rr.status != 200 {
		t.Errorf("public refresh: %d %s", rr.status, rr.raw)
	}
	// A secret from a public client is refused.
	code = f.code(t, a, ses)
	r = f.token(t, []string{spaID, "whatever-secret-value"}, "grant_type", "authorization_code", "code", code,
		"redirect_uri", spaCB, "code_verifier", a.verifier)
	if r.status != 401 || r.body["error"] != "invalid_client" {
		t.Errorf("public client with a secret: %d %s", r.status, r.raw)
	}
	// A public client cannot introspect (client authentication required).
	if r := postForm(t, f.in.URL+"/oauth/introspect", form("token", tk.access, "client_id", spaID), nil); r.status != 401 {
		t.Errorf("introspection by a public client: %d %s", r.status, r.raw)
	}
	// Nor use client_credentials.
	if r := f.token(t, nil, "grant_type", "client_credentials", "client_id", spaID); r.status != 401 {
		t.Errorf("client_credentials for a public client: %d %s", r.status, r.raw)
	}
}

// TestAccessTokenPermissions: the permissions claim holds what the user's
// roles grant (base roles included) at issuance, so a refresh shows a
// permission added since.
func TestAccessTokenPermissions(t *testing.T) {
	f := newFx(t, false)
	mgmt := func(method, path, body string) {
		t.Helper()
		if st, out := f.in.Do(t, f.in.Token(t), method, path, body); st != http.StatusOK {
			t.Fatalf("%s %s: %d %v", method, path, st, out)
		}
	}
	mgmt(http.MethodPost, "/api/v1/permissions", `{"name":"projects:create"}`)
	mgmt(http.MethodPost, "/api/v1/permissions", `{"name":"projects:read"}`)
	mgmt(http.MethodPost, "/api/v1/roles/admin/permissions", `{"permission_names":["projects:create"]}`)
	tk, _, _ := f.signIn(t)
	if _, at := verifyJWT(t, f.in.URL, tk.access); !slices.Equal(strList(at["permissions"]), []string{"projects:create"}) {
		t.Errorf("permissions = %v, want [projects:create]", at["permissions"])
	}
	mgmt(http.MethodPost, "/api/v1/roles/admin/permissions", `{"permission_names":["projects:read"]}`)
	r := tokensOf(t, f.refresh(t, appBasic, tk.refresh))
	if _, at := verifyJWT(t, f.in.URL, r.access); !slices.Equal(strList(at["permissions"]), []string{"projects:create", "projects:read"}) {
		t.Errorf("permissions after a grant = %v", at["permissions"])
	}
	if in := f.introspect(t, r.access); !slices.Equal(strList(in["permissions"]), []string{"projects:create", "projects:read"}) {
		t.Errorf("introspected permissions = %v", in["permissions"])
	}
}

// TestSessionPolicyLifetimes: the session policy's access-token lifetime
// and timeouts govern the tokens and the session.
func TestSessionPolicyLifetimes(t *testing.T) {
	f := newFx(t, false)
	if err := f.in.Server.Store().Q().PutSessionPolicy(t.Context(), &store.SessionPolicy{EnvID: f.in.Server.Bootstrap.EnvID,
		AccessTokenTTLSeconds: 600, AbsoluteTimeoutMinutes: 120, IdleTimeoutEnabled: true, IdleTimeoutMinutes: 30, UpdatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	tk, ses, _ := f.signIn(t)
	if !ses.IdleExpiresAt.Equal(t0.Add(30*time.Minute)) || !ses.AbsoluteExpiresAt.Equal(t0.Add(2*time.Hour)) {
		t.Errorf("session expiries idle %v absolute %v", ses.IdleExpiresAt, ses.AbsoluteExpiresAt)
	}
	r := f.refresh(t, appBasic, tk.refresh)
	if r.body["expires_in"] != float64(600) {
		t.Errorf("expires_in = %v, want 600", r.body["expires_in"])
	}
	if _, at := verifyJWT(t, f.in.URL, tokensOf(t, r).access); num(t, at["exp"])-num(t, at["iat"]) != 600 {
		t.Errorf("access token lifetime %d", num(t, at["exp"])-num(t, at["iat"]))
	}
	f.clk.Set(t0.Add(31 * time.Minute))
	wantGrantError(t, "past the policy's idle timeout", f.refresh(t, appBasic, tokensOf(t, r).refresh), "invalid_grant")
}

// TestS03TimeoutsAtAuthorize: SECURITY-BAR S03 through the browser cookie
// (not only through refresh): single sign-on works inside the session
// policy's idle and absolute timeouts, and past either one the same cookie
// gets login_required for prompt=none and the login page otherwise.
func TestS03TimeoutsAtAuthorize(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fx) {
		if err := f.in.Server.Store().Q().PutSessionPolicy(t.Context(), &store.SessionPolicy{EnvID: f.in.Server.Bootstrap.EnvID,
			AccessTokenTTLSeconds: 600, AbsoluteTimeoutMinutes: 120, IdleTimeoutEnabled: true, IdleTimeoutMinutes: 30, UpdatedAt: t0}); err != nil {
			t.Fatal(err)
		}
		silent := func() authz {
			a := goodAuthz()
			a.extra = url.Values{"prompt": {"none"}}
			return a
		}
		wantCode := func(what, cookie string) {
			t.Helper()
			r := f.authorize(t, silent(), cookie)
			if u, err := url.Parse(r.location); r.status != http.StatusSeeOther || err != nil || u.Query().Get("code") == "" {
				t.Fatalf("%s: %d %q, want a code", what, r.status, r.location)
			}
		}

		// Idle: used every 20 minutes the session lives; left alone for 31
		// minutes it does not.
		_, _, idle := f.signIn(t)
		f.clk.Set(t0.Add(20 * time.Minute))
		wantCode("20 minutes in", idle)
		f.clk.Set(t0.Add(51 * time.Minute))
		wantErrorRedirect(t, f, "31 minutes idle", f.authorize(t, silent(), idle), appCB, "st-123", "login_required")
		f.loginRequest(t, f.authorize(t, goodAuthz(), idle))

		// Absolute: kept busy, the session still ends two hours after it began.
		start := f.clk.Now()
		_, _, busy := f.signIn(t)
		for m := 20; m < 120; m += 20 {
			f.clk.Set(start.Add(time.Duration(m) * time.Minute))
			wantCode(fmt.Sprintf("%d minutes in, busy", m), busy)
		}
		f.clk.Set(start.Add(121 * time.Minute))
		wantErrorRedirect(t, f, "past the absolute timeout", f.authorize(t, silent(), busy), appCB, "st-123", "login_required")
		f.loginRequest(t, f.authorize(t, goodAuthz(), busy))
	})
}
