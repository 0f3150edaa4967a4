package sdk

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/url"
	"strings"
	"time"
)

// AuthorizationURLOptions are the options of AuthorizationURL, the same
// as the Node SDK's getAuthorizationUrl options.
type AuthorizationURLOptions struct {
	// Scopes to request; default openid, profile and email. Add
	// offline_access for a refresh token.
	Scopes []string
	// State is an opaque value returned to the callback; check it there
	// (CSRF protection).
	State string
	// Nonce is echoed in the ID token; pass the same to AuthenticateWithCode.
	Nonce string
	// LoginHint pre-fills the login identifier (an email).
	LoginHint string
	// DomainHint picks the organization's identity provider by domain.
	DomainHint string
	// ConnectionID names the SSO connection to use (conn_...).
	ConnectionID string
	// OrganizationID is the organization to sign in to (org_...).
	OrganizationID string
	// Provider names a social login provider (google, github, microsoft, ...).
	Provider string
	// CodeChallenge is the PKCE challenge (see NewPKCE); CodeChallengeMethod
	// must then be S256, the only method Gatehouse accepts.
	CodeChallenge       string
	CodeChallengeMethod string
	// Prompt is login, consent, create, select_account or none.
	Prompt string
}

// DefaultScopes are the scopes requested when none are given.
var DefaultScopes = []string{"openid", "profile", "email"}

// AuthorizationURL returns the URL of /oauth/authorize to send the
// browser to, with the parameters exactly as the Node SDK's
// getAuthorizationUrl builds them (including the domain parameter it sends
// beside domain_hint). redirectURI must be registered (Settings ->
// Redirects).
func (c *Client) AuthorizationURL(redirectURI string, o AuthorizationURLOptions) string {
	scopes := o.Scopes
	if len(scopes) == 0 {
		scopes = DefaultScopes
	}
	v := url.Values{"response_type": {"code"}, "client_id": {c.clientID}, "redirect_uri": {redirectURI},
		"scope": {strings.Join(scopes, " ")}}
	set := func(k, val string) {
		if val != "" {
			v.Set(k, val)
		}
	}
	set("state", o.State)
	set("nonce", o.Nonce)
	set("login_hint", o.LoginHint)
	set("domain_hint", o.DomainHint)
	set("domain", o.DomainHint)
	set("connection_id", o.ConnectionID)
	set("organization_id", o.OrganizationID)
	set("code_challenge", o.CodeChallenge)
	set("code_challenge_method", o.CodeChallengeMethod)
	set("provider", o.Provider)
	set("prompt", o.Prompt)
	return c.envURL + "/oauth/authorize?" + v.Encode()
}

// PKCE is a proof key for one authorization (RFC 7636): send Challenge
// and Method to AuthorizationURL, keep Verifier secret until the code
// comes back, then give it to AuthenticateWithCode.
type PKCE struct {
	Verifier  string
	Challenge string
	Method    string // always S256
}

// NewPKCE makes a fresh verifier (256 random bits) and its S256 challenge.
func NewPKCE() (PKCE, error) {
	v, err := RandomString()
	if err != nil {
		return PKCE{}, err
	}
	return PKCE{Verifier: v, Challenge: CodeChallengeS256(v), Method: "S256"}, nil
}

// CodeChallengeS256 is the S256 code challenge of a verifier: the
// unpadded base64url SHA-256 of it.
func CodeChallengeS256(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// RandomString returns 256 random bits, base64url: for state, nonce and
// PKCE verifiers.
func RandomString() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// Tokens are what the token endpoint issued for a user.
type Tokens struct {
	AccessToken  string
	RefreshToken string // empty unless offline_access was granted
	IDToken      string // empty unless openid was granted
	// ExpiresIn is the access token's lifetime as the server gave it, and
	// Expiry the moment it ends by the client's clock.
	ExpiresIn time.Duration
	Expiry    time.Time
	Scopes    []string
}

// AuthenticationResponse is the result of a sign-in: the tokens, the
// access token's validated claims, and the user from the ID token (when
// openid was granted).
type AuthenticationResponse struct {
	Tokens
	Claims *Claims
	User   *User
}

// AuthenticationOptions are the options of AuthenticateWithCode.
type AuthenticationOptions struct {
	// CodeVerifier is the PKCE verifier of the authorization request.
	CodeVerifier string
	// Nonce, when set, must equal the ID token's nonce (the one given to
	// AuthorizationURL).
	Nonce string
}

// AuthenticateWithCode redeems the code the callback received, with the
// same redirectURI as the authorization request and its PKCE verifier.
// The access token and the ID token are validated before they are
// returned. A used, expired or mismatched code is an *OAuthError with
// code invalid_grant (see IsInvalidGrant).
func (c *Client) AuthenticateWithCode(ctx context.Context, code, redirectURI string, o AuthenticationOptions) (*AuthenticationResponse, error) {
	if code == "" {
		return nil, errors.New("gatehouse: the authorization code is empty")
	}
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirectURI}}
	if o.CodeVerifier != "" {
		form.Set("code_verifier", o.CodeVerifier)
	}
	return c.grant(ctx, form, o.Nonce)
}

// RefreshToken trades a refresh token for new tokens. Gatehouse rotates
// refresh tokens: the answer carries a new one and the old one is spent
// (presenting it again later revokes the whole session). A refresh token
// that is spent, revoked, or whose session ended is an *OAuthError with
// code invalid_grant: the user must sign in again.
func (c *Client) RefreshToken(ctx context.Context, refreshToken string) (*AuthenticationResponse, error) {
	if refreshToken == "" {
		return nil, errors.New("gatehouse: the refresh token is empty")
	}
	return c.grant(ctx, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refreshToken}}, "")
}

// Token types of RFC 8693.
const (
	TokenTypeJWT         = "urn:ietf:params:oauth:token-type:jwt"
	TokenTypeAccessToken = "urn:ietf:params:oauth:token-type:access_token"
	TokenTypeIDToken     = "urn:ietf:params:oauth:token-type:id_token"
	// GrantTypeTokenExchange is the token-exchange grant_type.
	GrantTypeTokenExchange = "urn:ietf:params:oauth:grant-type:token-exchange"
)

// ExchangeOptions are the options of ExchangeToken.
type ExchangeOptions struct {
	// SubjectTokenType is the kind of token given (default TokenTypeJWT).
	SubjectTokenType string
	// Scopes to request (default openid, profile, email and
	// offline_access, so the app gets a refresh token).
	Scopes []string
	// OrganizationID picks the organization for the new session (id or
	// external_id); without it, the user's only active membership is used.
	OrganizationID string
}

// ExchangeToken trades a token issued by a configured legacy issuer (the
// system being migrated from) for Gatehouse tokens, with RFC 8693 token
// exchange at /oauth/token: the server validates the legacy token, maps
// its subject to a Gatehouse user, starts a session and returns tokens. A
// user signed in to the old system so never has to sign in again. An
// untrusted issuer, a bad or expired token, or an unknown subject is an
// *OAuthError with code invalid_grant.
func (c *Client) ExchangeToken(ctx context.Context, subjectToken string, o ExchangeOptions) (*AuthenticationResponse, error) {
	if subjectToken == "" {
		return nil, errors.New("gatehouse: the subject token is empty")
	}
	typ := o.SubjectTokenType
	if typ == "" {
		typ = TokenTypeJWT
	}
	scopes := o.Scopes
	if len(scopes) == 0 {
		scopes = append(append([]string(nil), DefaultScopes...), "offline_access")
	}
	form := url.Values{"grant_type": {GrantTypeTokenExchange}, "subject_token": {subjectToken},
		"subject_token_type": {typ}, "scope": {strings.Join(scopes, " ")}}
	if o.OrganizationID != "" {
		form.Set("organization_id", o.OrganizationID)
	}
	return c.grant(ctx, form, "")
}

// grant posts a user grant and validates what comes back.
func (c *Client) grant(ctx context.Context, form url.Values, nonce string) (*AuthenticationResponse, error) {
	start := c.now()
	tr, err := c.postToken(ctx, form)
	if err != nil {
		return nil, err
	}
	claims, err := c.ValidateAccessToken(ctx, tr.AccessToken)
	if err != nil {
		return nil, err
	}
	out := &AuthenticationResponse{Claims: claims, Tokens: Tokens{AccessToken: tr.AccessToken, RefreshToken: tr.RefreshToken,
		IDToken: tr.IDToken, ExpiresIn: time.Duration(tr.ExpiresIn) * time.Second, Scopes: strings.Fields(tr.Scope)}}
	out.Expiry = start.Add(out.ExpiresIn)
	if tr.IDToken != "" {
		if out.User, err = c.validateIDToken(ctx, tr.IDToken, nonce); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// LogoutURLOptions are the options of LogoutURL.
type LogoutURLOptions struct {
	// IDTokenHint is the ID token of the session to end. Without it the
	// user is asked to confirm, and PostLogoutRedirectURI is refused.
	IDTokenHint string
	// PostLogoutRedirectURI is where the browser goes afterwards; it must
	// be registered (Settings -> Redirects).
	PostLogoutRedirectURI string
	// State is returned to PostLogoutRedirectURI.
	State string
}

// LogoutURL returns the URL of /oidc/logout (RP-initiated logout) to send
// the browser to, as the Node SDK's getLogoutUrl builds it. The session
// ends there, and back-channel logout tokens go to every app that had
// tokens under it.
func (c *Client) LogoutURL(o LogoutURLOptions) string {
	v := url.Values{}
	if o.IDTokenHint != "" {
		v.Set("id_token_hint", o.IDTokenHint)
	}
	if o.PostLogoutRedirectURI != "" {
		v.Set("post_logout_redirect_uri", o.PostLogoutRedirectURI)
	}
	if o.State != "" {
		v.Set("state", o.State)
	}
	if len(v) == 0 {
		return c.envURL + "/oidc/logout"
	}
	return c.envURL + "/oidc/logout?" + v.Encode()
}
