package main

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/gatehouse/gatehouse/sdk"
	"github.com/gatehouse/gatehouse/sdk/middleware"
)

// Config is what the app needs.
type Config struct {
	// GatehouseURL, ClientID and ClientSecret are the Gatehouse
	// environment and the app's API client.
	GatehouseURL, ClientID, ClientSecret string
	// AppURL is where browsers reach the app (http://localhost:3000); its
	// /callback and /bye must be registered at Gatehouse.
	AppURL string
	// CutoverPercent of users sign in through Gatehouse, the rest through
	// the legacy system; Allow and Deny pin users (emails) to one side.
	CutoverPercent int
	Allow, Deny    []string
	// LegacyUsers are the accounts of the (fake) legacy system.
	LegacyUsers []LegacyUser
	// Insecure drops the Secure cookie attribute (plain http on a host
	// other than localhost; never in production).
	Insecure bool
	// Now, SDKOptions and Log are for tests.
	Now        func() time.Time
	SDKOptions []sdk.Option
	Log        *slog.Logger
}

// App is the example web app: Gatehouse sign-in with cookie sessions and
// transparent refresh, a role-gated page, logout, and a cut-over from a
// legacy system (both kinds of sessions accepted; a share of users sent
// to Gatehouse; legacy sessions carried over without a new sign-in).
type App struct {
	Client   *sdk.Client
	Sessions *middleware.Sessions
	Router   *middleware.Router
	Registry *prometheus.Registry
	legacy   *legacySystem
	handler  http.Handler
	log      *slog.Logger
}

// LegacyIssuer is the iss of the fake legacy system's tokens, for the
// Gatehouse server's --legacy-issuer; its JWKS is at LegacyIssuer+"/jwks".
func LegacyIssuer(appURL string) string { return appURL + "/legacy" }

// New builds the app.
func New(cfg Config) (*App, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	opts := append([]sdk.Option{sdk.WithClock(cfg.Now)}, cfg.SDKOptions...)
	client, err := sdk.New(cfg.GatehouseURL, cfg.ClientID, cfg.ClientSecret, opts...)
	if err != nil {
		return nil, err
	}
	a := &App{Client: client, Registry: prometheus.NewRegistry(), log: cfg.Log}
	if a.legacy, err = newLegacySystem(LegacyIssuer(cfg.AppURL), cfg.LegacyUsers, cfg.Now, cfg.Insecure); err != nil {
		return nil, err
	}
	a.Sessions, err = middleware.NewSessions(client, middleware.SessionConfig{CallbackURL: cfg.AppURL + "/callback",
		PostLogoutURL: cfg.AppURL + "/bye", Insecure: cfg.Insecure, Now: cfg.Now, Log: cfg.Log})
	if err != nil {
		return nil, err
	}
	// The legacy system's tokens, checked locally against its JWKS. The app
	// fetches it from itself here; a real app points at the old issuer.
	legacyTokens, err := middleware.NewLegacyVerifier(middleware.LegacyConfig{Issuer: a.legacy.issuer, Audience: legacyAudience,
		JWKSURL: a.legacy.issuer + "/jwks", Now: cfg.Now})
	if err != nil {
		return nil, err
	}
	dual, err := middleware.NewDual(client, legacyTokens, a.Registry)
	if err != nil {
		return nil, err
	}
	legacyLogin := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		http.Redirect(w, r, "/legacy/login?email="+url.QueryEscape(q.Get("login_hint"))+"&return_to="+url.QueryEscape(q.Get("return_to")), http.StatusFound)
	})
	a.Router, err = middleware.NewRouter(middleware.RouterConfig{Percent: cfg.CutoverPercent, Allow: cfg.Allow, Deny: cfg.Deny,
		Salt: "example-webapp", Gatehouse: a.Sessions.LoginHandler(), Legacy: legacyLogin, Insecure: cfg.Insecure,
		Registerer: a.Registry})
	if err != nil {
		return nil, err
	}
	carry, err := middleware.CarryOver(middleware.CarryOverConfig{Sessions: a.Sessions, Legacy: legacyTokens, Router: a.Router,
		LegacyToken: tokenFrom, Registerer: a.Registry, Log: cfg.Log})
	if err != nil {
		return nil, err
	}
	page := func(h http.Handler) http.Handler {
		return carry(middleware.RequireAuth(dual, middleware.WithSessions(a.Sessions), middleware.WithToken(tokenFrom),
			middleware.WithUnauthenticated(a.Sessions.RedirectToLogin("/login")), middleware.WithLogger(cfg.Log))(h))
	}
	api := func(h http.Handler) http.Handler {
		return carry(middleware.RequireAuth(dual, middleware.WithSessions(a.Sessions), middleware.WithToken(tokenFrom),
			middleware.WithLogger(cfg.Log))(h))
	}
	admin := middleware.RequireRole("admin")

	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) { render(w, http.StatusOK, "home", nil) })
	mux.Handle("GET /login", a.Router)
	mux.Handle("GET /callback", a.Sessions.CallbackHandler())
	mux.HandleFunc("POST /logout", a.logout)
	mux.HandleFunc("GET /bye", func(w http.ResponseWriter, r *http.Request) { render(w, http.StatusOK, "bye", nil) })
	mux.Handle("GET /dashboard", page(http.HandlerFunc(a.dashboard)))
	mux.Handle("GET /admin", page(admin(http.HandlerFunc(a.adminPage))))
	mux.Handle("POST /admin/cutover", page(admin(http.HandlerFunc(a.setCutover))))
	mux.Handle("GET /api/me", api(http.HandlerFunc(a.me)))
	mux.HandleFunc("GET /legacy/jwks", a.legacy.jwks)
	mux.HandleFunc("GET /legacy/login", a.legacy.loginPage)
	mux.HandleFunc("POST /legacy/login", a.legacy.login)
	mux.Handle("GET /metrics", promhttp.HandlerFor(a.Registry, promhttp.HandlerOpts{}))
	// Every POST must come from the app's own pages.
	a.handler = http.NewCrossOriginProtection().Handler(mux)
	return a, nil
}

// ServeHTTP serves the app.
func (a *App) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.handler.ServeHTTP(w, r) }

func (a *App) dashboard(w http.ResponseWriter, r *http.Request) {
	render(w, http.StatusOK, "dashboard", middleware.ClaimsFrom(r.Context()))
}

func (a *App) adminPage(w http.ResponseWriter, r *http.Request) {
	render(w, http.StatusOK, "admin", map[string]int{"Percent": a.Router.Percent()})
}

// setCutover changes the share of users sent to Gatehouse while serving:
// 0 is the rollback.
func (a *App) setCutover(w http.ResponseWriter, r *http.Request) {
	p, err := strconv.Atoi(r.PostFormValue("percent"))
	if err == nil {
		err = a.Router.SetPercent(p)
	}
	if err != nil {
		http.Error(w, "percent must be a number from 0 to 100", http.StatusBadRequest)
		return
	}
	a.log.InfoContext(r.Context(), "cut-over percentage changed", "percent", p, "by", middleware.ClaimsFrom(r.Context()).Subject)
	http.Redirect(w, r, "/admin", http.StatusSeeOther)
}

func (a *App) me(w http.ResponseWriter, r *http.Request) {
	c := middleware.ClaimsFrom(r.Context())
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(map[string]any{"sub": c.Subject, "oid": c.OrganizationID, "sid": c.SessionID, "roles": c.Roles,
		"permissions": c.Permissions, "legacy": c.Legacy, "jti": c.ID, "exp": c.Expiry.Unix()})
}

// logout ends both kinds of sessions: the legacy cookie here, the
// Gatehouse session here and at Gatehouse (which returns to /bye).
func (a *App) logout(w http.ResponseWriter, r *http.Request) {
	a.legacy.clear(w)
	if _, err := a.Sessions.Current(w, r); errors.Is(err, middleware.ErrNoSession) {
		http.Redirect(w, r, "/bye", http.StatusSeeOther)
		return
	}
	if err := a.Sessions.Logout(w, r); err != nil {
		a.log.ErrorContext(r.Context(), "logout failed", "err", err)
		http.Error(w, "cannot sign out, try again", http.StatusInternalServerError)
	}
}
