package sdk_test

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/gatehouse/gatehouse/sdk"
)

// clock is a settable clock shared by a test and the code under test.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock(t time.Time) *clock { return &clock{t: t} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// issuer is a fake token issuer on loopback: it serves a JWKS at /keys
// and mints tokens with its keys, so every way a token can be wrong can
// be made.
type issuer struct {
	t     testing.TB
	srv   *httptest.Server
	mu    sync.Mutex
	keys  map[string]*rsa.PrivateKey // published
	hits  atomic.Int64               // JWKS fetches
	clock *clock
}

func newIssuer(t testing.TB, clk *clock) *issuer {
	is := &issuer{t: t, keys: map[string]*rsa.PrivateKey{}, clock: clk}
	is.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/keys" {
			http.NotFound(w, r)
			return
		}
		is.hits.Add(1)
		is.mu.Lock()
		var set jose.JSONWebKeySet
		for kid, k := range is.keys {
			set.Keys = append(set.Keys, jose.JSONWebKey{Key: &k.PublicKey, KeyID: kid, Algorithm: "RS256", Use: "sig"})
		}
		is.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(set)
	}))
	t.Cleanup(is.srv.Close)
	is.addKey("k1")
	return is
}

var keyCache sync.Map // kid -> *rsa.PrivateKey, so tests do not wait for RSA generation

func rsaKey(t testing.TB, name string) *rsa.PrivateKey {
	if k, ok := keyCache.Load(name); ok {
		return k.(*rsa.PrivateKey)
	}
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	keyCache.Store(name, k)
	return k
}

func (is *issuer) addKey(kid string) *rsa.PrivateKey {
	k := rsaKey(is.t, kid)
	is.mu.Lock()
	is.keys[kid] = k
	is.mu.Unlock()
	return k
}

func (is *issuer) key(kid string) *rsa.PrivateKey {
	is.mu.Lock()
	defer is.mu.Unlock()
	return is.keys[kid]
}

func (is *issuer) client(t testing.TB, opts ...sdk.Option) *sdk.Client {
	c, err := sdk.New(is.srv.URL, "skc_app", "", append([]sdk.Option{sdk.WithClock(is.clock.Now)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// claims are good access-token claims for the fake issuer at now.
func (is *issuer) claims() map[string]any {
	now := is.clock.Now().Unix()
	return map[string]any{"iss": is.srv.URL, "sub": "usr_1", "aud": []string{"skc_app"}, "client_id": "skc_app",
		"exp": now + 300, "iat": now, "nbf": now, "jti": "tkn_1", "sid": "ses_1", "oid": "org_1",
		"roles": []string{"admin"}, "permissions": []string{"projects:create"}, "scopes": []string{"openid", "offline_access"}}
}

// sign signs claims RS256 with key kid (which need not be published) and typ.
func (is *issuer) sign(kid, typ string, claims map[string]any) string {
	return signRS256(is.t, rsaKey(is.t, kid), kid, typ, claims)
}

func signRS256(t testing.TB, k *rsa.PrivateKey, kid, typ string, claims any) string {
	opts := (&jose.SignerOptions{}).WithType(jose.ContentType(typ)).WithHeader("kid", kid)
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: k}, opts)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jwt.Signed(s).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// unsigned builds a JWT with the given header and no signature (alg none).
func unsigned(t *testing.T, header, claims map[string]any) string {
	h, _ := json.Marshal(header)
	c, _ := json.Marshal(claims)
	return base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(c) + "."
}

func mustHave(t *testing.T, got []string, want ...string) {
	t.Helper()
	for _, w := range want {
		found := false
		for _, g := range got {
			found = found || g == w
		}
		if !found {
			t.Errorf("%v does not contain %q", got, w)
		}
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
