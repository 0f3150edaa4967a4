package middleware

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatehouse/gatehouse/sdk"
)

// Dual accepts Gatehouse access tokens and legacy tokens side by side
// during a migration, exposing one claims shape (sdk.Claims, with Legacy
// set for legacy tokens). A token goes to the Gatehouse validator when
// its (unverified) iss is the environment URL and to the legacy one
// otherwise; either way it is fully checked by the validator it went to.
// It counts tokens per path in gatehouse_cutover_tokens_total{path,result}.
type Dual struct {
	gatehouse Validator
	issuer    string
	legacy    Validator
	tokens    *prometheus.CounterVec
}

// NewDual combines the Gatehouse client's validation with a legacy
// validator (a *LegacyVerifier, or your own). reg receives the counters;
// nil leaves them unregistered.
func NewDual(gatehouse *sdk.Client, legacy Validator, reg prometheus.Registerer) (*Dual, error) {
	if gatehouse == nil || legacy == nil {
		return nil, errors.New("middleware: NewDual needs both validators")
	}
	tokens, err := counterVec(reg, "gatehouse_cutover_tokens_total",
		"Tokens checked during the cut-over, by path (gatehouse or legacy) and result (valid, invalid, error).", "path", "result")
	if err != nil {
		return nil, err
	}
	return &Dual{gatehouse: gatehouse, issuer: gatehouse.EnvironmentURL(), legacy: legacy, tokens: tokens}, nil
}

// ValidateAccessToken implements Validator.
func (d *Dual) ValidateAccessToken(ctx context.Context, token string) (*sdk.Claims, error) {
	path, v := "legacy", d.legacy
	if unverifiedIssuer(token) == d.issuer {
		path, v = "gatehouse", d.gatehouse
	}
	c, err := v.ValidateAccessToken(ctx, token)
	result := "valid"
	switch {
	case errors.Is(err, sdk.ErrInvalidToken):
		result = "invalid"
	case err != nil:
		result = "error"
	}
	d.tokens.WithLabelValues(path, result).Inc()
	return c, err
}

// Legacy returns the legacy validator.
func (d *Dual) Legacy() Validator { return d.legacy }

// unverifiedIssuer reads iss from a JWT without checking anything: only
// to choose the validator, which then checks everything.
func unverifiedIssuer(token string) string {
	if len(token) > sdk.MaxTokenBytes {
		return ""
	}
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return ""
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return ""
	}
	var c struct {
		Iss string `json:"iss"`
	}
	if json.Unmarshal(b, &c) != nil {
		return ""
	}
	return c.Iss
}

// counterVec makes a counter and registers it with reg; a counter of the
// same name already there (a second middleware on one registry) is shared.
func counterVec(reg prometheus.Registerer, name, help string, labels ...string) (*prometheus.CounterVec, error) {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
	if reg == nil {
		return c, nil
	}
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(*prometheus.CounterVec); ok {
				return existing, nil
			}
		}
		return nil, err
	}
	return c, nil
}

// CarryOverConfig configures CarryOver.
type CarryOverConfig struct {
	// Sessions starts the Gatehouse session (its client exchanges the token).
	Sessions *Sessions
	// Legacy validates the legacy token before anything is sent anywhere.
	Legacy Validator
	// Router decides who moves: only users it sends to Gatehouse are
	// carried over (nil: everyone).
	Router *Router
	// LegacyToken reads the legacy token from a request (its session
	// cookie, say); "" for none.
	LegacyToken func(*http.Request) string
	// Organization, when set, names the organization of the new session
	// from the legacy claims (see sdk.ExchangeOptions.OrganizationID).
	Organization func(*sdk.Claims) string
	// Registerer receives gatehouse_cutover_carried_over_total{result}.
	Registerer prometheus.Registerer
	// Log receives failures (default: discarded).
	Log *slog.Logger
}

// CarryOver returns middleware that moves users signed in to the legacy
// system onto Gatehouse without a new login. For a request without a
// Gatehouse session but with a valid legacy token whose user the router
// sends to Gatehouse, it exchanges the token (RFC 8693, sdk.ExchangeToken),
// starts a cookie session, and lets the request continue with it. A
// refused exchange (the user is not in Gatehouse yet) changes nothing: the
// legacy token goes on working through Dual. Put it before RequireAuth.
func CarryOver(cfg CarryOverConfig) (func(http.Handler) http.Handler, error) {
	if cfg.Sessions == nil || cfg.Legacy == nil || cfg.LegacyToken == nil {
		return nil, errors.New("middleware: CarryOver needs Sessions, Legacy and LegacyToken")
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	carried, err := counterVec(cfg.Registerer, "gatehouse_cutover_carried_over_total",
		"Legacy sessions carried over to Gatehouse by token exchange, by result (exchanged, refused, error).", "result")
	if err != nil {
		return nil, err
	}
	s := cfg.Sessions
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if _, err := s.Current(w, r); err == nil {
				next.ServeHTTP(w, r)
				return
			}
			tok := cfg.LegacyToken(r)
			if tok == "" {
				next.ServeHTTP(w, r)
				return
			}
			ctx := r.Context()
			claims, err := cfg.Legacy.ValidateAccessToken(ctx, tok)
			if err != nil || (cfg.Router != nil && !cfg.Router.Decide(userKey(claims)).Gatehouse) {
				next.ServeHTTP(w, r)
				return
			}
			o := sdk.ExchangeOptions{}
			if cfg.Organization != nil {
				o.OrganizationID = cfg.Organization(claims)
			}
			res, err := s.client.ExchangeToken(ctx, tok, o)
			if err != nil {
				result := "error"
				if sdk.IsInvalidGrant(err) {
					result = "refused"
				}
				carried.WithLabelValues(result).Inc()
				cfg.Log.WarnContext(ctx, "gatehouse: carrying a legacy session over failed", "err", err)
				next.ServeHTTP(w, r)
				return
			}
			value, err := s.start(ctx, w, res)
			if err != nil {
				carried.WithLabelValues("error").Inc()
				cfg.Log.ErrorContext(ctx, "gatehouse: storing a carried-over session failed", "err", err)
				next.ServeHTTP(w, r)
				return
			}
			carried.WithLabelValues("exchanged").Inc()
			next.ServeHTTP(w, withCookie(r, s.cfg.CookieName, value))
		})
	}, nil
}

// userKey is what the router hashes for a signed-in user: the email when
// the token has one (so the cohort matches the login page's), else sub.
func userKey(c *sdk.Claims) string {
	if c.Email != "" {
		return c.Email
	}
	return c.Subject
}

// withCookie returns r with cookie name set to value, replacing any
// cookie of that name, so handlers after CarryOver see the new session.
func withCookie(r *http.Request, name, value string) *http.Request {
	r2 := r.Clone(r.Context())
	r2.Header.Del("Cookie")
	for _, c := range r.Cookies() {
		if c.Name != name {
			r2.AddCookie(c)
		}
	}
	r2.AddCookie(&http.Cookie{Name: name, Value: value})
	return r2
}
