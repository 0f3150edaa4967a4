package middleware

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"golang.org/x/sync/singleflight"

	"github.com/gatehouse/gatehouse/sdk"
)

// LegacyConfig describes the token issuer of the system being migrated
// from, for LegacyVerifier. Exactly one of JWKSURL and HSSecret is set.
type LegacyConfig struct {
	// Issuer is the iss of its tokens, compared byte for byte.
	Issuer string
	// Audience must be in the tokens' aud.
	Audience string
	// JWKSURL is where its public keys are: RSA keys verify RS256, P-256
	// keys ES256, P-384 keys ES384.
	JWKSURL string
	// HSSecret is its shared HMAC secret (HS256, HS384, HS512), at least
	// 32 bytes.
	HSSecret []byte
	// Map turns the token's claims into the shared claims shape. The
	// default reads sub, email, exp, iat, and roles, permissions and
	// scopes when they are arrays of strings (scope when it is a string);
	// org_id or oid becomes OrganizationID.
	Map func(claims map[string]any) (*sdk.Claims, error)
	// HTTPClient fetches the JWKS (default: 10 s timeout, no redirects).
	HTTPClient *http.Client
	// Now replaces time.Now; Leeway is the clock skew allowed (default
	// 30 s).
	Now    func() time.Time
	Leeway time.Duration
}

// LegacyVerifier validates tokens of a legacy issuer and maps them onto
// sdk.Claims (with Legacy set), so handlers see one shape during a
// migration. It is a Validator; Dual combines it with the Gatehouse one.
type LegacyVerifier struct {
	cfg   LegacyConfig
	mu    sync.Mutex
	keys  map[string]any
	tried time.Time
	group singleflight.Group
}

// legacyRefetch is the least time between JWKS fetches for unknown kids.
const legacyRefetch = time.Minute

// NewLegacyVerifier checks cfg and returns the verifier.
func NewLegacyVerifier(cfg LegacyConfig) (*LegacyVerifier, error) {
	switch {
	case cfg.Issuer == "" || cfg.Audience == "":
		return nil, errors.New("middleware: LegacyConfig needs Issuer and Audience")
	case (cfg.JWKSURL == "") == (len(cfg.HSSecret) == 0):
		return nil, errors.New("middleware: LegacyConfig needs exactly one of JWKSURL and HSSecret")
	case cfg.HSSecret != nil && len(cfg.HSSecret) < 32:
		return nil, errors.New("middleware: LegacyConfig.HSSecret must be at least 32 bytes")
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Leeway <= 0 {
		cfg.Leeway = sdk.DefaultLeeway
	}
	if cfg.Map == nil {
		cfg.Map = DefaultLegacyClaims
	}
	return &LegacyVerifier{cfg: cfg}, nil
}

// Issuer returns the legacy issuer.
func (v *LegacyVerifier) Issuer() string { return v.cfg.Issuer }

func invalidLegacy(reason string) error {
	return fmt.Errorf("%w: legacy token: %s", sdk.ErrInvalidToken, reason)
}

// ValidateAccessToken checks a legacy token: the signature (the algorithm
// follows the key, never the token's header alone), iss, aud, exp
// (required), nbf and iat; then maps its claims. Refusals wrap
// sdk.ErrInvalidToken.
func (v *LegacyVerifier) ValidateAccessToken(ctx context.Context, token string) (*sdk.Claims, error) {
	if len(token) > sdk.MaxTokenBytes {
		return nil, invalidLegacy("too large")
	}
	algs := []jose.SignatureAlgorithm{jose.HS256, jose.HS384, jose.HS512}
	if v.cfg.JWKSURL != "" {
		algs = []jose.SignatureAlgorithm{jose.RS256, jose.ES256, jose.ES384}
	}
	tok, err := jwt.ParseSigned(token, algs)
	if err != nil || len(tok.Headers) != 1 {
		return nil, invalidLegacy("malformed or of a refused algorithm")
	}
	h := tok.Headers[0]
	var key any = v.cfg.HSSecret
	if v.cfg.JWKSURL != "" {
		if key, err = v.key(ctx, h.KeyID); err != nil {
			return nil, err
		}
		if !algFits(key, jose.SignatureAlgorithm(h.Algorithm)) {
			return nil, invalidLegacy("algorithm does not fit the key")
		}
	}
	var raw map[string]any
	var std jwt.Claims
	if err := tok.Claims(key, &raw, &std); err != nil {
		return nil, invalidLegacy("bad signature or claims")
	}
	if std.Expiry == nil {
		return nil, invalidLegacy("no exp")
	}
	if std.Issuer != v.cfg.Issuer || !std.Audience.Contains(v.cfg.Audience) {
		return nil, invalidLegacy("wrong issuer or audience")
	}
	now := v.cfg.Now()
	if !now.Before(std.Expiry.Time().Add(v.cfg.Leeway)) ||
		(std.NotBefore != nil && now.Add(v.cfg.Leeway).Before(std.NotBefore.Time())) ||
		(std.IssuedAt != nil && now.Add(v.cfg.Leeway).Before(std.IssuedAt.Time())) {
		return nil, invalidLegacy("expired or not valid yet")
	}
	c, err := v.cfg.Map(raw)
	if err != nil {
		return nil, invalidLegacy(err.Error())
	}
	c.Legacy, c.Issuer, c.Expiry = true, std.Issuer, std.Expiry.Time()
	if std.IssuedAt != nil {
		c.IssuedAt = std.IssuedAt.Time()
	}
	c.Audience = std.Audience
	return c, nil
}

func algFits(key any, alg jose.SignatureAlgorithm) bool {
	switch k := key.(type) {
	case *rsa.PublicKey:
		return alg == jose.RS256
	case *ecdsa.PublicKey:
		return k.Curve == elliptic.P256() && alg == jose.ES256 || k.Curve == elliptic.P384() && alg == jose.ES384
	}
	return false
}

// DefaultLegacyClaims is the default LegacyConfig.Map.
func DefaultLegacyClaims(m map[string]any) (*sdk.Claims, error) {
	c := &sdk.Claims{}
	c.Subject, _ = m["sub"].(string)
	if c.Subject == "" {
		return nil, errors.New("no sub")
	}
	c.Email, _ = m["email"].(string)
	c.ID, _ = m["jti"].(string)
	c.SessionID, _ = m["sid"].(string)
	if c.OrganizationID, _ = m["oid"].(string); c.OrganizationID == "" {
		c.OrganizationID, _ = m["org_id"].(string)
	}
	c.Roles, c.Permissions, c.Scopes = stringList(m["roles"]), stringList(m["permissions"]), stringList(m["scopes"])
	if s, ok := m["scope"].(string); ok && len(c.Scopes) == 0 {
		c.Scopes = strings.Fields(s)
	}
	return c, nil
}

func stringList(v any) []string {
	l, _ := v.([]any)
	var out []string
	for _, x := range l {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// key finds a JWKS key by kid (the only key when the token has none),
// fetching the JWKS on first use and again for an unknown kid at most once
// a minute; concurrent misses share one fetch.
func (v *LegacyVerifier) key(ctx context.Context, kid string) (any, error) {
	find := func() any {
		v.mu.Lock()
		defer v.mu.Unlock()
		if kid == "" && len(v.keys) == 1 {
			for _, k := range v.keys {
				return k
			}
		}
		return v.keys[kid]
	}
	if k := find(); k != nil {
		return k, nil
	}
	ch := v.group.DoChan("jwks", func() (any, error) {
		v.mu.Lock()
		if !v.tried.IsZero() && v.cfg.Now().Sub(v.tried) < legacyRefetch {
			v.mu.Unlock()
			return nil, nil
		}
		v.tried = v.cfg.Now()
		v.mu.Unlock()
		keys, err := v.fetch(context.WithoutCancel(ctx))
		if err != nil {
			return nil, err
		}
		v.mu.Lock()
		v.keys = keys
		v.mu.Unlock()
		return nil, nil
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			return nil, r.Err
		}
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if k := find(); k != nil {
		return k, nil
	}
	return nil, invalidLegacy("unknown kid")
}

func (v *LegacyVerifier) fetch(ctx context.Context) (map[string]any, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, v.cfg.JWKSURL, nil)
	if err != nil {
		return nil, err
	}
	resp, err := v.cfg.HTTPClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("middleware: fetching the legacy JWKS: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("middleware: fetching the legacy JWKS: %s", resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	var doc struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, fmt.Errorf("middleware: the legacy JWKS is not JSON: %w", err)
	}
	keys := map[string]any{}
	for _, raw := range doc.Keys {
		var jwk jose.JSONWebKey
		if jwk.UnmarshalJSON(raw) != nil || (jwk.Use != "" && jwk.Use != "sig") || !jwk.IsPublic() {
			continue
		}
		switch k := jwk.Key.(type) {
		case *rsa.PublicKey:
			if k.N.BitLen() >= 2048 {
				keys[jwk.KeyID] = k
			}
		case *ecdsa.PublicKey:
			keys[jwk.KeyID] = k
		}
	}
	return keys, nil
}
