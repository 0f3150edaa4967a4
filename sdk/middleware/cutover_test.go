package middleware_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/sdk"
	"github.com/gatehouse/gatehouse/sdk/middleware"
	"github.com/gatehouse/gatehouse/sdk/sdktest"
)

// counter reads one counter of a registry, 0 when it has not counted yet.
func counter(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	metrics:
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if labels[lp.GetName()] != lp.GetValue() {
					continue metrics
				}
			}
			return m.GetCounter().GetValue()
		}
	}
	return 0
}

func sideHandler(name string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, name) })
}

// TestRouter: percentages, stickiness, the lists, rollback, the cohort
// cookie and the counters.
func TestRouter(t *testing.T) {
	reg := prometheus.NewRegistry()
	rt, err := middleware.NewRouter(middleware.RouterConfig{Percent: 10, Salt: "rollout-1",
		Allow: []string{"Tester@Acme.example"}, Deny: []string{"ceo@acme.example", "tester2@acme.example"},
		Gatehouse: sideHandler("gatehouse"), Legacy: sideHandler("legacy"), Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	keys := make([]string, 2000)
	for i := range keys {
		keys[i] = fmt.Sprintf("user%d@acme.example", i)
	}
	picked := func() map[string]bool {
		m := map[string]bool{}
		for _, k := range keys {
			if d := rt.Decide(k); d.Gatehouse {
				if d.Reason != "percentage" {
					t.Fatalf("%s: reason %s", k, d.Reason)
				}
				m[k] = true
			}
		}
		return m
	}
	ten := picked()
	if n := len(ten); n < 140 || n > 260 {
		t.Fatalf("10%% picked %d of 2000", n)
	}
	if again := picked(); len(again) != len(ten) {
		t.Fatal("the choice is not sticky")
	}
	if err := rt.SetPercent(30); err != nil {
		t.Fatal(err)
	}
	thirty := picked()
	for k := range ten {
		if !thirty[k] {
			t.Fatalf("raising the percentage moved %s back to legacy", k)
		}
	}
	if n := len(thirty); n < 500 || n > 700 {
		t.Fatalf("30%% picked %d of 2000", n)
	}
	// The lists: allow wins over the percentage, deny over everything.
	if d := rt.Decide(" tester@acme.EXAMPLE "); !d.Gatehouse || d.Reason != "allow_list" {
		t.Errorf("allow-listed: %+v", d)
	}
	rt.SetLists([]string{"ceo@acme.example"}, []string{"ceo@acme.example"})
	if d := rt.Decide("ceo@acme.example"); d.Gatehouse || d.Reason != "deny_list" {
		t.Errorf("both lists: %+v", d)
	}
	_ = rt.SetPercent(100)
	if d := rt.Decide("ceo@acme.example"); d.Gatehouse {
		t.Errorf("deny-listed at 100%%: %+v", d)
	}
	if n := len(picked()); n != 2000 {
		t.Errorf("100%% picked %d", n)
	}
	// Rollback.
	_ = rt.SetPercent(0)
	if n := len(picked()); n != 0 {
		t.Errorf("0%% (rollback) picked %d", n)
	}
	if rt.SetPercent(101) == nil || rt.SetPercent(-1) == nil || rt.Percent() != 0 {
		t.Error("out-of-range percentages accepted")
	}
	// Another salt picks other users.
	other := 0
	for _, k := range keys {
		if (middleware.Bucket("rollout-1", k) < 10) != (middleware.Bucket("rollout-2", k) < 10) {
			other++
		}
	}
	if other == 0 {
		t.Error("the salt changes nothing")
	}

	// Serving: by login_hint, and by cohort cookie for anonymous browsers.
	_ = rt.SetPercent(50)
	rt.SetLists(nil, nil)
	serve := func(target string, cookies ...*http.Cookie) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodGet, target, nil)
		for _, c := range cookies {
			req.AddCookie(c)
		}
		rec := httptest.NewRecorder()
		rt.ServeHTTP(rec, req)
		return rec
	}
	for _, k := range keys[:50] {
		want := map[bool]string{true: "gatehouse", false: "legacy"}[middleware.Bucket("rollout-1", k) < 50]
		if got := serve("/login?login_hint=" + k).Body.String(); got != want {
			t.Fatalf("%s went to %s, want %s", k, got, want)
		}
	}
	sides := map[string]int{}
	for range 40 {
		rec := serve("/login")
		cookies := rec.Result().Cookies()
		if len(cookies) != 1 || cookies[0].Name != "__Host-gatehouse_cohort" || !cookies[0].HttpOnly || !cookies[0].Secure ||
			cookies[0].SameSite != http.SameSiteLaxMode || cookies[0].Path != "/" {
			t.Fatalf("cohort cookie: %+v", cookies)
		}
		first := rec.Body.String()
		sides[first]++
		for range 3 {
			if rec2 := serve("/login", cookies[0]); rec2.Body.String() != first || len(rec2.Result().Cookies()) != 0 {
				t.Fatal("a browser changed sides, or got a new cohort cookie")
			}
		}
	}
	if sides["gatehouse"] == 0 || sides["legacy"] == 0 {
		t.Errorf("40 anonymous browsers at 50%%: %v", sides)
	}
	got := counter(t, reg, "gatehouse_cutover_logins_total", map[string]string{"path": "gatehouse", "reason": "percentage"}) +
		counter(t, reg, "gatehouse_cutover_logins_total", map[string]string{"path": "legacy", "reason": "percentage"})
	if got != 50+40*4 {
		t.Errorf("counted %v logins, want %d", got, 50+40*4)
	}
	if _, err := middleware.NewRouter(middleware.RouterConfig{Gatehouse: sideHandler("g")}); err == nil {
		t.Error("a router without the legacy login was accepted")
	}
}

// legacyIdP is the old system's token issuer on loopback: a JWKS with an
// RSA and an EC key.
type legacyIdP struct {
	srv  *httptest.Server
	rsa  *rsa.PrivateKey
	ec   *ecdsa.PrivateKey
	hits atomic.Int64
	now  func() time.Time
}

func newLegacyIdP(t *testing.T, now func() time.Time) *legacyIdP {
	l := &legacyIdP{now: now}
	l.rsa, _ = rsa.GenerateKey(rand.Reader, 2048)
	l.ec, _ = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	l.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		l.hits.Add(1)
		_ = json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{
			{Key: &l.rsa.PublicKey, KeyID: "old-rsa", Algorithm: "RS256", Use: "sig"},
			{Key: &l.ec.PublicKey, KeyID: "old-ec", Algorithm: "ES256", Use: "sig"}}})
	}))
	t.Cleanup(l.srv.Close)
	return l
}

const legacyAudience = "old-app"

func (l *legacyIdP) iss() string { return l.srv.URL + "/" }

func (l *legacyIdP) claims(sub, email string) map[string]any {
	now := l.now()
	return map[string]any{"iss": l.iss(), "sub": sub, "email": email, "aud": []string{legacyAudience},
		"exp": now.Add(time.Hour).Unix(), "iat": now.Unix(), "roles": []string{"admin"}, "scope": "read write"}
}

func sign(t testing.TB, alg jose.SignatureAlgorithm, key any, kid string, claims any, typ ...string) string {
	t.Helper()
	opts := &jose.SignerOptions{}
	if len(typ) == 1 {
		opts = opts.WithType(jose.ContentType(typ[0]))
	}
	if kid != "" {
		opts = opts.WithHeader("kid", kid)
	}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, opts)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jwt.Signed(s).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func (l *legacyIdP) token(t *testing.T, sub, email string) string {
	return sign(t, jose.RS256, l.rsa, "old-rsa", l.claims(sub, email))
}

func (l *legacyIdP) verifier(t *testing.T) *middleware.LegacyVerifier {
	v, err := middleware.NewLegacyVerifier(middleware.LegacyConfig{Issuer: l.iss(), Audience: legacyAudience,
		JWKSURL: l.srv.URL + "/jwks", Now: l.now})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestLegacyVerifier: legacy tokens by JWKS (RS256, ES256) and by shared
// secret map onto sdk.Claims; everything else is refused.
func TestLegacyVerifier(t *testing.T) {
	clk := &clock{t: time.Now()}
	l := newLegacyIdP(t, clk.Now)
	v := l.verifier(t)
	ctx := context.Background()
	c, err := v.ValidateAccessToken(ctx, l.token(t, "old-1", "ada@acme.example"))
	if err != nil {
		t.Fatal(err)
	}
	if !c.Legacy || c.Subject != "old-1" || c.Email != "ada@acme.example" || !c.HasRole("admin") || !c.HasScope("write") ||
		c.Issuer != l.iss() || c.Expiry.IsZero() {
		t.Errorf("claims: %+v", c)
	}
	if _, err := v.ValidateAccessToken(ctx, sign(t, jose.ES256, l.ec, "old-ec", l.claims("old-1", ""))); err != nil {
		t.Errorf("ES256: %v", err)
	}
	der, _ := x509.MarshalPKIXPublicKey(&l.rsa.PublicKey)
	pemKey := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	with := func(k string, val any) map[string]any {
		m := l.claims("old-1", "")
		if val == nil {
			delete(m, k)
		} else {
			m[k] = val
		}
		return m
	}
	hits := l.hits.Load()
	for name, tok := range map[string]string{
		"HS256 keyed with the public key": sign(t, jose.HS256, pemKey, "old-rsa", l.claims("old-1", "")),
		"RS256 with the EC kid":           sign(t, jose.RS256, l.rsa, "old-ec", l.claims("old-1", "")),
		"foreign key":                     sign(t, jose.RS256, other, "old-rsa", l.claims("old-1", "")),
		"unknown kid":                     sign(t, jose.RS256, other, "new", l.claims("old-1", "")),
		"wrong issuer":                    sign(t, jose.RS256, l.rsa, "old-rsa", with("iss", "https://evil.example/")),
		"wrong audience":                  sign(t, jose.RS256, l.rsa, "old-rsa", with("aud", "other")),
		"expired":                         sign(t, jose.RS256, l.rsa, "old-rsa", with("exp", clk.Now().Add(-time.Hour).Unix())),
		"no exp":                          sign(t, jose.RS256, l.rsa, "old-rsa", with("exp", nil)),
		"no sub":                          sign(t, jose.RS256, l.rsa, "old-rsa", with("sub", nil)),
		"garbage":                         "a.b.c",
	} {
		if _, err := v.ValidateAccessToken(ctx, tok); !errors.Is(err, sdk.ErrInvalidToken) {
			t.Errorf("%s: %v, want ErrInvalidToken", name, err)
		}
	}
	if got := l.hits.Load(); got != hits {
		t.Errorf("unknown kids within a minute fetched the JWKS %d more times", got-hits)
	}
	secret := []byte(strings.Repeat("k", 40))
	hs, err := middleware.NewLegacyVerifier(middleware.LegacyConfig{Issuer: l.iss(), Audience: legacyAudience, HSSecret: secret, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := hs.ValidateAccessToken(ctx, sign(t, jose.HS256, secret, "", l.claims("old-2", ""))); err != nil {
		t.Errorf("HS256: %v", err)
	}
	if _, err := hs.ValidateAccessToken(ctx, l.token(t, "old-2", "")); !errors.Is(err, sdk.ErrInvalidToken) {
		t.Errorf("RS256 at an HS verifier: %v", err)
	}
	for _, bad := range []middleware.LegacyConfig{{Issuer: "x"}, {Issuer: "x", Audience: "a"},
		{Issuer: "x", Audience: "a", HSSecret: []byte("short")}, {Issuer: "x", Audience: "a", HSSecret: secret, JWKSURL: "https://x/jwks"}} {
		if _, err := middleware.NewLegacyVerifier(bad); err == nil {
			t.Errorf("accepted %+v", bad)
		}
	}
}

// legacyServer configures the Gatehouse server to exchange l's tokens,
// users found by external_id.
func legacyServer(l *legacyIdP) func(*config.Config) {
	return func(c *config.Config) {
		c.Legacy = config.LegacyIssuer{Issuer: l.iss(), JWKSURL: l.srv.URL + "/jwks", Audience: legacyAudience}
	}
}

// TestDual: one handler accepts both kinds of tokens and sees one claims
// shape; the counters say which path each token took.
func TestDual(t *testing.T) {
	a := newApp(t, false)
	l := newLegacyIdP(t, a.clk.Now)
	reg := prometheus.NewRegistry()
	dual, err := middleware.NewDual(a.client, l.verifier(t), reg)
	if err != nil {
		t.Fatal(err)
	}
	h := middleware.RequireAuth(dual)(middleware.RequireRole("admin")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := middleware.ClaimsFrom(r.Context())
		fmt.Fprintf(w, "%s %v %v", c.Subject, c.Roles, c.Legacy)
	})))
	call := func(tok string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	gh := a.userTokens()
	if rec := call(gh.AccessToken); rec.Code != 200 || rec.Body.String() != a.env.UserID+" [admin] false" {
		t.Errorf("Gatehouse token: %d %s", rec.Code, rec.Body)
	}
	if rec := call(l.token(t, "old-1", "")); rec.Code != 200 || rec.Body.String() != "old-1 [admin] true" {
		t.Errorf("legacy token: %d %s", rec.Code, rec.Body)
	}
	noAdmin := l.claims("old-2", "")
	noAdmin["roles"] = []string{"viewer"}
	if rec := call(sign(t, jose.RS256, l.rsa, "old-rsa", noAdmin)); rec.Code != http.StatusForbidden {
		t.Errorf("legacy token without the role: %d", rec.Code)
	}
	for _, bad := range []string{gh.IDToken, gh.AccessToken + "x", sign(t, jose.HS256, []byte(strings.Repeat("k", 40)), "", l.claims("x", ""))} {
		if rec := call(bad); rec.Code != http.StatusUnauthorized {
			t.Errorf("bad token: %d", rec.Code)
		}
	}
	for _, c := range []struct {
		path, result string
		want         float64
	}{{"gatehouse", "valid", 1}, {"gatehouse", "invalid", 2}, {"legacy", "valid", 2}, {"legacy", "invalid", 1}} {
		if got := counter(t, reg, "gatehouse_cutover_tokens_total", map[string]string{"path": c.path, "result": c.result}); got != c.want {
			t.Errorf("tokens %s/%s = %v, want %v", c.path, c.result, got, c.want)
		}
	}
}

// TestCarryOver: a user signed in to the legacy system and routed to
// Gatehouse gets a Gatehouse session on their next request, without
// signing in; at 0% (rollback) nobody is moved and legacy tokens keep
// working; a legacy user Gatehouse does not know stays on the legacy token.
func TestCarryOver(t *testing.T) {
	eachDB(t, func(t *testing.T, pg bool) {
		var a *app
		l := newLegacyIdP(t, func() time.Time { return a.clk.Now() })
		a = newAppWith(t, pg, legacyServer(l))
		reg := prometheus.NewRegistry()
		lv := l.verifier(t)
		dual, err := middleware.NewDual(a.client, lv, reg)
		if err != nil {
			t.Fatal(err)
		}
		rt, err := middleware.NewRouter(middleware.RouterConfig{Percent: 100, Gatehouse: sideHandler("g"), Legacy: sideHandler("l"), Registerer: reg})
		if err != nil {
			t.Fatal(err)
		}
		legacyCookie := func(r *http.Request) string {
			if c, err := r.Cookie("legacy_session"); err == nil {
				return c.Value
			}
			return ""
		}
		carry, err := middleware.CarryOver(middleware.CarryOverConfig{Sessions: a.sessions, Legacy: lv, Router: rt,
			LegacyToken: legacyCookie, Registerer: reg})
		if err != nil {
			t.Fatal(err)
		}
		h := carry(middleware.RequireAuth(dual, middleware.WithSessions(a.sessions), middleware.WithToken(legacyCookie))(
			http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				c := middleware.ClaimsFrom(r.Context())
				fmt.Fprintf(w, "%s %v", c.Subject, c.Legacy)
			})))
		call := func(cookies ...*http.Cookie) *httptest.ResponseRecorder {
			req := httptest.NewRequest(http.MethodGet, "/api", nil)
			for _, c := range cookies {
				req.AddCookie(c)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			return rec
		}
		old := &http.Cookie{Name: "legacy_session", Value: l.token(t, sdktest.UserExternalID, sdktest.UserEmail)}
		rec := call(old)
		if rec.Code != 200 || rec.Body.String() != a.env.UserID+" false" {
			t.Fatalf("first request after the cut-over: %d %s", rec.Code, rec.Body)
		}
		cookies := rec.Result().Cookies()
		if len(cookies) != 1 || cookies[0].Name != "__Host-gatehouse_app" {
			t.Fatalf("carried over without a session cookie: %v", cookies)
		}
		for range 3 {
			if rec := call(old, cookies[0]); rec.Code != 200 || rec.Body.String() != a.env.UserID+" false" || len(rec.Result().Cookies()) != 0 {
				t.Fatalf("later requests: %d %s", rec.Code, rec.Body)
			}
		}
		if n := counter(t, reg, "gatehouse_cutover_carried_over_total", map[string]string{"result": "exchanged"}); n != 1 {
			t.Fatalf("%v exchanges, want 1", n)
		}
		// A legacy user unknown to Gatehouse keeps their legacy session.
		stranger := &http.Cookie{Name: "legacy_session", Value: l.token(t, "not-imported", "x@acme.example")}
		if rec := call(stranger); rec.Code != 200 || rec.Body.String() != "not-imported true" {
			t.Fatalf("an unknown legacy user: %d %s", rec.Code, rec.Body)
		}
		if n := counter(t, reg, "gatehouse_cutover_carried_over_total", map[string]string{"result": "refused"}); n != 1 {
			t.Fatalf("%v refused exchanges, want 1", n)
		}
		// Rollback: nobody else is moved; legacy tokens work on.
		_ = rt.SetPercent(0)
		rec = call(old)
		if rec.Code != 200 || rec.Body.String() != sdktest.UserExternalID+" true" || len(rec.Result().Cookies()) != 0 {
			t.Fatalf("after rollback: %d %s", rec.Code, rec.Body)
		}
		if n := counter(t, reg, "gatehouse_cutover_carried_over_total", map[string]string{"result": "exchanged"}); n != 1 {
			t.Fatalf("after rollback: %v exchanges, want 1", n)
		}
		if n := counter(t, reg, "gatehouse_cutover_tokens_total", map[string]string{"path": "legacy", "result": "valid"}); n < 2 {
			t.Fatalf("legacy tokens counted: %v", n)
		}
	})
}
