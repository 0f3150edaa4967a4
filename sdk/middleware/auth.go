// Package middleware protects net/http handlers with Gatehouse tokens:
// RequireAuth accepts a bearer access token or a cookie session and puts
// the claims in the request context; RequireRole and RequirePermission
// check them. Sessions keeps a browser's tokens on the server behind an
// HttpOnly, Secure, SameSite=Lax cookie and renews the access token with
// the refresh token before it expires, once per session however many
// requests arrive at once. Dual and Router carry an app through a
// cut-over from a legacy auth system: both kinds of tokens accepted with
// one claims shape, and a share of users sent to the Gatehouse login with
// a way back.
package middleware

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/gatehouse/gatehouse/sdk"
)

// Validator checks an access token and returns its claims. *sdk.Client
// and *Dual implement it. Refusals wrap sdk.ErrInvalidToken; any other
// error means the token could not be checked (the JWKS is unreachable).
type Validator interface {
	ValidateAccessToken(ctx context.Context, token string) (*sdk.Claims, error)
}

type claimsKey struct{}

// ClaimsFrom returns the claims RequireAuth put in the request context, or
// nil.
func ClaimsFrom(ctx context.Context) *sdk.Claims {
	c, _ := ctx.Value(claimsKey{}).(*sdk.Claims)
	return c
}

// WithClaims returns a context carrying claims, as RequireAuth makes it
// (for handler tests).
func WithClaims(ctx context.Context, c *sdk.Claims) context.Context {
	return context.WithValue(ctx, claimsKey{}, c)
}

// AuthOption changes RequireAuth.
type AuthOption func(*authConfig)

type authConfig struct {
	sessions        *Sessions
	tokenFrom       func(*http.Request) string
	realm           string
	unauthenticated http.Handler
	log             *slog.Logger
}

// WithSessions makes RequireAuth accept a cookie session of s when the
// request has no Authorization header (a bearer token, when present,
// always decides).
func WithSessions(s *Sessions) AuthOption { return func(c *authConfig) { c.sessions = s } }

// WithToken adds a last place to find a token, consulted when there is
// no Authorization header and no session: typically the legacy system's
// session cookie during a migration (with a Dual validator).
func WithToken(from func(*http.Request) string) AuthOption {
	return func(c *authConfig) { c.tokenFrom = from }
}

// WithRealm sets the realm of the WWW-Authenticate challenge (default "app").
func WithRealm(realm string) AuthOption { return func(c *authConfig) { c.realm = realm } }

// WithUnauthenticated sets what answers a request without a token or
// session, instead of the 401: typically a redirect to the login for
// browser pages (see Sessions.RedirectToLogin). Requests with a bad bearer
// token still get the 401.
func WithUnauthenticated(h http.Handler) AuthOption {
	return func(c *authConfig) { c.unauthenticated = h }
}

// WithLogger sets where failures to check a token (not refusals) are logged.
func WithLogger(l *slog.Logger) AuthOption { return func(c *authConfig) { c.log = l } }

// RequireAuth returns middleware that lets a request through only with a
// valid access token: an Authorization: Bearer header checked by v, or,
// with WithSessions, a live cookie session (renewed when near expiry), or,
// with WithToken, a token found there and checked by v. The
// claims go into the request context (ClaimsFrom). Otherwise it answers
// 401 with a WWW-Authenticate: Bearer challenge (RFC 6750 section 3; with
// error="invalid_token" when a token was sent), or 503 when the token
// could not be checked at all.
func RequireAuth(v Validator, opts ...AuthOption) func(http.Handler) http.Handler {
	cfg := authConfig{realm: "app", log: slog.New(slog.DiscardHandler)}
	for _, o := range opts {
		o(&cfg)
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ctx := r.Context()
			if raw, ok := bearer(r); ok {
				claims, err := v.ValidateAccessToken(ctx, raw)
				if err != nil {
					cfg.refuse(w, r, err)
					return
				}
				next.ServeHTTP(w, r.WithContext(WithClaims(ctx, claims)))
				return
			}
			if r.Header.Get("Authorization") != "" {
				cfg.challenge(w, `, error="invalid_request", error_description="use the Bearer scheme"`, "unauthorized: use Authorization: Bearer")
				return
			}
			if cfg.sessions != nil {
				ses, err := cfg.sessions.Current(w, r)
				switch {
				case err == nil:
					next.ServeHTTP(w, r.WithContext(WithClaims(ctx, ses.Claims)))
					return
				case !errors.Is(err, ErrNoSession):
					cfg.log.WarnContext(ctx, "gatehouse: reading the session failed", "err", err)
					http.Error(w, "authentication is unavailable, try again", http.StatusServiceUnavailable)
					return
				}
			}
			if cfg.tokenFrom != nil {
				if raw := cfg.tokenFrom(r); raw != "" {
					claims, err := v.ValidateAccessToken(ctx, raw)
					if err != nil {
						cfg.refuse(w, r, err)
						return
					}
					next.ServeHTTP(w, r.WithContext(WithClaims(ctx, claims)))
					return
				}
			}
			if cfg.unauthenticated != nil {
				cfg.unauthenticated.ServeHTTP(w, r)
				return
			}
			cfg.challenge(w, "", "unauthorized: sign in first")
		})
	}
}

// bearer reads a bearer token from the Authorization header (the scheme
// is case-insensitive, RFC 7235 section 2.1).
func bearer(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	return tok, tok != ""
}

func (cfg *authConfig) refuse(w http.ResponseWriter, r *http.Request, err error) {
	if !errors.Is(err, sdk.ErrInvalidToken) {
		cfg.log.WarnContext(r.Context(), "gatehouse: checking a token failed", "err", err)
		http.Error(w, "authentication is unavailable, try again", http.StatusServiceUnavailable)
		return
	}
	cfg.challenge(w, `, error="invalid_token"`, "unauthorized: invalid or expired token")
}

func (cfg *authConfig) challenge(w http.ResponseWriter, params, body string) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="`+quote(cfg.realm)+`"`+params)
	w.Header().Set("Cache-Control", "no-store")
	http.Error(w, body, http.StatusUnauthorized)
}

func quote(s string) string { return strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) }

// RequireRole returns middleware that lets a request through only when
// its claims (from RequireAuth, which must run first) hold role; else 403
// naming the role. Without claims it answers 401.
func RequireRole(role string) func(http.Handler) http.Handler {
	return require(func(c *sdk.Claims) bool { return c.HasRole(role) }, "forbidden: requires the role "+role)
}

// RequirePermission returns middleware that lets a request through only
// when its claims hold the permission (exact name); else 403 naming it.
// Without claims it answers 401.
func RequirePermission(permission string) func(http.Handler) http.Handler {
	return require(func(c *sdk.Claims) bool { return c.HasPermission(permission) }, "forbidden: requires the permission "+permission)
}

func require(ok func(*sdk.Claims) bool, reason string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c := ClaimsFrom(r.Context())
			if c == nil {
				w.Header().Set("WWW-Authenticate", `Bearer realm="app"`)
				http.Error(w, "unauthorized: sign in first", http.StatusUnauthorized)
				return
			}
			if !ok(c) {
				http.Error(w, reason, http.StatusForbidden)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}
