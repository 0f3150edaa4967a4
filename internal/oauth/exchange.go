package oauth

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
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/gatehouse/gatehouse/internal/httpx"
	"github.com/gatehouse/gatehouse/internal/sessions"
	"github.com/gatehouse/gatehouse/internal/store"
)

// Token exchange (RFC 8693) for the cut-over from a legacy auth system: an
// app holding a token the old system issued to a signed-in user trades it
// at /oauth/token for Gatehouse tokens, so the user never signs in again.
// The legacy issuers are configured (--legacy-issuer and friends); their
// tokens are checked by JWKS or shared HMAC secret, issuer, audience and
// lifetime, and their subject is mapped to a Gatehouse user by
// external_id or email. docs/oauth.md ("Token exchange") is the user's
// view.

// Token-exchange names (RFC 8693 sections 2.1 and 3).
const (
	GrantTypeTokenExchange = "urn:ietf:params:oauth:grant-type:token-exchange"
	TokenTypeJWT           = "urn:ietf:params:oauth:token-type:jwt"
	TokenTypeAccessToken   = "urn:ietf:params:oauth:token-type:access_token"
	TokenTypeIDToken       = "urn:ietf:params:oauth:token-type:id_token"
)

// How a legacy token's subject finds its Gatehouse user.
const (
	MatchExternalID = "external_id" // the token's sub is the user's external_id
	MatchEmail      = "email"       // the token's email claim is the user's email
)

// LegacyIssuer is an issuer of the system being migrated from whose tokens
// may be exchanged. Exactly one of JWKSURL (RS256, ES256, ES384 keys) and
// HSSecret (HS256, HS384, HS512) is set.
type LegacyIssuer struct {
	Issuer   string // the iss its tokens carry, byte for byte
	Audience string // must be in their aud
	JWKSURL  string
	HSSecret []byte
	Match    string // MatchExternalID (default) or MatchEmail
}

// AMRLegacyToken is the amr of sessions started by token exchange.
const AMRLegacyToken = "legacy_token"

// legacyLeeway is the clock skew allowed on legacy tokens' times.
const legacyLeeway = 30 * time.Second

// Bounds on fetching a legacy JWKS.
const (
	legacyFetchTimeout   = 5 * time.Second
	legacyRefetchWait    = time.Minute // at most one fetch per minute for unknown kids
	legacyJWKSMaxAge     = time.Hour
	legacyJWKSMaxBytes   = 1 << 20
	exchangeDefaultScope = "openid profile email offline_access"
)

// TokenExchange checks subject tokens of the configured legacy issuers.
type TokenExchange struct {
	issuers map[string]*legacyIssuer
}

type legacyIssuer struct {
	LegacyIssuer
	hc  *http.Client
	now func() time.Time

	mu        sync.Mutex
	keys      map[string]any // kid -> *rsa.PublicKey or *ecdsa.PublicKey
	fetchedAt time.Time
	triedAt   time.Time
}

// NewTokenExchange checks the issuers and returns the exchange. hc fetches
// JWKS (nil: a client with a 5 s timeout that follows no redirects).
func NewTokenExchange(issuers []LegacyIssuer, hc *http.Client, now func() time.Time) (*TokenExchange, error) {
	if hc == nil {
		hc = &http.Client{Timeout: legacyFetchTimeout, CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		}}
	}
	te := &TokenExchange{issuers: map[string]*legacyIssuer{}}
	for _, li := range issuers {
		switch {
		case li.Issuer == "":
			return nil, errors.New("legacy issuer: the issuer is required")
		case li.Audience == "":
			return nil, fmt.Errorf("legacy issuer %s: the audience is required", li.Issuer)
		case (li.JWKSURL == "") == (len(li.HSSecret) == 0):
			return nil, fmt.Errorf("legacy issuer %s: set exactly one of a JWKS URL and an HS secret", li.Issuer)
		case li.HSSecret != nil && len(li.HSSecret) < 32:
			return nil, fmt.Errorf("legacy issuer %s: the HS secret must be at least 32 bytes", li.Issuer)
		}
		switch li.Match {
		case "":
			li.Match = MatchExternalID
		case MatchExternalID, MatchEmail:
		default:
			return nil, fmt.Errorf("legacy issuer %s: match must be external_id or email", li.Issuer)
		}
		if _, dup := te.issuers[li.Issuer]; dup {
			return nil, fmt.Errorf("legacy issuer %s is configured twice", li.Issuer)
		}
		te.issuers[li.Issuer] = &legacyIssuer{LegacyIssuer: li, hc: hc, now: now}
	}
	return te, nil
}

// legacyClaims are the claims read from a legacy token.
type legacyClaims struct {
	Issuer        string           `json:"iss"`
	Subject       string           `json:"sub"`
	Audience      jwt.Audience     `json:"aud"`
	Expiry        *jwt.NumericDate `json:"exp"`
	NotBefore     *jwt.NumericDate `json:"nbf"`
	IssuedAt      *jwt.NumericDate `json:"iat"`
	Email         string           `json:"email"`
	EmailVerified *bool            `json:"email_verified"`
}

// errBadSubjectToken covers every reason a subject token is refused.
var errBadSubjectToken = errors.New("the subject token is invalid, expired or not from a trusted issuer")

// verify checks a legacy token and returns its claims and its issuer.
func (te *TokenExchange) verify(ctx context.Context, raw string) (*legacyClaims, *legacyIssuer, error) {
	if len(raw) > 16<<10 {
		return nil, nil, errBadSubjectToken
	}
	algs := []jose.SignatureAlgorithm{jose.RS256, jose.ES256, jose.ES384, jose.HS256, jose.HS384, jose.HS512}
	tok, err := jwt.ParseSigned(raw, algs)
	if err != nil || len(tok.Headers) != 1 {
		return nil, nil, errBadSubjectToken
	}
	// The issuer decides the key; the claims are read unverified only to
	// find it, and read again once the signature checks.
	var peek legacyClaims
	if err := tok.UnsafeClaimsWithoutVerification(&peek); err != nil {
		return nil, nil, errBadSubjectToken
	}
	li := te.issuers[peek.Issuer]
	if li == nil {
		return nil, nil, errBadSubjectToken
	}
	h := tok.Headers[0]
	alg := jose.SignatureAlgorithm(h.Algorithm)
	var key any
	if li.HSSecret != nil {
		// An HS issuer: the algorithm must be HMAC; never a JWKS key.
		if alg != jose.HS256 && alg != jose.HS384 && alg != jose.HS512 {
			return nil, nil, errBadSubjectToken
		}
		key = li.HSSecret
	} else {
		if alg != jose.RS256 && alg != jose.ES256 && alg != jose.ES384 {
			return nil, nil, errBadSubjectToken
		}
		if key, err = li.key(ctx, h.KeyID); err != nil {
			return nil, nil, err
		}
		// The key's type fixes the algorithm (RFC 8725 section 3.1).
		switch k := key.(type) {
		case *rsa.PublicKey:
			if alg != jose.RS256 {
				return nil, nil, errBadSubjectToken
			}
		case *ecdsa.PublicKey:
			if (k.Curve == elliptic.P256() && alg != jose.ES256) || (k.Curve == elliptic.P384() && alg != jose.ES384) {
				return nil, nil, errBadSubjectToken
			}
		}
	}
	var c legacyClaims
	if err := tok.Claims(key, &c); err != nil {
		return nil, nil, errBadSubjectToken
	}
	now := li.now()
	if c.Issuer != li.Issuer || !c.Audience.Contains(li.Audience) || c.Expiry == nil ||
		!now.Before(c.Expiry.Time().Add(legacyLeeway)) ||
		(c.NotBefore != nil && now.Add(legacyLeeway).Before(c.NotBefore.Time())) ||
		(c.IssuedAt != nil && now.Add(legacyLeeway).Before(c.IssuedAt.Time())) {
		return nil, nil, errBadSubjectToken
	}
	return &c, li, nil
}

// key finds a JWKS key by kid (or the only key, when the token has no
// kid), fetching the JWKS when it is stale, or on an unknown kid at most
// once per legacyRefetchWait.
func (li *legacyIssuer) key(ctx context.Context, kid string) (any, error) {
	li.mu.Lock()
	defer li.mu.Unlock()
	now := li.now()
	find := func() any {
		if kid == "" && len(li.keys) == 1 {
			for _, k := range li.keys {
				return k
			}
		}
		return li.keys[kid]
	}
	k := find()
	stale := li.fetchedAt.IsZero() || now.Sub(li.fetchedAt) >= legacyJWKSMaxAge
	if k != nil && !stale {
		return k, nil
	}
	if !li.triedAt.IsZero() && now.Sub(li.triedAt) < legacyRefetchWait {
		if k != nil {
			return k, nil
		}
		return nil, errBadSubjectToken
	}
	li.triedAt = now
	keys, err := li.fetch(ctx)
	if err != nil {
		if k != nil {
			return k, nil
		}
		return nil, fmt.Errorf("fetching the JWKS of legacy issuer %s: %w", li.Issuer, err)
	}
	li.keys, li.fetchedAt = keys, now
	if k = find(); k == nil {
		return nil, errBadSubjectToken
	}
	return k, nil
}

func (li *legacyIssuer) fetch(ctx context.Context) (map[string]any, error) {
	ctx, cancel := context.WithTimeout(ctx, legacyFetchTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, li.JWKSURL, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := li.hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, errors.New(resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, legacyJWKSMaxBytes))
	if err != nil {
		return nil, err
	}
	var doc struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, err
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
			if k.Curve == elliptic.P256() || k.Curve == elliptic.P384() {
				keys[jwk.KeyID] = k
			}
		}
	}
	return keys, nil
}

// enabled reports whether token exchange is configured.
func (s *Server) exchangeEnabled() bool { return s.Exchange != nil && len(s.Exchange.issuers) > 0 }

// grantTypes lists the grants the token endpoint accepts, for discovery.
func (s *Server) grantTypes() []string {
	g := []string{"authorization_code", "refresh_token", "client_credentials"}
	if s.exchangeEnabled() {
		g = append(g, GrantTypeTokenExchange)
	}
	return g
}

// tokenExchange implements the token-exchange grant (RFC 8693 section 2)
// for confidential clients: subject_token (a legacy token) and
// subject_token_type (jwt, access_token or id_token) are required; scope
// defaults to openid profile email offline_access; organization_id (a
// Gatehouse id or external_id) picks the session's organization, else the
// user's only active membership. It starts a session and answers like
// the code grant, with issued_token_type.
func (s *Server) tokenExchange(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if !s.exchangeEnabled() {
		tokenError(w, http.StatusBadRequest, "unsupported_grant_type", "token exchange is not configured")
		return
	}
	c := s.authenticateClient(w, r, false)
	if c == nil {
		return
	}
	f := r.PostForm
	subject := f.Get("subject_token")
	switch {
	case subject == "":
		tokenError(w, http.StatusBadRequest, "invalid_request", "subject_token is required")
		return
	case !slices.Contains([]string{TokenTypeJWT, TokenTypeAccessToken, TokenTypeIDToken}, f.Get("subject_token_type")):
		tokenError(w, http.StatusBadRequest, "invalid_request", "subject_token_type must be the jwt, access_token or id_token token type")
		return
	case f.Get("actor_token") != "":
		tokenError(w, http.StatusBadRequest, "invalid_request", "actor_token is not supported")
		return
	case f.Get("requested_token_type") != "" && f.Get("requested_token_type") != TokenTypeAccessToken:
		tokenError(w, http.StatusBadRequest, "invalid_request", "requested_token_type must be the access_token token type")
		return
	}
	lc, li, err := s.Exchange.verify(ctx, subject)
	if errors.Is(err, errBadSubjectToken) {
		s.Log.InfoContext(ctx, "token exchange refused: bad subject token", "request_id", requestID(r), "client_id", c.ID)
		tokenError(w, http.StatusBadRequest, "invalid_grant", errBadSubjectToken.Error())
		return
	} else if err != nil {
		s.serverError(w, r, "token exchange", err)
		return
	}
	u, orgID, ref, err := s.exchangeSubject(ctx, lc, li, f.Get("organization_id"))
	if ref != nil {
		s.Log.InfoContext(ctx, "token exchange refused", "request_id", requestID(r), "client_id", c.ID, "issuer", li.Issuer, "reason", ref.desc)
		tokenError(w, http.StatusBadRequest, ref.code, ref.desc)
		return
	} else if err != nil {
		s.serverError(w, r, "token exchange", err)
		return
	}
	scope := exchangeDefaultScope
	if f.Has("scope") {
		scope = f.Get("scope")
	}
	scopes := grantableScopes(scope)
	ses, _, err := s.Sessions.Create(ctx, sessions.NewSession{UserID: u.ID, OrgID: orgID, AMR: []string{AMRLegacyToken},
		UserAgent: r.UserAgent(), IP: httpx.ClientIP(r)})
	if err != nil {
		s.serverError(w, r, "starting a session for a token exchange", err)
		return
	}
	ts := &tokenSet{client: c, issuedType: TokenTypeAccessToken}
	err = s.tx(ctx, func(q *store.Q) error {
		now := s.Now()
		if ts.user, ts.roles, err = s.subject(ctx, q, ses); err != nil {
			return err
		}
		ts.ses, ts.scopes = ses, scopes
		g := &store.Grant{ID: s.IDs.New(GrantPrefix), EnvID: s.EnvID, SessionID: ses.ID, ClientID: c.ID, UserID: ses.UserID,
			Scope: strings.Join(scopes, " "), CreatedAt: now}
		if err := q.CreateGrant(ctx, g); err != nil {
			return err
		}
		return s.record(ctx, q, ts, g, hasScope(scopes, ScopeOfflineAccess), "")
	})
	if err != nil {
		// Leave no session behind that no token refers to.
		if _, rerr := s.Sessions.Revoke(context.WithoutCancel(ctx), ses.ID, sessions.ReasonRevoked); rerr != nil {
			s.Log.WarnContext(ctx, "token exchange: ending the unused session failed", "session_id", ses.ID, "err", rerr)
		}
		var ref *errRefused
		if errors.As(err, &ref) {
			tokenError(w, http.StatusBadRequest, ref.code, ref.desc)
			return
		}
		s.serverError(w, r, "token exchange", err)
		return
	}
	s.Log.InfoContext(ctx, "token exchange: legacy session carried over", "request_id", requestID(r), "client_id", c.ID,
		"issuer", li.Issuer, "user_id", u.ID, "session_id", ses.ID)
	s.respond(w, r, ts)
}

// exchangeSubject maps a legacy token's subject to a user and picks the
// organization of the new session. A refusal comes back as ref.
func (s *Server) exchangeSubject(ctx context.Context, lc *legacyClaims, li *legacyIssuer, orgParam string) (*store.User, string, *errRefused, error) {
	q := s.Store.Q()
	noUser := refused("invalid_grant", "no user matches the subject token")
	var u *store.User
	var err error
	switch li.Match {
	case MatchEmail:
		if lc.Email == "" || (lc.EmailVerified != nil && !*lc.EmailVerified) {
			return nil, "", refused("invalid_grant", "the subject token has no verified email"), nil
		}
		u, err = q.GetUserByEmail(ctx, s.EnvID, strings.ToLower(strings.TrimSpace(lc.Email)))
	default:
		if lc.Subject == "" {
			return nil, "", noUser, nil
		}
		u, err = q.GetUserByExternalID(ctx, s.EnvID, lc.Subject)
	}
	if errors.Is(err, store.ErrNotFound) {
		return nil, "", noUser, nil
	} else if err != nil {
		return nil, "", nil, err
	}
	var active []string
	for _, m := range u.Memberships {
		if m.Status == store.MembershipActive {
			active = append(active, m.OrgID)
		}
	}
	if orgParam == "" {
		switch len(active) {
		case 0:
			return u, "", nil, nil
		case 1:
			return u, active[0], nil, nil
		}
		return nil, "", refused("invalid_request", "the user belongs to several organizations: send organization_id"), nil
	}
	org, err := q.GetOrganization(ctx, s.EnvID, orgParam)
	if errors.Is(err, store.ErrNotFound) {
		org, err = q.GetOrganizationByExternalID(ctx, s.EnvID, orgParam)
	}
	if errors.Is(err, store.ErrNotFound) || err == nil && !slices.Contains(active, org.ID) {
		return nil, "", refused("invalid_grant", "the user is not an active member of organization_id"), nil
	} else if err != nil {
		return nil, "", nil, err
	}
	return u, org.ID, nil, nil
}
