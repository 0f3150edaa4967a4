package oauth_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	orgsv1 "github.com/gatehouse/gatehouse/gen/scalekit/v1/organizations"
	"github.com/gatehouse/gatehouse/gen/scalekit/v1/organizations/organizationsv1connect"
	"github.com/gatehouse/gatehouse/internal/clients"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/id"
	"github.com/gatehouse/gatehouse/internal/oauth"
	"github.com/gatehouse/gatehouse/internal/servertest"
	"github.com/gatehouse/gatehouse/internal/signing"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/testdb"
)

// The bar (SECURITY-BAR J05) allows at most 60 s of clock skew.
const maxLeeway = 60 * time.Second

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// clock is a controllable server clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: t0} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// masterKey is the secret key test servers encrypt their signing keys with,
// so a test can load the server's own keyring and sign tokens of its choice.
var masterKey = bytes.Repeat([]byte{7}, 32)

func withMasterKey(o servertest.Options) servertest.Options {
	inner := o.Configure
	o.Configure = func(c *config.Config) {
		c.SecretKey = base64.StdEncoding.EncodeToString(masterKey)
		if inner != nil {
			inner(c)
		}
	}
	return o
}

// serverKeyring loads the running server's signing keys from its database.
func serverKeyring(t *testing.T, in *servertest.Instance) *signing.Keyring {
	t.Helper()
	kr, err := signing.Load(context.Background(), in.Server.Store(), id.NewGenerator(time.Now), time.Now(),
		in.Server.Bootstrap.EnvID, masterKey)
	if err != nil {
		t.Fatal(err)
	}
	return kr
}

type response struct {
	status int
	header http.Header
	raw    []byte
	body   map[string]any
}

func do(t *testing.T, req *http.Request) response {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	r := response{status: resp.StatusCode, header: resp.Header, raw: raw}
	if len(raw) > 0 {
		_ = json.Unmarshal(raw, &r.body)
	}
	return r
}

// postToken sends body to /oauth/token; basic, if non-nil, is user:password.
func postToken(t *testing.T, base, contentType, body string, basic []string) response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, base+"/oauth/token", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if basic != nil {
		req.SetBasicAuth(basic[0], basic[1])
	}
	return do(t, req)
}

const formCT = "application/x-www-form-urlencoded"

func form(kv ...string) string {
	v := url.Values{}
	for i := 0; i < len(kv); i += 2 {
		v.Add(kv[i], kv[i+1])
	}
	return v.Encode()
}

func get(t *testing.T, u string) response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	return do(t, req)
}

// callAPI calls a management endpoint over REST with an Authorization header.
func callAPI(t *testing.T, in *servertest.Instance, authorization string) response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, in.URL+"/api/v1/organizations", nil)
	if err != nil {
		t.Fatal(err)
	}
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	return do(t, req)
}

func bearer(t *testing.T, in *servertest.Instance, token string) int {
	t.Helper()
	return callAPI(t, in, "Bearer "+token).status
}

func grpcClient(in *servertest.Instance) organizationsv1connect.OrganizationServiceClient {
	var p http.Protocols
	p.SetUnencryptedHTTP2(true)
	hc := &http.Client{Transport: &http.Transport{Protocols: &p}}
	return organizationsv1connect.NewOrganizationServiceClient(hc, in.URL, connect.WithGRPC())
}

func grpcList(in *servertest.Instance, authorization string) error {
	req := connect.NewRequest(&orgsv1.ListOrganizationsRequest{})
	if authorization != "" {
		req.Header().Set("Authorization", authorization)
	}
	_, err := grpcClient(in).ListOrganization(context.Background(), req)
	return err
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// segments decodes a compact JWT's header and payload.
func segments(t *testing.T, tok string) (header, payload map[string]any) {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("token %q has %d segments, want 3", tok, len(parts))
	}
	for i, dst := range []*map[string]any{&header, &payload} {
		raw, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			t.Fatalf("segment %d is not base64url: %v", i, err)
		}
		d := json.NewDecoder(bytes.NewReader(raw))
		d.UseNumber()
		if err := d.Decode(dst); err != nil {
			t.Fatalf("segment %d is not JSON: %v", i, err)
		}
	}
	return header, payload
}

func num(t *testing.T, v any) int64 {
	t.Helper()
	n, ok := v.(json.Number)
	if !ok {
		t.Fatalf("%v (%T) is not a number", v, v)
	}
	i, err := n.Int64()
	if err != nil {
		t.Fatalf("%v is not an integer", v)
	}
	return i
}

// rawToken assembles a compact JWS with a header and payload of our choosing.
func rawToken(t *testing.T, header, payload any, sign func([]byte) []byte) string {
	t.Helper()
	input := b64(mustJSON(t, header)) + "." + b64(mustJSON(t, payload))
	var sig []byte
	if sign != nil {
		sig = sign([]byte(input))
	}
	return input + "." + b64(sig)
}

func rs256(t *testing.T, priv *rsa.PrivateKey) func([]byte) []byte {
	return func(in []byte) []byte {
		h := sha256.Sum256(in)
		s, err := rsa.SignPKCS1v15(rand.Reader, priv, crypto.SHA256, h[:])
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
}

func hs256(key []byte) func([]byte) []byte {
	return func(in []byte) []byte {
		m := hmac.New(sha256.New, key)
		m.Write(in)
		return m.Sum(nil)
	}
}

func fetchJWKS(t *testing.T, base string) jose.JSONWebKeySet {
	t.Helper()
	r := get(t, base+"/keys")
	if r.status != http.StatusOK {
		t.Fatalf("GET /keys: %d %s", r.status, r.raw)
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(r.raw, &set); err != nil {
		t.Fatalf("GET /keys is not a JWKS: %v: %s", err, r.raw)
	}
	return set
}

// checkErrorDescription enforces RFC 6749 section 5.2's character set
// (%x20-21 / %x23-5B / %x5D-7E: no CR, LF, TAB, quote or backslash).
func checkErrorDescription(t *testing.T, what string, r response) {
	t.Helper()
	d, ok := r.body["error_description"].(string)
	if !ok {
		return
	}
	for _, c := range d {
		if c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			t.Errorf("%s: error_description %q has the character %q, not allowed by RFC 6749 5.2", what, d, c)
			return
		}
	}
}

// mgmtClaims are the claims of a good management token at now.
func mgmtClaims(iss string, now time.Time) map[string]any {
	return map[string]any{
		"iss": iss, "sub": servertest.ClientID, "aud": []string{servertest.ClientID}, "client_id": servertest.ClientID,
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(time.Hour).Unix(), "jti": "tkn_01forged",
	}
}

// forgery is a token signed with the server's own key whose claims the
// management API must refuse.
type forgery struct {
	name   string
	mutate func(c map[string]any, now time.Time)
}

func forgeries() []forgery {
	set := func(k string, v any) func(map[string]any, time.Time) {
		return func(c map[string]any, _ time.Time) { c[k] = v }
	}
	del := func(keys ...string) func(map[string]any, time.Time) {
		return func(c map[string]any, _ time.Time) {
			for _, k := range keys {
				delete(c, k)
			}
		}
	}
	at := func(k string, d time.Duration) func(map[string]any, time.Time) {
		return func(c map[string]any, now time.Time) { c[k] = now.Add(d).Unix() }
	}
	userID := "usr_01jz0000000000000000000000"
	return []forgery{
		{"wrong iss (another host)", set("iss", "https://evil.example")},
		{"wrong iss (trailing slash)", func(c map[string]any, _ time.Time) { c["iss"] = c["iss"].(string) + "/" }},
		{"wrong iss (upper case)", func(c map[string]any, _ time.Time) { c["iss"] = strings.ToUpper(c["iss"].(string)) }},
		{"wrong iss (other scheme)", func(c map[string]any, _ time.Time) {
			iss := c["iss"].(string)
			if rest, ok := strings.CutPrefix(iss, "https://"); ok {
				c["iss"] = "http://" + rest
			} else {
				c["iss"] = "https://" + strings.TrimPrefix(iss, "http://")
			}
		}},
		{"iss missing", del("iss")},
		{"iss as an array", func(c map[string]any, _ time.Time) { c["iss"] = []string{c["iss"].(string)} }},
		{"user-like sub (usr_)", set("sub", userID)},
		{"user access token shape", func(c map[string]any, _ time.Time) {
			c["sub"], c["sid"], c["oid"] = userID, "ses_01jz0000000000000000000000", "org_01jz0000000000000000000000"
		}},
		{"sub, client_id and aud all usr_", func(c map[string]any, _ time.Time) {
			c["sub"], c["client_id"], c["aud"] = userID, userID, []string{userID}
		}},
		{"sub, client_id and aud all not skc_", func(c map[string]any, _ time.Time) {
			c["sub"], c["client_id"], c["aud"] = "app_1", "app_1", []string{"app_1"}
		}},
		{"sub missing", del("sub")},
		{"client_id missing", del("client_id")},
		{"sub and client_id missing", del("sub", "client_id")},
		{"client_id differs from sub", set("client_id", "skc_another_client")},
		{"aud missing", del("aud")},
		{"aud without the client", set("aud", []string{"skc_another_client", "https://api.example"})},
		{"exp missing", del("exp")},
		{"exp 2 minutes ago", at("exp", -2*time.Minute)},
		{"exp just past the allowed skew", at("exp", -maxLeeway-time.Second)},
		{"exp as a string", func(c map[string]any, now time.Time) { c["exp"] = fmt.Sprint(now.Add(time.Hour).Unix()) }},
		{"nbf 2 minutes ahead", at("nbf", 2*time.Minute)},
		{"nbf just past the allowed skew", at("nbf", maxLeeway+time.Second)},
		{"iat an hour ahead", at("iat", time.Hour)},
	}
}

// TestTokenClientCredentials covers a valid client-credentials request,
// form body and HTTP Basic, on both databases.
func TestTokenClientCredentials(t *testing.T) {
	servertest.Each(t, servertest.Options{}, func(t *testing.T, in *servertest.Instance) {
		disc := get(t, in.URL+"/.well-known/openid-configuration")
		set := fetchJWKS(t, in.URL)
		for _, tc := range []struct {
			name, ct, body string
			basic          []string
		}{
			{"form", formCT, form("grant_type", "client_credentials", "client_id", servertest.ClientID, "client_secret", servertest.ClientSecret), nil},
			{"form with charset", formCT + "; charset=UTF-8", form("grant_type", "client_credentials", "client_id", servertest.ClientID, "client_secret", servertest.ClientSecret), nil},
			{"basic", formCT, form("grant_type", "client_credentials"), []string{servertest.ClientID, servertest.ClientSecret}},
			{"basic with client_id in the body", formCT, form("grant_type", "client_credentials", "client_id", servertest.ClientID), []string{servertest.ClientID, servertest.ClientSecret}},
			{"scope openid", formCT, form("grant_type", "client_credentials", "scope", "openid"), []string{servertest.ClientID, servertest.ClientSecret}},
			{"scope openid twice", formCT, form("grant_type", "client_credentials", "scope", " openid  openid "), []string{servertest.ClientID, servertest.ClientSecret}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				r := postToken(t, in.URL, tc.ct, tc.body, tc.basic)
				if r.status != http.StatusOK {
					t.Fatalf("status %d: %s", r.status, r.raw)
				}
				if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
					t.Errorf("Content-Type %q, want application/json", ct)
				}
				if cc := r.header.Get("Cache-Control"); !strings.Contains(cc, "no-store") {
					t.Errorf("Cache-Control %q, want no-store", cc)
				}
				if r.body["token_type"] != "Bearer" {
					t.Errorf("token_type = %v, want Bearer", r.body["token_type"])
				}
				if r.body["expires_in"] != float64(86399) {
					t.Errorf("expires_in = %v, want 86399", r.body["expires_in"])
				}
				// SCALEKIT-COMPAT 2: the response names the granted scope,
				// which for an API client is only ever openid (O14).
				if r.body["scope"] != "openid" {
					t.Errorf("scope = %v, want openid", r.body["scope"])
				}
				for _, k := range []string{"refresh_token", "id_token"} {
					if _, ok := r.body[k]; ok {
						t.Errorf("the client-credentials response has %s", k)
					}
				}
				tok, _ := r.body["access_token"].(string)
				checkManagementToken(t, tok, in.URL, set, 86399*time.Second)
				if disc.body["issuer"] != in.URL {
					t.Errorf("discovery issuer %v != the token issuer %s", disc.body["issuer"], in.URL)
				}
				if st := bearer(t, in, tok); st != http.StatusOK {
					t.Errorf("the issued token on the management API: %d, want 200", st)
				}
			})
		}
		// Two tokens are distinct (jti).
		a, b := in.Token(t), in.Token(t)
		_, pa := segments(t, a)
		_, pb := segments(t, b)
		if pa["jti"] == pb["jti"] {
			t.Errorf("two tokens share the jti %v", pa["jti"])
		}

		// A deleted client is invalid_client at once, answered exactly as
		// an unknown one (O14).
		const goneID, goneSecret = "skc_deleted_client", "skcs_deleted_client_secret_0123456789abcdef"
		cs := in.Server.OAuth.Clients
		if _, _, err := cs.Create(t.Context(), in.Server.Store().Q(), "gone", goneID, goneSecret); err != nil {
			t.Fatal(err)
		}
		creds := form("grant_type", "client_credentials", "client_id", goneID, "client_secret", goneSecret)
		if r := postToken(t, in.URL, formCT, creds, nil); r.status != http.StatusOK {
			t.Fatalf("the new client: %d %s", r.status, r.raw)
		}
		if err := cs.Delete(t.Context(), goneID); err != nil {
			t.Fatal(err)
		}
		gone := postToken(t, in.URL, formCT, creds, nil)
		unknown := postToken(t, in.URL, formCT, form("grant_type", "client_credentials", "client_id", "skc_never_existed",
			"client_secret", goneSecret), nil)
		if gone.status != http.StatusUnauthorized || gone.body["error"] != "invalid_client" || string(gone.raw) != string(unknown.raw) {
			t.Errorf("deleted client: %d %s, want 401 invalid_client as for an unknown client (%s)", gone.status, gone.raw, unknown.raw)
		}
	})
}

// checkManagementToken verifies tok's header and claims, and its signature
// against the JWKS served at /keys.
func checkManagementToken(t *testing.T, tok, issuer string, set jose.JSONWebKeySet, ttl time.Duration) {
	t.Helper()
	h, p := segments(t, tok)
	if h["alg"] != "RS256" || h["typ"] != "JWT" {
		t.Errorf("header = %v, want alg RS256 and typ JWT", h)
	}
	kid, _ := h["kid"].(string)
	keys := set.Key(kid)
	if kid == "" || len(keys) != 1 {
		t.Fatalf("token kid %q is not (once) in the JWKS", kid)
	}
	parsed, err := jwt.ParseSigned(tok, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		t.Fatal(err)
	}
	var c jwt.Claims
	var extra struct {
		ClientID string `json:"client_id"`
	}
	if err := parsed.Claims(keys[0].Key, &c, &extra); err != nil {
		t.Fatalf("the signature does not verify with the JWKS key: %v", err)
	}
	if c.Issuer != issuer {
		t.Errorf("iss = %q, want byte-equal to %q", c.Issuer, issuer)
	}
	if c.Subject != servertest.ClientID || extra.ClientID != servertest.ClientID {
		t.Errorf("sub = %q, client_id = %q, want %s", c.Subject, extra.ClientID, servertest.ClientID)
	}
	if !c.Audience.Contains(servertest.ClientID) {
		t.Errorf("aud = %v, want it to contain %s", c.Audience, servertest.ClientID)
	}
	if _, ok := p["aud"].([]any); !ok {
		t.Errorf("aud = %v, want an array", p["aud"])
	}
	if !strings.HasPrefix(c.ID, "tkn_") {
		t.Errorf("jti = %q, want tkn_...", c.ID)
	}
	for _, k := range []string{"exp", "iat", "nbf"} {
		if _, ok := p[k]; !ok {
			t.Errorf("claim %s is missing", k)
		}
	}
	if got := num(t, p["exp"]) - num(t, p["iat"]); got != int64(ttl/time.Second) {
		t.Errorf("exp-iat = %d, want %d", got, int64(ttl/time.Second))
	}
	if num(t, p["nbf"]) > num(t, p["iat"]) {
		t.Errorf("nbf %v is after iat %v", p["nbf"], p["iat"])
	}
	for _, k := range []string{"refresh_token", "password", "secret", "client_secret"} {
		if _, ok := p[k]; ok {
			t.Errorf("the token carries %s", k)
		}
	}
}

func TestTokenTTLConfigured(t *testing.T) {
	in := servertest.Start(t, servertest.Options{Configure: func(c *config.Config) { c.TokenTTL = 10 * time.Minute }})
	r := postToken(t, in.URL, formCT, form("grant_type", "client_credentials", "client_id", servertest.ClientID,
		"client_secret", servertest.ClientSecret), nil)
	if r.status != http.StatusOK {
		t.Fatalf("status %d: %s", r.status, r.raw)
	}
	if r.body["expires_in"] != float64(600) {
		t.Errorf("expires_in = %v, want 600", r.body["expires_in"])
	}
	checkManagementToken(t, r.body["access_token"].(string), in.URL, fetchJWKS(t, in.URL), 10*time.Minute)
}

func TestTokenErrors(t *testing.T) {
	in := servertest.Start(t, servertest.Options{})
	good := []string{"grant_type", "client_credentials", "client_id", servertest.ClientID, "client_secret", servertest.ClientSecret}
	wrong := servertest.ClientSecret[:len(servertest.ClientSecret)-1] + "X"

	type tcase struct {
		name, ct, body string
		basic          []string
		status         int
		code           string
	}
	bad := []tcase{
		{"wrong secret (form)", formCT, form("grant_type", "client_credentials", "client_id", servertest.ClientID, "client_secret", wrong), nil, 401, "invalid_client"},
		{"unknown client (form)", formCT, form("grant_type", "client_credentials", "client_id", "skc_no_such_client", "client_secret", servertest.ClientSecret), nil, 401, "invalid_client"},
		{"no secret (form)", formCT, form("grant_type", "client_credentials", "client_id", servertest.ClientID), nil, 401, "invalid_client"},
		{"no credentials", formCT, form("grant_type", "client_credentials"), nil, 401, "invalid_client"},
		{"wrong secret (basic)", formCT, form("grant_type", "client_credentials"), []string{servertest.ClientID, wrong}, 401, "invalid_client"},
		{"unknown client (basic)", formCT, form("grant_type", "client_credentials"), []string{"skc_no_such_client", servertest.ClientSecret}, 401, "invalid_client"},
		{"missing grant_type", formCT, form(good[2:]...), nil, 400, "invalid_request"},
		{"empty grant_type", formCT, form(append([]string{"grant_type", ""}, good[2:]...)...), nil, 400, "invalid_request"},
		{"grant_type=password", formCT, form("grant_type", "password", "username", "a@example.com", "password", "x",
			"client_id", servertest.ClientID, "client_secret", servertest.ClientSecret), nil, 400, "unsupported_grant_type"},
		{"grant_type=implicit", formCT, form(append([]string{"grant_type", "implicit"}, good[2:]...)...), nil, 400, "unsupported_grant_type"},
		{"grant_type upper case", formCT, form(append([]string{"grant_type", "CLIENT_CREDENTIALS"}, good[2:]...)...), nil, 400, "unsupported_grant_type"},
		{"grant_type with CR LF TAB", formCT, form(append([]string{"grant_type", "x\r\ny\tz\"\\"}, good[2:]...)...), nil, 400, "unsupported_grant_type"},
		{"duplicated grant_type", formCT, form(append(good, "grant_type", "client_credentials")...), nil, 400, "invalid_request"},
		{"duplicated client_id", formCT, form(append(good, "client_id", servertest.ClientID)...), nil, 400, "invalid_request"},
		{"duplicated client_secret", formCT, form(append(good, "client_secret", servertest.ClientSecret)...), nil, 400, "invalid_request"},
		{"duplicated parameter named with CR LF TAB", formCT, form(append(good, "a\r\n\tb", "1", "a\r\n\tb", "2")...), nil, 400, "invalid_request"},
		{"basic and client_secret in the body", formCT, form(good...), []string{servertest.ClientID, servertest.ClientSecret}, 400, "invalid_request"},
		{"basic and another client_id in the body", formCT, form("grant_type", "client_credentials", "client_id", "skc_another_client"),
			[]string{servertest.ClientID, servertest.ClientSecret}, 400, "invalid_request"},
		{"JSON body", "application/json", `{"grant_type":"client_credentials","client_id":"` + servertest.ClientID +
			`","client_secret":"` + servertest.ClientSecret + `"}`, nil, 400, "invalid_request"},
		{"form body without Content-Type", "", form(good...), nil, 400, "invalid_request"},
		{"form body as text/plain", "text/plain", form(good...), nil, 400, "invalid_request"},
		{"multipart body", "multipart/form-data; boundary=x", "--x\r\nContent-Disposition: form-data; name=\"grant_type\"\r\n\r\nclient_credentials\r\n--x--\r\n", nil, 400, "invalid_request"},
		{"malformed form", formCT, "grant_type=%zz", nil, 400, "invalid_request"},
		{"body over 64 KiB", formCT, form(append(good, "pad", strings.Repeat("a", 70<<10))...), nil, 400, "invalid_request"},
		// O14: an API client has the scope openid and nothing else.
		{"unassigned scope", formCT, form(append(good, "scope", "admin")...), nil, 400, "invalid_scope"},
		{"openid with an unassigned scope", formCT, form(append(good, "scope", "openid offline_access")...), nil, 400, "invalid_scope"},
		{"user scope", formCT, form(append(good, "scope", "profile")...), nil, 400, "invalid_scope"},
		{"scope in another case", formCT, form(append(good, "scope", "OPENID")...), nil, 400, "invalid_scope"},
		{"unassigned scope with a wrong secret", formCT, form("grant_type", "client_credentials", "client_id", servertest.ClientID,
			"client_secret", wrong, "scope", "admin"), nil, 401, "invalid_client"},
	}
	bodies := map[string]string{}
	for _, c := range bad {
		r := postToken(t, in.URL, c.ct, c.body, c.basic)
		if r.status != c.status || r.body["error"] != c.code {
			t.Errorf("%s: %d %s, want %d %s", c.name, r.status, r.raw, c.status, c.code)
		}
		if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			t.Errorf("%s: Content-Type %q, want application/json", c.name, ct)
		}
		if cc := r.header.Get("Cache-Control"); !strings.Contains(cc, "no-store") {
			t.Errorf("%s: Cache-Control %q, want no-store", c.name, cc)
		}
		if _, ok := r.body["access_token"]; ok {
			t.Errorf("%s: an error response carries an access_token", c.name)
		}
		checkErrorDescription(t, c.name, r)
		wa := r.header.Get("WWW-Authenticate")
		if c.status == 401 && c.basic != nil && !strings.HasPrefix(wa, "Basic") {
			t.Errorf("%s: WWW-Authenticate = %q, want a Basic challenge", c.name, wa)
		}
		bodies[c.name] = string(r.raw)
	}
	// No enumeration: an unknown client gets the very same answer as a wrong secret.
	if bodies["unknown client (form)"] != bodies["wrong secret (form)"] {
		t.Errorf("unknown client %s != wrong secret %s", bodies["unknown client (form)"], bodies["wrong secret (form)"])
	}
	if bodies["unknown client (basic)"] != bodies["wrong secret (basic)"] {
		t.Errorf("unknown client (basic) %s != wrong secret (basic) %s", bodies["unknown client (basic)"], bodies["wrong secret (basic)"])
	}

	// An Authorization header the server cannot use still gets the challenge
	// (RFC 6749 5.2: the client attempted to authenticate with the header).
	req, _ := http.NewRequest(http.MethodPost, in.URL+"/oauth/token", strings.NewReader(form("grant_type", "client_credentials")))
	req.Header.Set("Content-Type", formCT)
	req.Header.Set("Authorization", "Basic !!!not-base64")
	r := do(t, req)
	if r.status != 401 || r.body["error"] != "invalid_client" || !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Basic") {
		t.Errorf("malformed Basic header: %d %v WWW-Authenticate %q, want 401 invalid_client with a challenge",
			r.status, r.raw, r.header.Get("WWW-Authenticate"))
	}

	// Credentials in the URL are not accepted (RFC 6749 2.3.1).
	req, _ = http.NewRequest(http.MethodPost, in.URL+"/oauth/token?"+form(good...), strings.NewReader(""))
	req.Header.Set("Content-Type", formCT)
	if r := do(t, req); r.status == http.StatusOK {
		t.Errorf("credentials in the query string got a token: %s", r.raw)
	}

	// Media types are case-insensitive.
	r = postToken(t, in.URL, "Application/X-WWW-Form-URLEncoded", form(good...), nil)
	if r.status != http.StatusOK {
		t.Errorf("Content-Type in mixed case: %d %s, want 200", r.status, r.raw)
	}

	// Only POST.
	if r := get(t, in.URL+"/oauth/token?"+form(good...)); r.status == http.StatusOK {
		t.Errorf("GET /oauth/token issued a token: %s", r.raw)
	}
}

func TestDiscovery(t *testing.T) {
	in := servertest.Start(t, servertest.Options{})
	d := checkDiscovery(t, in.URL, in.URL)
	if d["issuer"] != in.Config.PublicURL {
		t.Errorf("issuer %v != configured public URL %s", d["issuer"], in.Config.PublicURL)
	}
	if d["jwks_uri"] != in.URL+"/keys" || d["token_endpoint"] != in.URL+"/oauth/token" {
		t.Errorf("jwks_uri %v, token_endpoint %v", d["jwks_uri"], d["token_endpoint"])
	}

	// Behind a TLS proxy: every endpoint is https on the public URL, and the
	// tokens say so too.
	const pub = "https://auth.example.test"
	in2 := servertest.Start(t, servertest.Options{Configure: func(c *config.Config) { c.PublicURL = pub + "/" }})
	d2 := checkDiscovery(t, in2.URL, pub)
	if d2["jwks_uri"] != pub+"/keys" || d2["token_endpoint"] != pub+"/oauth/token" {
		t.Errorf("jwks_uri %v, token_endpoint %v", d2["jwks_uri"], d2["token_endpoint"])
	}
	for k, v := range d2 {
		if s, ok := v.(string); ok && (strings.HasSuffix(k, "_endpoint") || strings.HasSuffix(k, "_uri")) {
			if !strings.HasPrefix(s, pub+"/") {
				t.Errorf("%s = %q, want https under %s", k, s, pub)
			}
		}
	}
	tok := in2.Token(t)
	checkManagementToken(t, tok, pub, fetchJWKS(t, in2.URL), 86399*time.Second)
	if st := bearer(t, in2, tok); st != http.StatusOK {
		t.Errorf("a token with iss %s on its own server: %d", pub, st)
	}
	// A token of one server is refused by another (different key, issuer).
	if st := bearer(t, in, tok); st != http.StatusUnauthorized {
		t.Errorf("another server's token: %d, want 401", st)
	}
}

func checkDiscovery(t *testing.T, base, issuer string) map[string]any {
	t.Helper()
	r := get(t, base+"/.well-known/openid-configuration")
	if r.status != http.StatusOK {
		t.Fatalf("discovery: %d %s", r.status, r.raw)
	}
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("discovery Content-Type %q", ct)
	}
	d := r.body
	if d["issuer"] != issuer {
		t.Errorf("issuer = %v, want byte-equal to %q", d["issuer"], issuer)
	}
	for _, k := range []string{"authorization_endpoint", "token_endpoint", "jwks_uri"} {
		if s, _ := d[k].(string); !strings.HasPrefix(s, issuer+"/") {
			t.Errorf("%s = %v, want it under %s", k, d[k], issuer)
		}
	}
	strs := func(k string) []string {
		raw, ok := d[k].([]any)
		if !ok {
			t.Errorf("%s = %v, want an array", k, d[k])
			return nil
		}
		var out []string
		for _, v := range raw {
			s, _ := v.(string)
			out = append(out, s)
		}
		return out
	}
	if got := strs("id_token_signing_alg_values_supported"); !slices.Equal(got, []string{"RS256"}) {
		t.Errorf("id_token_signing_alg_values_supported = %v, want [RS256]", got)
	}
	for k, v := range d {
		if strings.HasSuffix(k, "_alg_values_supported") {
			for _, a := range strs(k) {
				if strings.EqualFold(a, "none") {
					t.Errorf("%s advertises none: %v", k, v)
				}
			}
		}
	}
	if got := strs("code_challenge_methods_supported"); !slices.Equal(got, []string{"S256"}) {
		t.Errorf("code_challenge_methods_supported = %v, want [S256]", got)
	}
	rts := strs("response_types_supported")
	if !slices.Contains(rts, "code") {
		t.Errorf("response_types_supported = %v, want code", rts)
	}
	for _, rt := range rts {
		for _, part := range strings.Fields(rt) {
			if part == "token" || part == "id_token" {
				t.Errorf("response_types_supported has %q", rt)
			}
		}
	}
	if gts, ok := d["grant_types_supported"]; ok {
		for _, g := range strs("grant_types_supported") {
			if g == "password" || g == "implicit" {
				t.Errorf("grant_types_supported = %v advertises %s", gts, g)
			}
		}
	}
	if !slices.Contains(strs("scopes_supported"), "openid") {
		t.Errorf("scopes_supported = %v, want openid", d["scopes_supported"])
	}
	if d["authorization_response_iss_parameter_supported"] != true {
		t.Errorf("authorization_response_iss_parameter_supported = %v, want true", d["authorization_response_iss_parameter_supported"])
	}
	if cc := r.header.Get("Cache-Control"); !strings.Contains(cc, "max-age") {
		t.Errorf("discovery Cache-Control %q, want a max-age", cc)
	}
	return d
}

func TestJWKS(t *testing.T) {
	servertest.Each(t, servertest.Options{}, func(t *testing.T, in *servertest.Instance) {
		r := get(t, in.URL+"/keys")
		if r.status != http.StatusOK {
			t.Fatalf("GET /keys: %d", r.status)
		}
		if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") && !strings.HasPrefix(ct, "application/jwk-set+json") {
			t.Errorf("Content-Type %q", ct)
		}
		if cc := r.header.Get("Cache-Control"); !strings.Contains(cc, "max-age=") || strings.Contains(cc, "no-store") {
			t.Errorf("Cache-Control %q, want a max-age (J08)", cc)
		}
		var doc struct {
			Keys []map[string]any `json:"keys"`
		}
		if err := json.Unmarshal(r.raw, &doc); err != nil || len(doc.Keys) == 0 {
			t.Fatalf("JWKS %s: %v", r.raw, err)
		}
		kids := map[string]bool{}
		for _, k := range doc.Keys {
			kid, _ := k["kid"].(string)
			if kid == "" || kids[kid] {
				t.Errorf("kid %q is missing or repeated", kid)
			}
			kids[kid] = true
			if k["kty"] != "RSA" || k["alg"] != "RS256" || k["use"] != "sig" {
				t.Errorf("key %s: kty %v alg %v use %v, want RSA RS256 sig", kid, k["kty"], k["alg"], k["use"])
			}
			for _, m := range []string{"d", "p", "q", "dp", "dq", "qi", "k", "oth"} {
				if _, ok := k[m]; ok {
					t.Errorf("key %s publishes the private member %q", kid, m)
				}
			}
			n, _ := k["n"].(string)
			nb, err := base64.RawURLEncoding.DecodeString(n)
			if err != nil || new(big.Int).SetBytes(nb).BitLen() < 2048 {
				t.Errorf("key %s: n is not a base64url modulus of at least 2048 bits (%v)", kid, err)
			}
		}
		set := fetchJWKS(t, in.URL)
		for _, k := range set.Keys {
			if !k.IsPublic() || !k.Valid() {
				t.Errorf("key %s is not a valid public key", k.KeyID)
			}
		}
		h, _ := segments(t, in.Token(t))
		if !kids[h["kid"].(string)] {
			t.Errorf("the token kid %v is not in the JWKS", h["kid"])
		}
	})
}

// TestManagementAPIRequiresValidToken sends the management API tokens it
// must refuse, over REST and gRPC.
func TestManagementAPIRequiresValidToken(t *testing.T) {
	clk := newClock()
	in := servertest.Start(t, withMasterKey(servertest.Options{Now: clk.Now}))
	kr := serverKeyring(t, in)
	good := in.Token(t)
	hdr, _ := segments(t, good)
	kid := hdr["kid"].(string)
	if kr.KeyID() != kid {
		t.Fatalf("the loaded keyring signs with %s, the server with %s", kr.KeyID(), kid)
	}

	// Controls: the issued token and one we sign with the server's key pass,
	// so every 401 below is for the reason the case names.
	if r := callAPI(t, in, "Bearer "+good); r.status != http.StatusOK {
		t.Fatalf("valid token: %d %s", r.status, r.raw)
	}
	forgedOK, err := kr.Sign(mgmtClaims(in.URL, clk.Now()))
	if err != nil {
		t.Fatal(err)
	}
	if st := bearer(t, in, forgedOK); st != http.StatusOK {
		t.Fatalf("control token signed with the server's key: %d, want 200", st)
	}
	if err := grpcList(in, "Bearer "+good); err != nil {
		t.Fatalf("gRPC with a valid token: %v", err)
	}

	set := fetchJWKS(t, in.URL)
	pub := set.Key(kid)[0].Key.(*rsa.PublicKey)
	attacker, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	c := mgmtClaims(in.URL, clk.Now())
	parts := strings.Split(good, ".")
	_, payload := segments(t, good)

	// jku / x5u must never be fetched.
	var fetched atomic.Int32
	lis := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetched.Add(1)
		attackerSet := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &attacker.PublicKey, KeyID: kid, Algorithm: "RS256", Use: "sig"}}}
		_ = json.NewEncoder(w).Encode(attackerSet)
	}))
	defer lis.Close()
	attackerJWK := jose.JSONWebKey{Key: &attacker.PublicKey, KeyID: kid, Algorithm: "RS256", Use: "sig"}

	h := func(kv ...any) map[string]any {
		m := map[string]any{"typ": "JWT", "kid": kid}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	}
	pkixDER, _ := x509.MarshalPKIXPublicKey(pub)
	pkcs1DER := x509.MarshalPKCS1PublicKey(pub)
	jwksRaw := get(t, in.URL+"/keys").raw

	tampered := func(edit func(p map[string]any)) string {
		p := map[string]any{}
		for k, v := range payload {
			p[k] = v
		}
		edit(p)
		return parts[0] + "." + b64(mustJSON(t, p)) + "." + parts[2]
	}
	flip := func(seg string, i int) string {
		b, _ := base64.RawURLEncoding.DecodeString(seg)
		b[i] ^= 0x01
		return b64(b)
	}
	bad := map[string]string{
		"payload bit flipped":                parts[0] + "." + flip(parts[1], 10) + "." + parts[2],
		"signature bit flipped":              parts[0] + "." + parts[1] + "." + flip(parts[2], 0),
		"header bit flipped":                 flip(parts[0], 3) + "." + parts[1] + "." + parts[2],
		"sub changed, signature kept":        tampered(func(p map[string]any) { p["sub"] = "skc_another_client"; p["client_id"] = "skc_another_client" }),
		"exp extended, signature kept":       tampered(func(p map[string]any) { p["exp"] = clk.Now().Add(100 * 24 * time.Hour).Unix() }),
		"signature removed":                  parts[0] + "." + parts[1] + ".",
		"signature truncated":                good[:len(good)-8],
		"two segments":                       parts[0] + "." + parts[1],
		"four segments":                      good + "." + parts[2],
		"foreign key, same kid":              rawToken(t, h("alg", "RS256"), c, rs256(t, attacker)),
		"foreign key, same kid, real claims": rawToken(t, h("alg", "RS256"), payload, rs256(t, attacker)),
		"alg none":                           rawToken(t, h("alg", "none"), c, nil),
		"alg None":                           rawToken(t, h("alg", "None"), c, nil),
		"alg NONE":                           rawToken(t, h("alg", "NONE"), c, nil),
		"alg nOnE":                           rawToken(t, h("alg", "nOnE"), c, nil),
		"alg none, no kid":                   rawToken(t, map[string]any{"alg": "none", "typ": "JWT"}, c, nil),
		"alg none on the real payload":       b64(mustJSON(t, h("alg", "none"))) + "." + parts[1] + ".",
		"alg none with the real signature":   b64(mustJSON(t, h("alg", "none"))) + "." + parts[1] + "." + parts[2],
		"RS256, empty signature":             rawToken(t, h("alg", "RS256"), c, nil),
		"HS256 keyed with PKIX PEM":          rawToken(t, h("alg", "HS256"), c, hs256(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pkixDER}))),
		"HS256 keyed with PKCS#1 PEM":        rawToken(t, h("alg", "HS256"), c, hs256(pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: pkcs1DER}))),
		"HS256 keyed with PKIX DER":          rawToken(t, h("alg", "HS256"), c, hs256(pkixDER)),
		"HS256 keyed with PKCS#1 DER":        rawToken(t, h("alg", "HS256"), c, hs256(pkcs1DER)),
		"HS256 keyed with JWK n":             rawToken(t, h("alg", "HS256"), c, hs256([]byte(b64(pub.N.Bytes())))),
		"HS256 keyed with n bytes":           rawToken(t, h("alg", "HS256"), c, hs256(pub.N.Bytes())),
		"HS256 keyed with the JWKS":          rawToken(t, h("alg", "HS256"), c, hs256(jwksRaw)),
		"jku to a listener":                  rawToken(t, h("alg", "RS256", "jku", lis.URL+"/jwks"), c, rs256(t, attacker)),
		"x5u to a listener":                  rawToken(t, h("alg", "RS256", "x5u", lis.URL+"/cert"), c, rs256(t, attacker)),
		"embedded jwk":                       rawToken(t, h("alg", "RS256", "jwk", attackerJWK), c, rs256(t, attacker)),
		"embedded jwk, no kid":               rawToken(t, map[string]any{"alg": "RS256", "jwk": attackerJWK}, c, rs256(t, attacker)),
		"unknown kid":                        rawToken(t, h("alg", "RS256", "kid", "key_01unknown"), c, rs256(t, attacker)),
		"kid path traversal":                 rawToken(t, h("alg", "RS256", "kid", "../../../../dev/null"), c, rs256(t, attacker)),
		"kid SQL injection":                  rawToken(t, h("alg", "RS256", "kid", "' OR '1'='1"), c, rs256(t, attacker)),
		"kid NUL":                            rawToken(t, h("alg", "RS256", "kid", "\u0000"), c, rs256(t, attacker)),
		"kid 10 KB":                          rawToken(t, h("alg", "RS256", "kid", strings.Repeat("k", 10<<10)), c, rs256(t, attacker)),
		"unknown crit":                       rawToken(t, h("alg", "RS256", "crit", []string{"x"}, "x", 1), c, rs256(t, attacker)),
		"garbage":                            "garbage",
		"100 KB token":                       rawToken(t, h("alg", "RS256", "pad", strings.Repeat("a", 100<<10)), c, rs256(t, attacker)),
		"JWE":                                "eyJhbGciOiJkaXIiLCJlbmMiOiJBMTI4R0NNIn0..AAAAAAAAAAAAAAAA.AAAA.AAAAAAAAAAAAAAAAAAAAAA",
	}
	for _, f := range forgeries() {
		cl := mgmtClaims(in.URL, clk.Now())
		f.mutate(cl, clk.Now())
		tok, err := kr.Sign(cl)
		if err != nil {
			t.Fatal(err)
		}
		bad["server-signed: "+f.name] = tok
	}
	for name, tok := range bad {
		start := time.Now()
		r := callAPI(t, in, "Bearer "+tok)
		if r.status != http.StatusUnauthorized {
			t.Errorf("%s: %d %s, want 401", name, r.status, r.raw)
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("%s: took %v", name, d)
		}
	}
	if n := fetched.Load(); n != 0 {
		t.Errorf("the server fetched the attacker's jku/x5u %d times", n)
	}

	// Authorization headers that are not a bearer token at all.
	for _, a := range []string{"", "Bearer", "Bearer ", "Basic " + base64.StdEncoding.EncodeToString([]byte(servertest.ClientID+":"+servertest.ClientSecret)),
		good, "Token " + good} {
		if r := callAPI(t, in, a); r.status != http.StatusUnauthorized {
			t.Errorf("Authorization %.30q: %d, want 401", a, r.status)
		}
	}

	// gRPC answers Unauthenticated (16) for the same tokens.
	for _, name := range []string{"alg none", "payload bit flipped", "foreign key, same kid", "HS256 keyed with PKIX PEM", "server-signed: user-like sub (usr_)"} {
		err := grpcList(in, "Bearer "+bad[name])
		if connect.CodeOf(err) != connect.CodeUnauthenticated || int(connect.CodeOf(err)) != 16 {
			t.Errorf("gRPC with %s: %v, want Unauthenticated (16)", name, err)
		}
	}
	if err := grpcList(in, ""); connect.CodeOf(err) != connect.CodeUnauthenticated {
		t.Errorf("gRPC without a token: %v, want Unauthenticated", err)
	}
	if err := grpcList(in, "Bearer "+good); err != nil {
		t.Errorf("gRPC with a valid token after the refusals: %v", err)
	}
}

// TestManagementTokenLifetime drives the server's clock across the token's
// validity window.
func TestManagementTokenLifetime(t *testing.T) {
	clk := newClock()
	in := servertest.Start(t, servertest.Options{Now: clk.Now, Configure: func(c *config.Config) { c.TokenTTL = time.Hour }})
	tok := in.Token(t)
	_, p := segments(t, tok)
	if num(t, p["iat"]) != t0.Unix() || num(t, p["exp"]) != t0.Add(time.Hour).Unix() {
		t.Fatalf("iat %v exp %v, want the server clock %d and +1h", p["iat"], p["exp"], t0.Unix())
	}
	steps := []struct {
		at   time.Duration
		want int
	}{
		{0, 200},
		{time.Hour - time.Second, 200},
		{time.Hour + maxLeeway + time.Second, 401},
		{24 * time.Hour, 401},
		// Before it was issued: nbf and iat are in the future.
		{-2 * time.Minute, 401},
		{-maxLeeway - time.Second, 401},
	}
	for _, s := range steps {
		clk.Set(t0.Add(s.at))
		if st := bearer(t, in, tok); st != s.want {
			t.Errorf("token issued at t0 used at t0%+v: %d, want %d", s.at, st, s.want)
		}
		if s.want == 401 {
			if err := grpcList(in, "Bearer "+tok); connect.CodeOf(err) != connect.CodeUnauthenticated {
				t.Errorf("gRPC at t0%+v: %v, want Unauthenticated", s.at, err)
			}
		}
	}
	// A token issued now works again.
	clk.Set(t0.Add(48 * time.Hour))
	if st := bearer(t, in, in.Token(t)); st != http.StatusOK {
		t.Errorf("a fresh token: %d", st)
	}
}

// unit is an oauth.Server over a fresh database, without HTTP.
type unit struct {
	srv *oauth.Server
	clk *clock
}

func newUnit(t *testing.T) *unit {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, testdb.SQLite(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	clk := newClock()
	ids := id.NewGenerator(clk.Now)
	envID := ids.New(id.Environment)
	if err := st.Q().CreateEnvironment(ctx, &store.Environment{ID: envID, Type: "development",
		PageTokenKey: base64.StdEncoding.EncodeToString(masterKey), CreatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	kr, err := signing.Load(ctx, st, ids, t0, envID, masterKey)
	if err != nil {
		t.Fatal(err)
	}
	cs := &clients.Service{Store: st, IDs: ids, Now: clk.Now, EnvID: envID}
	if _, _, err := cs.Create(ctx, st.Q(), "test", servertest.ClientID, servertest.ClientSecret); err != nil {
		t.Fatal(err)
	}
	return &unit{clk: clk, srv: &oauth.Server{Issuer: "https://auth.example.test", Keys: kr, Clients: cs, IDs: ids,
		Now: clk.Now, Log: slog.New(slog.DiscardHandler)}}
}

func TestVerifyManagementToken(t *testing.T) {
	u := newUnit(t)
	ctx := context.Background()
	sign := func(c map[string]any) string {
		tok, err := u.srv.Keys.Sign(c)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	got, err := u.srv.VerifyManagementToken(ctx, sign(mgmtClaims(u.srv.Issuer, t0)))
	if err != nil {
		t.Fatalf("a good token: %v", err)
	}
	if got.ClientID != servertest.ClientID || got.Subject != servertest.ClientID || got.Issuer != u.srv.Issuer {
		t.Errorf("claims = %+v", got)
	}
	for _, f := range forgeries() {
		c := mgmtClaims(u.srv.Issuer, t0)
		f.mutate(c, t0)
		if _, err := u.srv.VerifyManagementToken(ctx, sign(c)); !errors.Is(err, signing.ErrInvalidToken) {
			t.Errorf("%s: VerifyManagementToken = %v, want ErrInvalidToken", f.name, err)
		}
	}

	// Skew: within the leeway both ways is fine; the leeway is at most 60 s.
	c := mgmtClaims(u.srv.Issuer, t0)
	c["exp"] = t0.Add(-time.Second).Unix()
	if _, err := u.srv.VerifyManagementToken(ctx, sign(c)); err != nil {
		t.Errorf("exp 1 s ago (within the leeway): %v", err)
	}
	c = mgmtClaims(u.srv.Issuer, t0)
	c["nbf"], c["iat"] = t0.Add(time.Second).Unix(), t0.Add(time.Second).Unix()
	if _, err := u.srv.VerifyManagementToken(ctx, sign(c)); err != nil {
		t.Errorf("nbf and iat 1 s ahead (within the leeway): %v", err)
	}

	// A token from the token endpoint of this server verifies, and stops at
	// exp (+ leeway).
	rec := httptest.NewRecorder()
	mux := http.NewServeMux()
	u.srv.Mount(mux)
	req := httptest.NewRequest(http.MethodPost, "/oauth/token", strings.NewReader(form("grant_type", "client_credentials",
		"client_id", servertest.ClientID, "client_secret", servertest.ClientSecret)))
	req.Header.Set("Content-Type", formCT)
	mux.ServeHTTP(rec, req)
	var body struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int    `json:"expires_in"`
	}
	if rec.Code != 200 || json.Unmarshal(rec.Body.Bytes(), &body) != nil {
		t.Fatalf("token endpoint: %d %s", rec.Code, rec.Body)
	}
	if body.ExpiresIn != 86399 {
		t.Errorf("expires_in = %d, want 86399", body.ExpiresIn)
	}
	if _, err := u.srv.VerifyManagementToken(ctx, body.AccessToken); err != nil {
		t.Errorf("the endpoint's own token: %v", err)
	}
	u.clk.Set(t0.Add(oauth.DefaultManagementTokenTTL + maxLeeway + time.Second))
	if _, err := u.srv.VerifyManagementToken(ctx, body.AccessToken); !errors.Is(err, signing.ErrInvalidToken) {
		t.Errorf("after exp: %v, want ErrInvalidToken", err)
	}
}
