package sdk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// ErrInvalidToken is wrapped by every error that says a token is not
// acceptable (bad signature, wrong issuer or audience, expired, wrong
// type, malformed). Errors that do not wrap it are failures to check the
// token at all, such as the JWKS being unreachable.
var ErrInvalidToken = errors.New("gatehouse: invalid token")

// MaxTokenBytes bounds the tokens the SDK parses; Gatehouse's tokens are
// well under 2 KiB, and parsing a huge header costs real time.
const MaxTokenBytes = 16 << 10

// Token types in the JWS typ header (RFC 9068, OIDC).
const (
	typeAccessToken = "at+jwt"
	typeIDToken     = "jwt"
)

// Claims are the claims of a validated access token, as handlers use them.
// middleware.Dual maps tokens of a legacy issuer onto the same shape.
type Claims struct {
	// Subject is the user id (usr_...), sub.
	Subject string
	// OrganizationID is the organization the session is for (org_...), oid.
	OrganizationID string
	// SessionID is the session the token was issued under (ses_...), sid.
	SessionID string
	// Roles are the role names of the user's membership, at issuance.
	Roles []string
	// Permissions are what those roles grant, at issuance.
	Permissions []string
	// Scopes are the granted OAuth scopes.
	Scopes []string
	// Expiry is when the token stops being valid, exp.
	Expiry time.Time
	// IssuedAt is iat.
	IssuedAt time.Time
	// Issuer is iss: the environment URL, or a legacy issuer.
	Issuer string
	// Audience is aud.
	Audience []string
	// ClientID is the client the token was issued to, client_id.
	ClientID string
	// ID is the token's id, jti (tkn_...).
	ID string
	// Email is the user's email when the token carries one (legacy tokens
	// often do; Gatehouse access tokens do not).
	Email string
	// Legacy is true when the token came from a legacy issuer (see
	// middleware.Dual).
	Legacy bool
}

// HasRole reports whether the claims hold the role.
func (c *Claims) HasRole(role string) bool { return c != nil && slices.Contains(c.Roles, role) }

// HasPermission reports whether the claims hold the permission (exact name).
func (c *Claims) HasPermission(p string) bool { return c != nil && slices.Contains(c.Permissions, p) }

// HasScope reports whether the scope was granted.
func (c *Claims) HasScope(s string) bool { return c != nil && slices.Contains(c.Scopes, s) }

// audience decodes aud as an array or a single string (RFC 7519 4.1.3).
type audience []string

// UnmarshalJSON accepts a string or an array of strings.
func (a *audience) UnmarshalJSON(b []byte) error {
	var s string
	if json.Unmarshal(b, &s) == nil {
		*a = audience{s}
		return nil
	}
	var l []string
	if err := json.Unmarshal(b, &l); err != nil {
		return err
	}
	*a = l
	return nil
}

// accessClaims is the wire form of a Gatehouse access token's claims.
type accessClaims struct {
	Issuer      string   `json:"iss"`
	Subject     string   `json:"sub"`
	Audience    audience `json:"aud"`
	ClientID    string   `json:"client_id"`
	Expiry      *int64   `json:"exp"`
	IssuedAt    *int64   `json:"iat"`
	NotBefore   *int64   `json:"nbf"`
	ID          string   `json:"jti"`
	SessionID   string   `json:"sid"`
	OrgID       string   `json:"oid"`
	Roles       []string `json:"roles"`
	Permissions []string `json:"permissions"`
	Scopes      []string `json:"scopes"`
}

func invalid(reason string) error { return fmt.Errorf("%w: %s", ErrInvalidToken, reason) }

// ValidateAccessToken checks a user access token issued by the
// environment and returns its claims: signed RS256 by a key of the
// environment's JWKS (fetched and cached; see WithJWKSRefreshInterval),
// typ at+jwt, issuer the environment URL, audience one of the accepted
// audiences (WithAudience; the client id by default), exp present and not
// past, nbf and iat not in the future (with WithLeeway of skew). Every
// refusal wraps ErrInvalidToken. Management (client-credentials) tokens
// and ID tokens are refused: they are not user access tokens.
func (c *Client) ValidateAccessToken(ctx context.Context, token string) (*Claims, error) {
	var ac accessClaims
	if err := c.verify(ctx, token, typeAccessToken, &ac); err != nil {
		return nil, err
	}
	if ac.Subject == "" {
		return nil, invalid("no sub")
	}
	if err := c.checkStandard(ac.Issuer, ac.Audience, ac.Expiry, ac.NotBefore, ac.IssuedAt); err != nil {
		return nil, err
	}
	return &Claims{Subject: ac.Subject, OrganizationID: ac.OrgID, SessionID: ac.SessionID, Roles: ac.Roles,
		Permissions: ac.Permissions, Scopes: ac.Scopes, Expiry: time.Unix(*ac.Expiry, 0), IssuedAt: unixOrZero(ac.IssuedAt),
		Issuer: ac.Issuer, Audience: ac.Audience, ClientID: ac.ClientID, ID: ac.ID}, nil
}

func unixOrZero(v *int64) time.Time {
	if v == nil {
		return time.Time{}
	}
	return time.Unix(*v, 0)
}

// verify checks size, algorithm, typ and signature, and decodes the claims.
func (c *Client) verify(ctx context.Context, token, typ string, out any) error {
	if len(token) > MaxTokenBytes {
		return invalid("too large")
	}
	// Only RS256: go-jose refuses any other alg in the header (none, HS256
	// keyed with the public key, ...). Embedded keys (jwk, x5c, jku) are
	// never used: the key comes from the JWKS by kid.
	tok, err := jwt.ParseSigned(token, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		return invalid("malformed or not RS256")
	}
	if len(tok.Headers) != 1 {
		return invalid("not exactly one signature")
	}
	h := tok.Headers[0]
	got, _ := h.ExtraHeaders[jose.HeaderType].(string)
	if strings.TrimPrefix(strings.ToLower(got), "application/") != typ {
		return invalid("wrong token type " + got)
	}
	if h.KeyID == "" || len(h.KeyID) > 256 {
		return invalid("no usable kid")
	}
	pub, err := c.keys.key(ctx, h.KeyID)
	if errors.Is(err, errUnknownKey) {
		return invalid("unknown kid")
	} else if err != nil {
		return err
	}
	if err := tok.Claims(pub, out); err != nil {
		return invalid("bad signature or claims")
	}
	return nil
}

// checkStandard checks iss, aud and the times.
func (c *Client) checkStandard(iss string, aud []string, exp, nbf, iat *int64) error {
	if iss != c.envURL {
		return invalid("wrong issuer")
	}
	if !slices.ContainsFunc(aud, func(a string) bool { return slices.Contains(c.audiences, a) }) {
		return invalid("wrong audience")
	}
	now := c.now()
	if exp == nil {
		return invalid("no exp")
	}
	if !now.Before(time.Unix(*exp, 0).Add(c.leeway)) {
		return invalid("expired")
	}
	if nbf != nil && now.Add(c.leeway).Before(time.Unix(*nbf, 0)) {
		return invalid("not valid yet")
	}
	if iat != nil && now.Add(c.leeway).Before(time.Unix(*iat, 0)) {
		return invalid("issued in the future")
	}
	return nil
}

// User is the signed-in user, read from the ID token (the Node SDK's
// user object).
type User struct {
	ID             string // sub (usr_...)
	Email          string
	EmailVerified  bool
	Name           string
	GivenName      string
	FamilyName     string
	Locale         string
	Picture        string
	OrganizationID string // oid
	SessionID      string // sid
}

type idClaims struct {
	Issuer          string   `json:"iss"`
	Subject         string   `json:"sub"`
	Audience        audience `json:"aud"`
	AuthorizedParty string   `json:"azp"`
	Expiry          *int64   `json:"exp"`
	IssuedAt        *int64   `json:"iat"`
	Nonce           string   `json:"nonce"`
	OrgID           string   `json:"oid"`
	SessionID       string   `json:"sid"`
	Email           string   `json:"email"`
	EmailVerified   bool     `json:"email_verified"`
	Name            string   `json:"name"`
	GivenName       string   `json:"given_name"`
	FamilyName      string   `json:"family_name"`
	Locale          string   `json:"locale"`
	Picture         string   `json:"picture"`
	Events          any      `json:"events"`
}

// validateIDToken checks an ID token issued to this client (signature,
// typ JWT, issuer, the client id in aud, azp if present, times, and the
// nonce when one was sent) and returns its user.
func (c *Client) validateIDToken(ctx context.Context, token, nonce string) (*User, error) {
	var ic idClaims
	if err := c.verify(ctx, token, typeIDToken, &ic); err != nil {
		return nil, err
	}
	if ic.Issuer != c.envURL {
		return nil, invalid("wrong issuer")
	}
	if !slices.Contains(ic.Audience, c.clientID) || (ic.AuthorizedParty != "" && ic.AuthorizedParty != c.clientID) {
		return nil, invalid("ID token for another client")
	}
	if ic.Events != nil || ic.Subject == "" {
		return nil, invalid("not an ID token")
	}
	now := c.now()
	if ic.Expiry == nil || !now.Before(time.Unix(*ic.Expiry, 0).Add(c.leeway)) {
		return nil, invalid("expired")
	}
	if ic.IssuedAt != nil && now.Add(c.leeway).Before(time.Unix(*ic.IssuedAt, 0)) {
		return nil, invalid("issued in the future")
	}
	if nonce != "" && ic.Nonce != nonce {
		return nil, invalid("nonce mismatch")
	}
	return &User{ID: ic.Subject, Email: ic.Email, EmailVerified: ic.EmailVerified, Name: ic.Name, GivenName: ic.GivenName,
		FamilyName: ic.FamilyName, Locale: ic.Locale, Picture: ic.Picture, OrganizationID: ic.OrgID, SessionID: ic.SessionID}, nil
}
