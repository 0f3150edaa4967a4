package login

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/internal/accounts"
	"github.com/gatehouse/gatehouse/internal/authlog"
	"github.com/gatehouse/gatehouse/internal/httpx"
	"github.com/gatehouse/gatehouse/internal/id"
	"github.com/gatehouse/gatehouse/internal/legacyauth"
	"github.com/gatehouse/gatehouse/internal/oauth"
	"github.com/gatehouse/gatehouse/internal/passwords"
	"github.com/gatehouse/gatehouse/internal/sessions"
	"github.com/gatehouse/gatehouse/internal/settings"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/web"
)

// Lifetimes, documented in docs/login.md.
const (
	FlowTTL      = oauth.AuthRequestTTL // a sign-in in progress
	CodeTTL      = 10 * time.Minute     // an emailed code and its magic link
	ResetTTL     = 30 * time.Minute     // an emailed password reset link
	MaxCodeTries = 5                    // wrong codes before a code is dead
)

// Handler serves the hosted login pages for one environment.
type Handler struct {
	OAuth    *oauth.Server
	Sessions *sessions.Service
	Accounts *accounts.Service
	Settings *settings.Service
	Store    *store.Store
	IDs      *id.Generator
	EnvID    string
	// PublicURL is the configured public URL (the issuer): the base of
	// every emailed link, whatever Host the request came with.
	PublicURL string
	Now       func() time.Time
	Log       *slog.Logger
	// SignupAllowed lets unknown emails create an account.
	SignupAllowed bool
	// CodeKey keys the HMAC under which codes are stored (a server secret
	// that is not in the database).
	CodeKey []byte
	// Limits are the throttling rules; zero fields take DefaultLimits.
	Limits Limits
	// AuthLog records every sign-in attempt and counts it; nil records
	// nothing.
	AuthLog *authlog.Log
	// Legacy is lazy migration's legacy endpoint (password.go); nil never
	// asks one.
	Legacy *legacyauth.Service
	// Hashing bounds how many password hashes run at once (see
	// passwords.Limiter); nil means one per CPU.
	Hashing *passwords.Limiter
	// BreachedPasswordsURL is the Have I Been Pwned-compatible range API
	// new passwords are checked against (breached.go); "" checks none.
	BreachedPasswordsURL string

	policy   *PasswordPolicy
	breached *BreachedPasswords // nil: no breached-password check

	pages  *pages
	assets *assets
	cop    *http.CrossOriginProtection
	bg     sync.WaitGroup // later's jobs
}

// Init parses the templates and prepares the assets; it fails when a
// template is missing or broken, so a bad build never starts.
func (h *Handler) Init() error {
	p, err := parsePages(web.Templates)
	if err != nil {
		return err
	}
	a, err := loadAssets(web.Static)
	if err != nil {
		return err
	}
	p.css = a.url("login.css")
	h.pages, h.assets = p, a
	h.policy, h.breached = NewPasswordPolicy(), NewBreachedPasswords(h.BreachedPasswordsURL)
	h.Limits = h.Limits.withDefaults()
	if h.Hashing == nil {
		h.Hashing = passwords.NewLimiter(0)
	}
	h.cop = http.NewCrossOriginProtection()
	h.cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.forbidden(w, r)
	}))
	if h.Log == nil {
		h.Log = slog.New(slog.DiscardHandler)
	}
	return nil
}

// Mount registers the login routes on mux.
func (h *Handler) Mount(mux *http.ServeMux) {
	mux.HandleFunc("GET "+oauth.LoginPath, h.start)
	mux.HandleFunc("GET /login/forgot", h.forgotPage)
	mux.HandleFunc("GET /login/reset", h.resetPage)
	mux.HandleFunc("GET /login/link", h.linkPage)
	mux.Handle("GET /login/assets/{hash}/{name}", h.assets)
	for path, fn := range map[string]func(http.ResponseWriter, *http.Request, *flow){
		"/login/email":        h.email,
		"/login/code":         h.code,
		"/login/code/send":    h.sendCode,
		"/login/use-password": h.usePassword,
		"/login/restart":      h.restart,
		"/login/link":         h.consumeLink,
		"/login/organization": h.organization,
		"/login/signup":       h.signup,
		"/login/forgot":       h.forgot,
		"/login/reset":        h.reset,
	} {
		mux.Handle("POST "+path, h.cop.Handler(h.form(h.loadFlow, fn)))
	}
	mux.Handle("POST /login/password", h.cop.Handler(h.form(h.loadPasswordStep, h.password)))
	h.mountAccount(mux)
}

// form checks a POST before fn sees it: a bounded body, a live login flow
// in this browser (read by load), its CSRF token, and the auth_request
// the page was rendered for. Anything else is 403 with a page to start
// again.
func (h *Handler) form(load func(*http.Request) (*flow, error), fn func(http.ResponseWriter, *http.Request, *flow)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		if err := r.ParseForm(); err != nil {
			h.message(w, r, http.StatusBadRequest, nil, msg{Heading: "Something went wrong", Message: "The form could not be read. Please try again."})
			return
		}
		f, err := load(r)
		if err != nil && !errors.Is(err, errNoFlow) {
			h.serverError(w, r, "reading a login flow", err)
			return
		}
		if f == nil || !equalSecret(r.PostFormValue("csrf"), f.d.CSRF) || r.PostFormValue("auth_request") != f.row.AuthRequestID {
			h.forbidden(w, r)
			return
		}
		fn(w, r, f)
	})
}

// forbidden answers a POST that failed the CSRF checks.
func (h *Handler) forbidden(w http.ResponseWriter, r *http.Request) {
	h.message(w, r, http.StatusForbidden, nil, msg{Heading: "This page has expired",
		Message: "For your security, the sign-in form could not be accepted. Go back to the application and sign in again.",
		LinkURL: "/login", LinkText: "Start again"})
}

// setHeaders applies the headers of every login response (SECURITY-BAR
// O15, W01): never framed, never cached, no referrer, no CORS, no script.
// formTarget is where a form on the page may end up after its redirects
// (the client's redirect URI), for CSP form-action.
func setHeaders(w http.ResponseWriter, nonce string, imgHTTP bool, formTarget string) {
	img := "'self' https: data:"
	if imgHTTP {
		img += " http:"
	}
	form := "'self'"
	if formTarget != "" {
		form += " " + formTarget
	}
	style := "'self'"
	if nonce != "" {
		style += " 'nonce-" + nonce + "'"
	}
	hd := w.Header()
	hd.Set("Content-Security-Policy", "default-src 'none'; style-src "+style+"; img-src "+img+"; form-action "+form+
		"; frame-ancestors 'none'; base-uri 'none'")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("Cache-Control", "no-store")
	hd.Set("Pragma", "no-cache")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("X-Content-Type-Options", "nosniff")
}

// cspSource is the CSP source expression for a redirect URI: its origin,
// or its scheme for an app's own scheme.
func cspSource(redirectURI string) string {
	u, err := url.Parse(redirectURI)
	if err != nil || u.Scheme == "" {
		return ""
	}
	if u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return u.Scheme + ":"
	}
	return u.Scheme + "://" + u.Host
}

// seeOther redirects after a POST with 303, so the browser GETs the target.
func seeOther(w http.ResponseWriter, target string) {
	setHeaders(w, "", false, "")
	w.Header().Set("Location", target)
	w.WriteHeader(http.StatusSeeOther)
}

// flowURL is the GET that renders a flow's current step.
func flowURL(f *flow) string {
	if f.row.AuthRequestID == "" {
		return oauth.LoginPath
	}
	return oauth.LoginPath + "?" + url.Values{"auth_request": {f.row.AuthRequestID}}.Encode()
}

func (h *Handler) serverError(w http.ResponseWriter, r *http.Request, what string, err error) {
	h.Log.ErrorContext(r.Context(), what+" failed", "request_id", httpx.RequestID(r.Context()), "err", err)
	h.message(w, r, http.StatusInternalServerError, nil, msg{Heading: "Something went wrong",
		Message: "We could not complete this step. Please try again in a moment.", LinkURL: "/login", LinkText: "Start again"})
}

// clientIP is the address the request came from, for the per-IP limits
// and the authentication log: httpx.ClientIP, which believes forwarded
// headers only from --trusted-proxies (SECURITY-BAR A11).
func clientIP(r *http.Request) string { return httpx.ClientIP(r) }

// randomToken returns n random bytes, base64url.
func randomToken(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("login: no randomness: " + err.Error()) // crypto/rand never fails on supported platforms
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// normEmail is the form of an email that accounts and counters key on.
func normEmail(email string) string { return strings.ToLower(strings.TrimSpace(email)) }

// authRequest reads the flow's authorization request (nil for a flow
// without one). A request reads it once: the authentication log and the
// organization choice of the same POST both need it, and what they see
// must be the same. A failure other than ErrAuthRequestNotFound is not
// kept, so a later caller asks again.
func (h *Handler) authRequest(ctx context.Context, f *flow) (*oauth.AuthRequest, error) {
	if f.row.AuthRequestID == "" {
		return nil, nil
	}
	if f.arRead {
		return f.ar, f.arErr
	}
	ar, err := h.OAuth.GetAuthRequest(ctx, f.row.AuthRequestID)
	if err == nil || errors.Is(err, oauth.ErrAuthRequestNotFound) {
		f.ar, f.arErr, f.arRead = ar, err, true
	}
	return ar, err
}
