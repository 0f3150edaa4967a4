package oauth_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/gatehouse/gatehouse/internal/accounts"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/oauth"
	"github.com/gatehouse/gatehouse/internal/servertest"
	"github.com/gatehouse/gatehouse/internal/sessions"
	"github.com/gatehouse/gatehouse/internal/store"
)

const (
	legacyAud    = "legacy-app"
	legacyExtID  = "legacy-42"
	legacyEmail  = "grace@acme.example"
	legacySecret = "a-shared-hmac-secret-of-more-than-32-bytes"
	exchangeType = "urn:ietf:params:oauth:grant-type:token-exchange"
	jwtType      = "urn:ietf:params:oauth:token-type:jwt"
)

// legacyIdP is the legacy system's token issuer on loopback: a JWKS with
// an RSA and an EC key, and a way to mint its tokens.
type legacyIdP struct {
	srv  *httptest.Server
	rsa  *rsa.PrivateKey
	ec   *ecdsa.PrivateKey
	hits atomic.Int64
}

func newLegacyIdP(t *testing.T) *legacyIdP {
	l := &legacyIdP{}
	var err error
	if l.rsa, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		t.Fatal(err)
	}
	if l.ec, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		t.Fatal(err)
	}
	l.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		l.hits.Add(1)
		_ = json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{
			{Key: &l.rsa.PublicKey, KeyID: "rsa1", Algorithm: "RS256", Use: "sig"},
			{Key: &l.ec.PublicKey, KeyID: "ec1", Algorithm: "ES256", Use: "sig"},
		}})
	}))
	t.Cleanup(l.srv.Close)
	return l
}

func (l *legacyIdP) iss() string { return l.srv.URL + "/" }

func (l *legacyIdP) claims(now time.Time) map[string]any {
	return map[string]any{"iss": l.iss(), "sub": legacyExtID, "aud": legacyAud, "exp": now.Add(time.Hour).Unix(),
		"iat": now.Unix(), "email": legacyEmail, "email_verified": true}
}

func signWith(t *testing.T, alg jose.SignatureAlgorithm, key any, kid string, claims any) string {
	t.Helper()
	opts := &jose.SignerOptions{}
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

// xfx is a server trusting one legacy issuer, with a member (external_id
// legacy-42, email grace@...) of organization Acme.
type xfx struct {
	in     *servertest.Instance
	clk    *clock
	idp    *legacyIdP
	orgID  string
	userID string
}

func newXfx(t *testing.T, pg bool, legacy func(idp *legacyIdP) config.LegacyIssuer) *xfx {
	t.Helper()
	f := &xfx{clk: newClock(), idp: newLegacyIdP(t)}
	f.in = servertest.Start(t, withMasterKey(servertest.Options{Postgres: pg, Now: f.clk.Now, Configure: func(c *config.Config) {
		if legacy != nil {
			c.Legacy = legacy(f.idp)
		}
	}}))
	ctx := context.Background()
	name, ext := "Acme", "acme"
	org, err := f.in.Server.Accounts.CreateOrganization(ctx, accounts.OrgFields{DisplayName: &name, ExternalID: &ext})
	if err != nil {
		t.Fatal(err)
	}
	email, uext := legacyEmail, legacyExtID
	u, err := f.in.Server.Accounts.CreateUserAndMembership(ctx, org.ID, accounts.UserFields{Email: &email, ExternalID: &uext},
		accounts.MembershipFields{Roles: []string{"admin"}}, false)
	if err != nil {
		t.Fatal(err)
	}
	f.orgID, f.userID = org.ID, u.ID
	return f
}

func jwksLegacy(idp *legacyIdP) config.LegacyIssuer {
	return config.LegacyIssuer{Issuer: idp.iss(), JWKSURL: idp.srv.URL + "/jwks", Audience: legacyAud, SubjectClaim: "external_id"}
}

func (f *xfx) exchange(t *testing.T, subject string, kv ...string) response {
	t.Helper()
	v := url.Values{"grant_type": {exchangeType}, "subject_token": {subject}, "subject_token_type": {jwtType}}
	for i := 0; i < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return postToken(t, f.in.URL, formCT, v.Encode(), []string{servertest.ClientID, servertest.ClientSecret})
}

func wantError(t *testing.T, what string, r response, status int, code string) {
	t.Helper()
	if r.status != status || r.body["error"] != code {
		t.Errorf("%s: %d %s, want %d %s", what, r.status, r.raw, status, code)
	}
}

// TestTokenExchange: a legacy RS256 token of a known subject becomes a
// Gatehouse session and tokens, on both databases.
func TestTokenExchange(t *testing.T) {
	for _, pg := range []bool{false, true} {
		name := map[bool]string{false: "sqlite", true: "postgres"}[pg]
		t.Run(name, func(t *testing.T) {
			f := newXfx(t, pg, jwksLegacy)
			r := f.exchange(t, signWith(t, jose.RS256, f.idp.rsa, "rsa1", f.idp.claims(f.clk.Now())))
			if r.status != http.StatusOK {
				t.Fatalf("exchange: %d %s", r.status, r.raw)
			}
			if r.body["token_type"] != "Bearer" || r.body["issued_token_type"] != "urn:ietf:params:oauth:token-type:access_token" ||
				r.body["refresh_token"] == nil || r.body["id_token"] == nil || r.body["scope"] != "openid profile email offline_access" ||
				r.header.Get("Cache-Control") != "no-store" {
				t.Fatalf("exchange answer: %s", r.raw)
			}
			_, at := segments(t, r.body["access_token"].(string))
			if at["sub"] != f.userID || at["oid"] != f.orgID || at["sid"] == nil || strList(at["roles"])[0] != "admin" {
				t.Errorf("access token claims: %v", at)
			}
			ses, err := f.in.Server.Sessions.Get(context.Background(), at["sid"].(string))
			if err != nil || ses.UserID != f.userID || ses.OrgID != f.orgID || len(ses.AMR) != 1 || ses.AMR[0] != oauth.AMRLegacyToken {
				t.Fatalf("the session: %+v %v", ses, err)
			}
			// The refresh token works like any other.
			rr := postToken(t, f.in.URL, formCT, form("grant_type", "refresh_token", "refresh_token", r.body["refresh_token"].(string)),
				[]string{servertest.ClientID, servertest.ClientSecret})
			if rr.status != http.StatusOK {
				t.Fatalf("refreshing an exchanged session: %d %s", rr.status, rr.raw)
			}
			// Without offline_access: no refresh token; organization_id by external_id.
			r = f.exchange(t, signWith(t, jose.ES256, f.idp.ec, "ec1", f.idp.claims(f.clk.Now())), "scope", "openid",
				"organization_id", "acme", "subject_token_type", "urn:ietf:params:oauth:token-type:access_token")
			if r.status != http.StatusOK || r.body["refresh_token"] != nil || r.body["scope"] != "openid" {
				t.Fatalf("ES256, scope openid: %d %s", r.status, r.raw)
			}
		})
	}
}

// TestTokenExchangeRefusals: every bad subject token is invalid_grant,
// every bad request invalid_request, and nothing is created for them.
func TestTokenExchangeRefusals(t *testing.T) {
	f := newXfx(t, false, jwksLegacy)
	now := f.clk.Now()
	with := func(k string, v any) map[string]any {
		c := f.idp.claims(now)
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
		return c
	}
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	der, _ := x509.MarshalPKIXPublicKey(&f.idp.rsa.PublicKey)
	pemKey := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	rs := func(c map[string]any) string { return signWith(t, jose.RS256, f.idp.rsa, "rsa1", c) }
	for name, tok := range map[string]string{
		"expired":                rs(with("exp", now.Add(-2*time.Minute).Unix())),
		"no exp":                 rs(with("exp", nil)),
		"not yet valid":          rs(with("nbf", now.Add(2*time.Minute).Unix())),
		"issued in the future":   rs(with("iat", now.Add(time.Hour).Unix())),
		"untrusted issuer":       rs(with("iss", "https://evil.example/")),
		"issuer without slash":   rs(with("iss", strings.TrimSuffix(f.idp.iss(), "/"))),
		"wrong audience":         rs(with("aud", "other-app")),
		"unknown subject":        rs(with("sub", "nobody")),
		"no subject":             rs(with("sub", nil)),
		"foreign key, same kid":  signWith(t, jose.RS256, other, "rsa1", f.idp.claims(now)),
		"unknown kid":            signWith(t, jose.RS256, other, "rsa9", f.idp.claims(now)),
		"EC key used as RS":      signWith(t, jose.RS256, f.idp.rsa, "ec1", f.idp.claims(now)),
		"HS256 with the RSA key": signWith(t, jose.HS256, pemKey, "rsa1", f.idp.claims(now)),
		"alg none":               rawToken(t, map[string]any{"alg": "none", "kid": "rsa1"}, f.idp.claims(now), nil),
		"Gatehouse's own token":  "", // filled below
		"garbage":                "not-a-jwt",
	} {
		if name == "Gatehouse's own token" {
			tok = f.in.Token(t)
		}
		wantError(t, name, f.exchange(t, tok), http.StatusBadRequest, "invalid_grant")
	}
	good := rs(f.idp.claims(now))
	for name, kv := range map[string][]string{
		"bad subject_token_type":  {"subject_token_type", "urn:ietf:params:oauth:token-type:saml2"},
		"no subject_token_type":   {"subject_token_type", ""},
		"actor_token":             {"actor_token", good},
		"requested refresh token": {"requested_token_type", "urn:ietf:params:oauth:token-type:refresh_token"},
	} {
		v := url.Values{"grant_type": {exchangeType}, "subject_token": {good}, "subject_token_type": {jwtType}}
		v.Set(kv[0], kv[1])
		r := postToken(t, f.in.URL, formCT, v.Encode(), []string{servertest.ClientID, servertest.ClientSecret})
		wantError(t, name, r, http.StatusBadRequest, "invalid_request")
	}
	r := postToken(t, f.in.URL, formCT, form("grant_type", exchangeType, "subject_token_type", jwtType),
		[]string{servertest.ClientID, servertest.ClientSecret})
	wantError(t, "no subject_token", r, http.StatusBadRequest, "invalid_request")
	// Client authentication is required, and a public client may not exchange.
	r = postToken(t, f.in.URL, formCT, form("grant_type", exchangeType, "subject_token", good, "subject_token_type", jwtType), nil)
	wantError(t, "no client authentication", r, http.StatusUnauthorized, "invalid_client")
	r = postToken(t, f.in.URL, formCT, form("grant_type", exchangeType, "subject_token", good, "subject_token_type", jwtType),
		[]string{servertest.ClientID, "skcs_wrong_secret_0123456789abcdefghijk"})
	wantError(t, "wrong secret", r, http.StatusUnauthorized, "invalid_client")
	ctx := context.Background()
	if err := f.in.Server.Store().Q().PutOAuthClient(ctx, &store.OAuthClient{ID: "skc_spa", EnvID: f.in.Server.Bootstrap.EnvID,
		Name: "spa", Public: true, CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	r = postToken(t, f.in.URL, formCT, form("grant_type", exchangeType, "subject_token", good, "subject_token_type", jwtType,
		"client_id", "skc_spa"), nil)
	wantError(t, "public client", r, http.StatusUnauthorized, "invalid_client")
	// None of the refusals started a session.
	list, _, _, err := f.in.Server.Sessions.ListForUser(ctx, f.userID, sessions.ListFilter{}, 100, "")
	if err != nil || len(list) != 0 {
		t.Fatalf("sessions after refusals: %d %v", len(list), err)
	}
	// The good token still works: the refusals changed nothing.
	if r := f.exchange(t, good); r.status != http.StatusOK {
		t.Fatalf("the good token: %d %s", r.status, r.raw)
	}
	// JWKS: fetched once at the first token, and again at most once a
	// minute for unknown kids.
	hits := f.idp.hits.Load()
	for range 5 {
		f.exchange(t, signWith(t, jose.RS256, other, "rsa-new", f.idp.claims(now)))
	}
	if got := f.idp.hits.Load(); got != hits {
		t.Errorf("unknown kids within a minute fetched the JWKS %d more times", got-hits)
	}
}

// TestTokenExchangeOrganizations: a user of several organizations must
// name one; it must be one of theirs.
func TestTokenExchangeOrganizations(t *testing.T) {
	f := newXfx(t, false, jwksLegacy)
	ctx := context.Background()
	name, ext := "Globex", "globex"
	org2, err := f.in.Server.Accounts.CreateOrganization(ctx, accounts.OrgFields{DisplayName: &name, ExternalID: &ext})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.in.Server.Accounts.CreateMembership(ctx, org2.ID, accounts.Ref{ID: f.userID}, accounts.MembershipFields{Roles: []string{"member"}}, false); err != nil {
		t.Fatal(err)
	}
	name3, ext3 := "Initech", "initech"
	if _, err := f.in.Server.Accounts.CreateOrganization(ctx, accounts.OrgFields{DisplayName: &name3, ExternalID: &ext3}); err != nil {
		t.Fatal(err)
	}
	tok := signWith(t, jose.RS256, f.idp.rsa, "rsa1", f.idp.claims(f.clk.Now()))
	wantError(t, "two organizations, none named", f.exchange(t, tok), http.StatusBadRequest, "invalid_request")
	wantError(t, "an organization of others", f.exchange(t, tok, "organization_id", "initech"), http.StatusBadRequest, "invalid_grant")
	wantError(t, "an unknown organization", f.exchange(t, tok, "organization_id", "org_nope"), http.StatusBadRequest, "invalid_grant")
	r := f.exchange(t, tok, "organization_id", org2.ID)
	if r.status != http.StatusOK {
		t.Fatalf("organization_id by id: %d %s", r.status, r.raw)
	}
	_, at := segments(t, r.body["access_token"].(string))
	if at["oid"] != org2.ID || strList(at["roles"])[0] != "member" {
		t.Errorf("claims: %v", at)
	}
}

// TestTokenExchangeHSByEmail: a shared-secret issuer whose users are found
// by email; an unverified email is refused.
func TestTokenExchangeHSByEmail(t *testing.T) {
	f := newXfx(t, false, func(idp *legacyIdP) config.LegacyIssuer {
		return config.LegacyIssuer{Issuer: idp.iss(), HSSecret: legacySecret, Audience: legacyAud, SubjectClaim: "email"}
	})
	now := f.clk.Now()
	c := f.idp.claims(now)
	c["sub"] = "whatever-the-old-id-was"
	c["email"] = strings.ToUpper(legacyEmail)
	r := f.exchange(t, signWith(t, jose.HS256, []byte(legacySecret), "", c))
	if r.status != http.StatusOK {
		t.Fatalf("HS256 by email: %d %s", r.status, r.raw)
	}
	_, at := segments(t, r.body["access_token"].(string))
	if at["sub"] != f.userID {
		t.Errorf("sub = %v, want %s", at["sub"], f.userID)
	}
	c["email_verified"] = false
	wantError(t, "unverified email", f.exchange(t, signWith(t, jose.HS256, []byte(legacySecret), "", c)), http.StatusBadRequest, "invalid_grant")
	c["email_verified"] = true
	wantError(t, "another secret", f.exchange(t, signWith(t, jose.HS256, []byte(legacySecret+"x"), "", c)), http.StatusBadRequest, "invalid_grant")
	wantError(t, "RS256 for an HS issuer", f.exchange(t, signWith(t, jose.RS256, f.idp.rsa, "rsa1", c)), http.StatusBadRequest, "invalid_grant")
	c["email"] = "nobody@acme.example"
	wantError(t, "unknown email", f.exchange(t, signWith(t, jose.HS256, []byte(legacySecret), "", c)), http.StatusBadRequest, "invalid_grant")
}

// TestTokenExchangeOff: without a legacy issuer the grant is unsupported
// and not advertised; with one it is.
func TestTokenExchangeOff(t *testing.T) {
	f := newXfx(t, false, nil)
	wantError(t, "not configured", f.exchange(t, "x"), http.StatusBadRequest, "unsupported_grant_type")
	on := newXfx(t, false, jwksLegacy)
	r := get(t, on.in.URL+"/.well-known/openid-configuration")
	if !strings.Contains(string(r.raw), exchangeType) {
		t.Errorf("discovery with a legacy issuer: %s", r.raw)
	}
	r = get(t, f.in.URL+"/.well-known/openid-configuration")
	if strings.Contains(string(r.raw), exchangeType) {
		t.Errorf("discovery without a legacy issuer advertises token exchange")
	}
}
