package oauth_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/servertest"
)

// TestIntrospection covers O13's introspection half and C04's bad tokens:
// client authentication is required, and every bad token is active:false
// with nothing else.
func TestIntrospection(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fx) {
		tk, ses, _ := f.signIn(t)
		if r := postForm(t, f.in.URL+"/oauth/introspect", form("token", tk.access), nil); r.status != 401 || r.body["error"] != "invalid_client" {
			t.Errorf("introspection without client auth: %d %s", r.status, r.raw)
		}
		wrong := []string{servertest.ClientID, servertest.ClientSecret + "x"}
		if r := postForm(t, f.in.URL+"/oauth/introspect", form("token", tk.access), wrong); r.status != 401 {
			t.Errorf("introspection with a wrong secret: %d %s", r.status, r.raw)
		}
		at := f.introspect(t, tk.access)
		if at["active"] != true || at["sub"] != f.userID || at["client_id"] != servertest.ClientID || at["sid"] != ses.ID ||
			at["oid"] != f.orgID || at["scope"] != "openid profile email offline_access" || at["token_type"] != "Bearer" {
			t.Errorf("introspection of a good access token: %v", at)
		}
		// Another confidential client (a resource server) may introspect access tokens...
		if r := postForm(t, f.in.URL+"/oauth/introspect", form("token", tk.access), []string{otherID, otherSecret}); r.body["active"] != true {
			t.Errorf("introspection by another client: %s", r.raw)
		}
		// ...but not another client's refresh tokens.
		if r := postForm(t, f.in.URL+"/oauth/introspect", form("token", tk.refresh), []string{otherID, otherSecret}); r.body["active"] != false {
			t.Errorf("refresh token introspected by another client: %s", r.raw)
		}
		if rt := f.introspect(t, tk.refresh); rt["active"] != true || rt["client_id"] != servertest.ClientID {
			t.Errorf("introspection of a good refresh token: %v", rt)
		}
		mgmt := f.introspect(t, f.in.Token(t))
		if mgmt["active"] != true || mgmt["client_id"] != servertest.ClientID {
			t.Errorf("introspection of a management token: %v", mgmt)
		}
		for name, bad := range map[string]string{
			"truncated access token":  tk.access[:len(tk.access)-20],
			"bit-flipped":             flip(tk.access),
			"truncated refresh token": tk.refresh[:len(tk.refresh)-2],
			"ID token":                tk.id,
			"garbage":                 "not-a-token",
			"empty-ish":               "rt_",
		} {
			got := f.introspect(t, bad)
			if got["active"] != false || len(got) != 1 {
				t.Errorf("%s: %v, want only active:false", name, got)
			}
		}
		// Expired.
		f.clk.Set(t0.Add(300 * time.Second))
		if f.active(t, tk.access) {
			t.Error("an expired access token is active")
		}
		if r := f.userinfo(t, tk.access); r.status != 401 || !strings.Contains(r.header.Get("WWW-Authenticate"), `error="invalid_token"`) {
			t.Errorf("userinfo with an expired token: %d WWW-Authenticate %q", r.status, r.header.Get("WWW-Authenticate"))
		}
	})
}

// TestUserinfoErrors covers C04: no token or a bad one is 401 with the
// Bearer challenge; a token in the query string is refused.
func TestUserinfoErrors(t *testing.T) {
	f := newFx(t, false)
	tk, _, _ := f.signIn(t)
	r := get(t, f.in.URL+"/userinfo?access_token="+tk.access)
	if r.status == 200 || r.body["sub"] != nil {
		t.Errorf("token in the query string: %d %s", r.status, r.raw)
	}
	if wa := r.header.Get("WWW-Authenticate"); !strings.HasPrefix(wa, "Bearer") {
		t.Errorf("token in the query: WWW-Authenticate %q", wa)
	}
	for name, auth := range map[string]string{"no token": "", "bad token": "Bearer nope", "ID token": "Bearer " + tk.id,
		"management token": "Bearer " + f.in.Token(t), "Basic": "Basic " + tk.access} {
		req, _ := http.NewRequest(http.MethodGet, f.in.URL+"/userinfo", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		r := do(t, req)
		if r.status != 401 || !strings.Contains(r.header.Get("WWW-Authenticate"), `Bearer error="invalid_token"`) {
			t.Errorf("%s: %d WWW-Authenticate %q", name, r.status, r.header.Get("WWW-Authenticate"))
		}
	}
	// Header and form body at once.
	req, _ := http.NewRequest(http.MethodPost, f.in.URL+"/userinfo", strings.NewReader(form("access_token", tk.access)))
	req.Header.Set("Content-Type", formCT)
	req.Header.Set("Authorization", "Bearer "+tk.access)
	if r := do(t, req); r.status != 400 {
		t.Errorf("token twice: %d %s", r.status, r.raw)
	}
}

// TestRevocation covers O13's revocation half (RFC 7009): revoking a
// refresh token kills its family and the access tokens issued with it;
// another client's revocation changes nothing and still answers 200.
func TestRevocation(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fx) {
		revoke := func(basic []string, kv ...string) response {
			return postForm(t, f.in.URL+"/oauth/revoke", form(kv...), basic)
		}
		tk, ses, _ := f.signIn(t)
		rt2 := tokensOf(t, f.refresh(t, appBasic, tk.refresh))
		if r := revoke(nil, "token", rt2.refresh); r.status != 401 {
			t.Errorf("revocation without client auth: %d %s", r.status, r.raw)
		}
		if r := revoke([]string{otherID, otherSecret}, "token", rt2.refresh); r.status != 200 {
			t.Errorf("foreign revocation: %d %s", r.status, r.raw)
		}
		if !f.active(t, rt2.refresh) || !f.active(t, rt2.access) {
			t.Fatal("a foreign revocation had an effect")
		}
		if r := revoke(appBasic, "token", rt2.refresh, "token_type_hint", "refresh_token"); r.status != 200 {
			t.Errorf("revocation: %d %s", r.status, r.raw)
		}
		if f.active(t, rt2.refresh) || f.active(t, rt2.access) || f.active(t, tk.access) {
			t.Error("the family is still active after revoking its refresh token")
		}
		wantGrantError(t, "refresh after revocation", f.refresh(t, appBasic, rt2.refresh), "invalid_grant")
		if s, _ := f.in.Server.Sessions.Get(t.Context(), ses.ID); !s.RevokedAt.IsZero() {
			t.Error("revoking a refresh token ended the browser session")
		}

		// Revoking an access token.
		tk, _, _ = f.signIn(t)
		if r := revoke([]string{otherID, otherSecret}, "token", tk.access); r.status != 200 || !f.active(t, tk.access) {
			t.Errorf("foreign access-token revocation: %d, active=%v", r.status, f.active(t, tk.access))
		}
		if r := revoke(appBasic, "token", tk.access, "token_type_hint", "access_token"); r.status != 200 || f.active(t, tk.access) {
			t.Errorf("access-token revocation: %d, active=%v", r.status, f.active(t, tk.access))
		}
		if !f.active(t, tk.refresh) {
			t.Error("revoking an access token revoked its refresh token")
		}
		// Unknown tokens: 200 all the same. Management tokens cannot be revoked.
		if r := revoke(appBasic, "token", "garbage"); r.status != 200 {
			t.Errorf("unknown token: %d %s", r.status, r.raw)
		}
		if r := revoke(appBasic, "token", f.in.Token(t)); r.status != 400 || r.body["error"] != "unsupported_token_type" {
			t.Errorf("management token: %d %s", r.status, r.raw)
		}
		if r := revoke(appBasic); r.status != 400 || r.body["error"] != "invalid_request" {
			t.Errorf("no token: %d %s", r.status, r.raw)
		}
		// A public client revokes its own tokens with its client_id.
		ses2, _ := f.login(t)
		a := authz{client: spaID, redirect: spaCB, scope: "openid offline_access", state: "s", verifier: strings.Repeat("p", 50)}
		spa := tokensOf(t, f.token(t, nil, "grant_type", "authorization_code", "code", f.code(t, a, ses2), "redirect_uri", spaCB,
			"client_id", spaID, "code_verifier", a.verifier))
		if r := revoke(nil, "token", spa.refresh, "client_id", spaID); r.status != 200 || f.active(t, spa.access) {
			t.Errorf("public revocation: %d active=%v", r.status, f.active(t, spa.access))
		}
	})
}
