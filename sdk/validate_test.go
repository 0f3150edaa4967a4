package sdk_test

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/gatehouse/gatehouse/sdk"
)

var t0 = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

func TestValidateAccessTokenGood(t *testing.T) {
	is := newIssuer(t, newClock(t0))
	c := is.client(t)
	got, err := c.ValidateAccessToken(context.Background(), is.sign("k1", "at+jwt", is.claims()))
	if err != nil {
		t.Fatal(err)
	}
	if got.Subject != "usr_1" || got.OrganizationID != "org_1" || got.SessionID != "ses_1" || got.ClientID != "skc_app" ||
		got.ID != "tkn_1" || got.Issuer != is.srv.URL || !got.Expiry.Equal(t0.Add(300*time.Second)) || !got.IssuedAt.Equal(t0) {
		t.Errorf("claims = %+v", got)
	}
	if !got.HasRole("admin") || got.HasRole("member") || !got.HasPermission("projects:create") || got.HasPermission("projects:*") ||
		!got.HasScope("offline_access") || got.Legacy {
		t.Errorf("claims helpers disagree with %+v", got)
	}
	// A single-string aud and the application/ typ prefix are accepted too.
	cl := is.claims()
	cl["aud"] = "skc_app"
	if _, err := c.ValidateAccessToken(context.Background(), is.sign("k1", "application/at+jwt", cl)); err != nil {
		t.Errorf("string aud, application/at+jwt: %v", err)
	}
	// Another accepted audience (a resource server).
	api := is.client(t, sdk.WithAudience("https://api.example"))
	cl = is.claims()
	cl["aud"] = []string{"https://api.example"}
	if _, err := api.ValidateAccessToken(context.Background(), is.sign("k1", "at+jwt", cl)); err != nil {
		t.Errorf("WithAudience: %v", err)
	}
	if _, err := c.ValidateAccessToken(context.Background(), is.sign("k1", "at+jwt", cl)); !errors.Is(err, sdk.ErrInvalidToken) {
		t.Errorf("a token for another audience: %v, want ErrInvalidToken", err)
	}
}

// TestValidateAccessTokenRefusals covers SECURITY-BAR J01, J02, J04, J05,
// J06 and J07 on the SDK side: every bad token wraps ErrInvalidToken.
func TestValidateAccessTokenRefusals(t *testing.T) {
	clk := newClock(t0)
	is := newIssuer(t, clk)
	c := is.client(t)
	pub := &is.key("k1").PublicKey
	with := func(k string, v any) map[string]any {
		cl := is.claims()
		if v == nil {
			delete(cl, k)
		} else {
			cl[k] = v
		}
		return cl
	}
	now := t0.Unix()
	der, _ := x509.MarshalPKIXPublicKey(pub)
	pemKey := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	hs := func(key []byte) string {
		s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.HS256, Key: key},
			(&jose.SignerOptions{}).WithType("at+jwt").WithHeader("kid", "k1"))
		if err != nil {
			t.Fatal(err)
		}
		tok, _ := jwt.Signed(s).Claims(is.claims()).Serialize()
		return tok
	}
	good := is.sign("k1", "at+jwt", is.claims())
	parts := strings.Split(good, ".")
	embedded := func() string {
		attacker := rsaKey(t, "attacker")
		s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: attacker, KeyID: "k1"}},
			(&jose.SignerOptions{EmbedJWK: true}).WithType("at+jwt"))
		if err != nil {
			t.Fatal(err)
		}
		tok, _ := jwt.Signed(s).Claims(is.claims()).Serialize()
		return tok
	}()
	for name, tok := range map[string]string{
		"alg none":              unsigned(t, map[string]any{"alg": "none", "typ": "at+jwt", "kid": "k1"}, is.claims()),
		"alg None":              unsigned(t, map[string]any{"alg": "None", "typ": "at+jwt", "kid": "k1"}, is.claims()),
		"alg nOnE":              unsigned(t, map[string]any{"alg": "nOnE", "typ": "at+jwt", "kid": "k1"}, is.claims()),
		"HS256 with PEM key":    hs(pemKey),
		"HS256 with DER key":    hs(der),
		"HS256 with modulus":    hs(pub.N.Bytes()),
		"foreign key, same kid": is.sign("attacker", "at+jwt", is.claims()),
		"embedded jwk":          embedded,
		"ID token type":         is.sign("k1", "JWT", is.claims()),
		"logout token type":     is.sign("k1", "logout+jwt", is.claims()),
		"no typ":                is.sign("k1", "", is.claims()),
		"wrong issuer":          is.sign("k1", "at+jwt", with("iss", "https://evil.example")),
		"issuer with slash":     is.sign("k1", "at+jwt", with("iss", is.srv.URL+"/")),
		"no issuer":             is.sign("k1", "at+jwt", with("iss", nil)),
		"wrong audience":        is.sign("k1", "at+jwt", with("aud", []string{"skc_other"})),
		"no audience":           is.sign("k1", "at+jwt", with("aud", nil)),
		"expired":               is.sign("k1", "at+jwt", with("exp", now-120)),
		"no exp":                is.sign("k1", "at+jwt", with("exp", nil)),
		"nbf in the future":     is.sign("k1", "at+jwt", with("nbf", now+120)),
		"iat in the future":     is.sign("k1", "at+jwt", with("iat", now+3600)),
		"no sub":                is.sign("k1", "at+jwt", with("sub", nil)),
		"unknown kid":           is.sign("k9", "at+jwt", is.claims()),
		"kid path injection":    is.sign("../../../../dev/null", "at+jwt", is.claims()),
		"kid huge":              is.sign(strings.Repeat("k", 10000), "at+jwt", is.claims()),
		"tampered payload":      parts[0] + "." + strings.TrimRight(parts[1], "A") + "B." + parts[2],
		"no signature":          parts[0] + "." + parts[1] + ".",
		"four segments":         good + ".x",
		"not a JWT":             "hello",
		"empty":                 "",
		"1 MB":                  strings.Repeat("a", 1<<20),
	} {
		_, err := c.ValidateAccessToken(context.Background(), tok)
		if !errors.Is(err, sdk.ErrInvalidToken) {
			t.Errorf("%s: err = %v, want ErrInvalidToken", name, err)
		}
	}
	// Within the leeway (30 s) a just-expired token still passes, and
	// WithLeeway(0) removes it.
	tok := is.sign("k1", "at+jwt", with("exp", now-10))
	if _, err := c.ValidateAccessToken(context.Background(), tok); err != nil {
		t.Errorf("10 s past exp with 30 s leeway: %v", err)
	}
	strict := is.client(t, sdk.WithLeeway(0))
	if _, err := strict.ValidateAccessToken(context.Background(), tok); !errors.Is(err, sdk.ErrInvalidToken) {
		t.Errorf("10 s past exp without leeway: %v", err)
	}
	if _, err := sdk.New(is.srv.URL, "skc_app", "", sdk.WithLeeway(2*time.Minute)); err == nil {
		t.Error("a leeway over a minute was accepted")
	}
}

// TestJWKSRefetch covers SECURITY-BAR J09 on the SDK side: the JWKS is
// fetched once and cached; unknown kids re-fetch it at most once per
// interval however many arrive, concurrently or not; a key published
// later is found after the interval; a stale cache is refreshed.
func TestJWKSRefetch(t *testing.T) {
	clk := newClock(t0)
	is := newIssuer(t, clk)
	c := is.client(t, sdk.WithJWKSRefreshInterval(time.Minute), sdk.WithJWKSMaxAge(time.Hour))
	ctx := context.Background()
	good := is.sign("k1", "at+jwt", is.claims())
	for range 10 {
		if _, err := c.ValidateAccessToken(ctx, good); err != nil {
			t.Fatal(err)
		}
	}
	if n := is.hits.Load(); n != 1 {
		t.Fatalf("10 validations fetched the JWKS %d times, want 1", n)
	}
	// 200 tokens with unknown kids, 50 at a time: no fetch, the last one
	// was under a minute ago.
	var wg sync.WaitGroup
	for i := range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tok := is.sign("forged", "at+jwt", is.claims())
			if _, err := c.ValidateAccessToken(ctx, tok); !errors.Is(err, sdk.ErrInvalidToken) {
				t.Errorf("forged kid %d: %v", i, err)
			}
		}()
	}
	wg.Wait()
	if n := is.hits.Load(); n != 1 {
		t.Fatalf("unknown kids within the interval fetched the JWKS: %d fetches, want 1", n)
	}
	// Rotation: k2 is published; a token signed with it is refused until
	// the interval has passed, then one fetch finds it.
	is.addKey("k2")
	rotated := is.sign("k2", "at+jwt", is.claims())
	if _, err := c.ValidateAccessToken(ctx, rotated); !errors.Is(err, sdk.ErrInvalidToken) {
		t.Fatalf("k2 before the interval: %v", err)
	}
	clk.Advance(61 * time.Second)
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := c.ValidateAccessToken(ctx, is.sign("k2", "at+jwt", is.claims())); err != nil {
				t.Errorf("k2 after the interval: %v", err)
			}
		}()
	}
	wg.Wait()
	if n := is.hits.Load(); n != 2 {
		t.Fatalf("after the interval, %d fetches in all, want 2", n)
	}
	// Retirement: k1 leaves the JWKS; after the max age the cache is
	// refreshed and k1 tokens fail.
	is.mu.Lock()
	delete(is.keys, "k1")
	is.mu.Unlock()
	clk.Advance(time.Hour)
	tok := is.sign("k1", "at+jwt", is.claims())
	if _, err := c.ValidateAccessToken(ctx, tok); !errors.Is(err, sdk.ErrInvalidToken) {
		t.Fatalf("k1 after retirement and max age: %v", err)
	}
	if n := is.hits.Load(); n != 3 {
		t.Fatalf("%d fetches in all, want 3", n)
	}
}

// TestJWKSUnavailable: a JWKS that cannot be fetched is not an invalid
// token (the middleware answers 503, not 401), and is retried.
func TestJWKSUnavailable(t *testing.T) {
	clk := newClock(t0)
	is := newIssuer(t, clk)
	tok := is.sign("k1", "at+jwt", is.claims())
	is.srv.Close()
	c := is.client(t)
	_, err := c.ValidateAccessToken(context.Background(), tok)
	if err == nil || errors.Is(err, sdk.ErrInvalidToken) {
		t.Fatalf("unreachable JWKS: err = %v, want an error that is not ErrInvalidToken", err)
	}
}
