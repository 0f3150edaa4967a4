package middleware_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/gatehouse/gatehouse/sdk"
	"github.com/gatehouse/gatehouse/sdk/middleware"
)

// benchEnv is a fake environment (a JWKS on loopback and a token signed
// for it) and a client of it, so the benchmark measures the middleware and
// nothing on the network.
func benchEnv(b *testing.B) (*sdk.Client, string) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: "k1", Algorithm: "RS256", Use: "sig"}}})
	}))
	b.Cleanup(srv.Close)
	c, err := sdk.New(srv.URL, "skc_app", "")
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now().Unix()
	tok := sign(b, jose.RS256, key, "k1", map[string]any{"iss": srv.URL, "sub": "usr_1", "aud": []string{"skc_app"}, "exp": now + 3600,
		"iat": now, "nbf": now, "sid": "ses_1", "oid": "org_1", "roles": []string{"admin"}, "permissions": []string{"projects:create"}},
		"at+jwt")
	if _, err := c.ValidateAccessToken(context.Background(), tok); err != nil {
		b.Fatal(err)
	}
	return c, tok
}

// BenchmarkMiddleware measures the cost per request of the middleware
// against the bare handler, in one run: bearer tokens (one RS256
// verification per request, like ValidateAccessToken), bearer with a role
// check, and a cookie session (a store lookup, no signature).
//
//	go test ./sdk/middleware/ -run '^$' -bench Middleware -benchtime 2s -count 5
func BenchmarkMiddleware(b *testing.B) {
	c, tok := benchEnv(b)
	bare := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	sessions, err := middleware.NewSessions(c, middleware.SessionConfig{CallbackURL: "https://app.example/callback"})
	if err != nil {
		b.Fatal(err)
	}
	claims, err := c.ValidateAccessToken(context.Background(), tok)
	if err != nil {
		b.Fatal(err)
	}
	rec := httptest.NewRecorder()
	if _, err := sessions.Start(context.Background(), rec, &sdk.AuthenticationResponse{Claims: claims,
		Tokens: sdk.Tokens{AccessToken: tok, Expiry: claims.Expiry}}); err != nil {
		b.Fatal(err)
	}
	cookie := rec.Result().Cookies()[0]
	auth := middleware.RequireAuth(c, middleware.WithSessions(sessions))
	run := func(name string, h http.Handler, prepare func(*http.Request)) {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			req := httptest.NewRequest(http.MethodGet, "/api", nil)
			prepare(req)
			for b.Loop() {
				w := httptest.NewRecorder()
				h.ServeHTTP(w, req)
				if w.Code != http.StatusNoContent {
					b.Fatalf("%s: %d %s", name, w.Code, w.Body)
				}
			}
		})
	}
	withBearer := func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+tok) }
	run("bare", bare, func(*http.Request) {})
	run("RequireAuth-bearer", auth(bare), withBearer)
	run("RequireAuth-bearer+RequireRole", auth(middleware.RequireRole("admin")(bare)), withBearer)
	run("RequireAuth-session-cookie", auth(bare), func(r *http.Request) { r.AddCookie(cookie) })
}

// BenchmarkMiddlewareOverhead measures, in alternating blocks (so machine
// load hits all alike), the bare handler, ValidateAccessToken alone, the
// handler behind RequireAuth with a bearer token, and behind RequireAuth
// with a session cookie; it reports the medians per request and the
// middleware's own cost beyond the token check (bearer - bare - validate).
//
//	go test ./sdk/middleware/ -run '^$' -bench MiddlewareOverhead -benchtime 20000x -count 5
func BenchmarkMiddlewareOverhead(b *testing.B) {
	c, tok := benchEnv(b)
	ctx := context.Background()
	bare := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	sessions, err := middleware.NewSessions(c, middleware.SessionConfig{CallbackURL: "https://app.example/callback"})
	if err != nil {
		b.Fatal(err)
	}
	claims, _ := c.ValidateAccessToken(ctx, tok)
	rec := httptest.NewRecorder()
	if _, err := sessions.Start(ctx, rec, &sdk.AuthenticationResponse{Claims: claims, Tokens: sdk.Tokens{AccessToken: tok, Expiry: claims.Expiry}}); err != nil {
		b.Fatal(err)
	}
	cookie := rec.Result().Cookies()[0]
	protected := middleware.RequireAuth(c, middleware.WithSessions(sessions))(bare)
	bearerReq := httptest.NewRequest(http.MethodGet, "/api", nil)
	bearerReq.Header.Set("Authorization", "Bearer "+tok)
	cookieReq := httptest.NewRequest(http.MethodGet, "/api", nil)
	cookieReq.AddCookie(cookie)
	bareReq := httptest.NewRequest(http.MethodGet, "/api", nil)
	serve := func(h http.Handler, r *http.Request) func() {
		return func() {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != http.StatusNoContent {
				b.Fatalf("%d %s", w.Code, w.Body)
			}
		}
	}
	validate := func() {
		if _, err := c.ValidateAccessToken(ctx, tok); err != nil {
			b.Fatal(err)
		}
	}
	runs := []func(){serve(bare, bareReq), validate, serve(protected, bearerReq), serve(protected, cookieReq)}
	samples := make([][]float64, len(runs))
	const block = 16
	b.ResetTimer()
	for i := 0; i < b.N; i += block {
		for j, run := range runs {
			start := time.Now()
			for range block {
				run()
			}
			samples[j] = append(samples[j], float64(time.Since(start))/block)
		}
	}
	med := func(v []float64) float64 {
		s := slices.Clone(v)
		slices.Sort(s)
		return s[len(s)/2]
	}
	bareNs, validateNs, bearerNs, cookieNs := med(samples[0]), med(samples[1]), med(samples[2]), med(samples[3])
	b.ReportMetric(bareNs, "bare-ns/req")
	b.ReportMetric(validateNs, "validate-ns")
	b.ReportMetric(bearerNs, "bearer-ns/req")
	b.ReportMetric(cookieNs, "session-ns/req")
	b.ReportMetric(bearerNs-bareNs-validateNs, "bearer-overhead-ns")
	b.ReportMetric(cookieNs-bareNs, "session-overhead-ns")
}
