// Package oauth is Gatehouse's OAuth 2.0 / OpenID Connect authorization
// server, at the paths the Scalekit SDKs hard-code: /oauth/authorize,
// /oauth/token (authorization_code with PKCE, refresh_token,
// client_credentials), /oauth/revoke, /oauth/introspect, /userinfo,
// /oidc/logout, /keys and /.well-known/openid-configuration. It also
// verifies the access tokens the management API accepts.
//
// The flow: /oauth/authorize checks the client and its redirect_uri (an
// error page otherwise, never a redirect), stores the request and sends the
// browser to the hosted login UI (LoginPath?auth_request=...), unless a
// live session already satisfies it. The login UI signs the user in,
// starts a session (package sessions) and calls CompleteAuthorization,
// which issues a single-use code and redirects to the client. The token
// endpoint redeems the code for tokens under a grant; refresh tokens of a
// grant form one family, rotated on every use, and a replay revokes the
// family and the session. docs/oauth.md describes it all for users;
// docs/adr/0002-own-authorization-server.md says why it is ours.
package oauth

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"mime"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/gatehouse/gatehouse/internal/clients"
	"github.com/gatehouse/gatehouse/internal/id"
	"github.com/gatehouse/gatehouse/internal/metrics"
	"github.com/gatehouse/gatehouse/internal/sessions"
	"github.com/gatehouse/gatehouse/internal/signing"
	"github.com/gatehouse/gatehouse/internal/store"
)

// DefaultManagementTokenTTL matches the expires_in Scalekit's docs show.
const DefaultManagementTokenTTL = 86399 * time.Second

// Server issues and verifies tokens for one environment.
type Server struct {
	Issuer   string // the public URL, byte-equal to every token's iss
	Keys     *signing.Keyring
	Clients  *clients.Service
	IDs      *id.Generator
	Now      func() time.Time
	TokenTTL time.Duration
	Log      *slog.Logger

	// The user flows (authorize, code, refresh, userinfo, revoke,
	// introspect, logout) need these too.
	Store       *store.Store
	EnvID       string
	Sessions    *sessions.Service
	Redirects   RedirectPolicy     // nil: ClientRedirects
	Permissions PermissionResolver // nil: access tokens carry no permissions
	// UserTokenTTL is the life of user access tokens (default 299 s);
	// IDTokenTTL of ID tokens (default 30 min); RefreshGrace the window for
	// a concurrent double refresh (default and maximum 2 s).
	UserTokenTTL time.Duration
	IDTokenTTL   time.Duration
	RefreshGrace time.Duration
	// HTTPClient delivers back-channel logout tokens; nil uses a client
	// with a 5 s timeout that follows no redirects.
	HTTPClient *http.Client
	// Exchange, when set, enables the token-exchange grant for tokens of
	// legacy issuers (exchange.go).
	Exchange *TokenExchange
	// Metrics counts token grants and refresh token reuse; nil counts
	// nothing.
	Metrics *metrics.Metrics

	verified   verifiedCache
	background sync.WaitGroup
}

// verifiedCache remembers tokens whose signature and fixed claims already
// checked out, so a client reusing its token (as SDKs do for a day) does
// not pay an RSA verification per call. Only the signature result is
// cached, under the keyring generation it was checked in, so a key that
// leaves the JWKS takes its tokens' entries with it: times are checked on
// every call. It holds at most maxVerified tokens and starts over when
// full or when the generation changes.
type verifiedCache struct {
	mu  sync.Mutex
	gen uint64
	m   map[string]*Claims
}

const maxVerified = 10000

func (c *verifiedCache) get(raw string, gen uint64) *Claims {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen {
		return nil
	}
	return c.m[raw]
}

func (c *verifiedCache) put(raw string, gen uint64, claims *Claims) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= maxVerified || c.gen != gen {
		c.m, c.gen = make(map[string]*Claims), gen
	}
	c.m[raw] = claims
}

// Claims are the claims of a Gatehouse access token.
type Claims struct {
	jwt.Claims
	ClientID string   `json:"client_id"`
	Scopes   []string `json:"scopes,omitempty"`
}

// issued is what the token endpoint signs: Claims with aud always an array
// (SCALEKIT-COMPAT section 3), where jwt.Audience would write a lone
// audience as a string. The outer field shadows the embedded one in JSON.
type issued struct {
	Claims
	Audience []string `json:"aud"`
}

// Mount registers the endpoints on mux.
func (s *Server) Mount(mux *http.ServeMux) {
	mux.HandleFunc("POST /oauth/token", s.token)
	mux.HandleFunc("GET /keys", s.keys)
	mux.HandleFunc("GET /.well-known/openid-configuration", s.discovery)
	mux.HandleFunc("GET /oauth/authorize", s.authorize)
	mux.HandleFunc("POST /oauth/authorize", s.authorize)
	mux.HandleFunc("GET /userinfo", s.userinfo)
	mux.HandleFunc("POST /userinfo", s.userinfo)
	mux.HandleFunc("POST /oauth/revoke", s.revoke)
	mux.HandleFunc("POST /oauth/introspect", s.introspect)
	mux.HandleFunc("GET /oidc/logout", s.logout)
	mux.HandleFunc("POST /oidc/logout", s.logout)
}

func (s *Server) ttl() time.Duration {
	if s.TokenTTL > 0 {
		return s.TokenTTL
	}
	return DefaultManagementTokenTTL
}

// token implements the token endpoint (RFC 6749 section 3.2).
func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	w, counted := s.countGrant(w, r)
	defer counted()
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	// Media types are case-insensitive (RFC 9110 section 8.3.1).
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/x-www-form-urlencoded" {
		tokenError(w, http.StatusBadRequest, "invalid_request", "the body must be application/x-www-form-urlencoded")
		return
	}
	if err := r.ParseForm(); err != nil {
		tokenError(w, http.StatusBadRequest, "invalid_request", "the form body cannot be parsed")
		return
	}
	for k, v := range r.PostForm {
		if len(v) > 1 {
			tokenError(w, http.StatusBadRequest, "invalid_request", "parameter "+k+" is repeated")
			return
		}
	}
	switch gt := r.PostForm.Get("grant_type"); gt {
	case "client_credentials":
		s.clientCredentials(w, r)
	case "authorization_code":
		s.authorizationCode(w, r)
	case "refresh_token":
		s.refreshToken(w, r)
	case GrantTypeTokenExchange:
		s.tokenExchange(w, r)
	case "":
		tokenError(w, http.StatusBadRequest, "invalid_request", "grant_type is required")
	default:
		tokenError(w, http.StatusBadRequest, "unsupported_grant_type", "grant_type "+gt+" is not supported")
	}
}

func (s *Server) clientCredentials(w http.ResponseWriter, r *http.Request) {
	clientID, secret, basic := r.BasicAuth()
	if formID := r.PostForm.Get("client_id"); !basic {
		clientID, secret = formID, r.PostForm.Get("client_secret")
	} else if r.PostForm.Get("client_secret") != "" || (formID != "" && formID != clientID) {
		tokenError(w, http.StatusBadRequest, "invalid_request", "use one client authentication method, not both")
		return
	}
	if err := s.Clients.Authenticate(r.Context(), clientID, secret); err != nil {
		if !errors.Is(err, clients.ErrInvalidClient) {
			s.Log.ErrorContext(r.Context(), "client authentication failed", "err", err)
			tokenError(w, http.StatusInternalServerError, "server_error", "try again later")
			return
		}
		// RFC 6749 section 5.2: a client that tried the Authorization
		// header (even one we could not parse) gets the challenge.
		if basic || r.Header.Get("Authorization") != "" {
			w.Header().Set("WWW-Authenticate", `Basic realm="gatehouse"`)
		}
		tokenError(w, http.StatusUnauthorized, "invalid_client", "client authentication failed")
		return
	}
	scope, ok := managementScope(r.PostForm.Get("scope"))
	if !ok {
		tokenError(w, http.StatusBadRequest, "invalid_scope", "an API client may only ask for the scope "+strings.Join(ManagementScopes, " "))
		return
	}
	now := s.Now()
	c := issued{Claims: Claims{
		Claims: jwt.Claims{
			Issuer: s.Issuer, Subject: clientID,
			IssuedAt: jwt.NewNumericDate(now), NotBefore: jwt.NewNumericDate(now),
			Expiry: jwt.NewNumericDate(now.Add(s.ttl())), ID: s.IDs.New(id.Token),
		},
		ClientID: clientID,
	}, Audience: []string{clientID}}
	tok, err := s.Keys.Sign(c)
	if err != nil {
		s.Log.ErrorContext(r.Context(), "signing a token failed", "err", err)
		tokenError(w, http.StatusInternalServerError, "server_error", "try again later")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token": tok, "token_type": "Bearer", "expires_in": int(s.ttl() / time.Second), "scope": scope,
	})
}

// VerifyManagementToken checks a bearer token for the management API: our
// signature, our issuer, within its lifetime, a client-credentials token
// (its subject is the client), and a client that still exists (a deleted
// client's tokens fail at once, though its signatures stay cached). The
// returned claims are shared between calls with the same token and must
// not be modified.
func (s *Server) VerifyManagementToken(ctx context.Context, raw string) (*Claims, error) {
	gen := s.Keys.Generation()
	c := s.verified.get(raw, gen)
	if c == nil {
		c = new(Claims)
		if err := s.Keys.Verify(raw, c); err != nil {
			return nil, err
		}
		if c.ClientID == "" || c.Subject != c.ClientID || !strings.HasPrefix(c.ClientID, id.Client+"_") ||
			!c.Audience.Contains(c.ClientID) || c.Expiry == nil {
			return nil, signing.ErrInvalidToken
		}
		s.verified.put(raw, gen, c)
	}
	// go-jose skips exp when it is absent; an access token without one
	// would never expire (SECURITY-BAR J05), so it is required above.
	if c.Claims.ValidateWithLeeway(jwt.Expected{Issuer: s.Issuer, Time: s.Now()}, 30*time.Second) != nil {
		return nil, signing.ErrInvalidToken
	}
	if ok, err := s.Clients.Exists(ctx, c.ClientID); err != nil {
		return nil, err
	} else if !ok {
		return nil, signing.ErrInvalidToken
	}
	return c, nil
}

func (s *Server) keys(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	// Rotation publishes a next key for at least this long before it signs.
	w.Header().Set("Cache-Control", signing.JWKSCacheControl)
	_, _ = w.Write(s.Keys.JWKS())
}

func (s *Server) discovery(w http.ResponseWriter, _ *http.Request) {
	iss := s.Issuer
	writeJSONCached(w, map[string]any{
		"issuer":                                        iss,
		"authorization_endpoint":                        iss + "/oauth/authorize",
		"token_endpoint":                                iss + "/oauth/token",
		"jwks_uri":                                      iss + "/keys",
		"userinfo_endpoint":                             iss + "/userinfo",
		"end_session_endpoint":                          iss + "/oidc/logout",
		"revocation_endpoint":                           iss + "/oauth/revoke",
		"introspection_endpoint":                        iss + "/oauth/introspect",
		"response_types_supported":                      []string{"code"},
		"response_modes_supported":                      []string{"query"},
		"grant_types_supported":                         s.grantTypes(),
		"subject_types_supported":                       []string{"public"},
		"id_token_signing_alg_values_supported":         []string{string(signing.Alg)},
		"token_endpoint_auth_methods_supported":         []string{"client_secret_basic", "client_secret_post", "none"},
		"revocation_endpoint_auth_methods_supported":    []string{"client_secret_basic", "client_secret_post", "none"},
		"introspection_endpoint_auth_methods_supported": []string{"client_secret_basic", "client_secret_post"},
		"code_challenge_methods_supported":              []string{"S256"},
		"scopes_supported":                              supportedScopes,
		"claims_supported": []string{"iss", "sub", "aud", "azp", "exp", "iat", "auth_time", "nonce", "at_hash", "c_hash", "amr",
			"oid", "sid", "client_id", "email", "email_verified", "name", "given_name", "family_name", "locale", "picture"},
		"prompt_values_supported":                        knownPrompts,
		"claims_parameter_supported":                     false,
		"request_parameter_supported":                    false,
		"request_uri_parameter_supported":                false,
		"backchannel_logout_supported":                   true,
		"backchannel_logout_session_supported":           true,
		"authorization_response_iss_parameter_supported": true,
	})
}

func tokenError(w http.ResponseWriter, status int, code, desc string) {
	writeJSON(w, status, map[string]string{"error": code, "error_description": cleanDescription(desc)})
}

// cleanDescription keeps error_description within RFC 6749 section 5.2's
// characters (%x20-21 / %x23-5B / %x5D-7E): descriptions may quote request
// parameters, which must not smuggle CR, LF, TAB, quotes or backslashes.
func cleanDescription(desc string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e || r == '"' || r == '\\' {
			return '?'
		}
		return r
	}, desc)
}

// writeJSONCached answers a public, cacheable document (discovery).
func writeJSONCached(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	_ = json.NewEncoder(w).Encode(v)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
