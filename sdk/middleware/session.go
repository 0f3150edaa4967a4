package middleware

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/gatehouse/gatehouse/sdk"
)

// ErrNoSession: the request has no signed-in session (no cookie, an
// unknown or ended one, or one whose refresh token was refused).
var ErrNoSession = errors.New("gatehouse: no signed-in session")

// Session is a browser's session at the app: its Gatehouse tokens, kept
// on the server (Store) and found through the session cookie. Before the
// callback, a session is pending: it holds the login's state, nonce and
// PKCE verifier instead.
type Session struct {
	// Key is the store key: the SHA-256 of the cookie value, so a leaked
	// store does not hand out cookies.
	Key          string
	AccessToken  string
	RefreshToken string
	IDToken      string
	// Expiry is when the access token expires.
	Expiry time.Time
	Claims *sdk.Claims
	User   *sdk.User

	// The pending login (empty once signed in).
	State    string
	Nonce    string
	Verifier string
	ReturnTo string

	CreatedAt time.Time
	// ExpiresAt is when the store may forget the session.
	ExpiresAt time.Time
}

// SignedIn reports whether the session holds tokens.
func (s *Session) SignedIn() bool { return s != nil && s.AccessToken != "" }

// Store keeps sessions by key. MemoryStore serves one process; an app
// running several instances needs a shared store (a database, Redis) so
// that a refresh made by one instance is seen by the others.
type Store interface {
	// Get returns the session with the key, or ErrNoSession.
	Get(ctx context.Context, key string) (*Session, error)
	// Put creates or replaces a session.
	Put(ctx context.Context, s *Session) error
	// Delete removes a session; deleting a missing one is no error.
	Delete(ctx context.Context, key string) error
}

// SessionConfig configures Sessions.
type SessionConfig struct {
	// CallbackURL is the app's absolute callback URL, registered at
	// Gatehouse (Settings -> Redirects); CallbackHandler serves it.
	CallbackURL string
	// PostLogoutURL, when set, is where Gatehouse returns the browser
	// after logout; it must be registered too.
	PostLogoutURL string
	// Scopes requested at login (default openid, profile, email and
	// offline_access: without a refresh token nothing can be renewed).
	Scopes []string
	// CookieName defaults to __Host-gatehouse_app (gatehouse_app when
	// Insecure): the __Host- prefix binds it to this host and path /.
	CookieName string
	// Insecure drops the Secure attribute, for an app served over plain
	// http on a host browsers do not treat as secure. Never in production.
	Insecure bool
	// RefreshBefore is how long before the access token expires it is
	// renewed (default one minute).
	RefreshBefore time.Duration
	// MaxAge bounds a session's life at the app (default 30 days; the
	// Gatehouse session policy usually ends it first).
	MaxAge time.Duration
	// Store keeps the sessions (default a new MemoryStore).
	Store Store
	// Now replaces time.Now.
	Now func() time.Time
	// Log receives failures (default: discarded).
	Log *slog.Logger
}

// Sessions signs browsers in with the authorization code flow (state,
// nonce and PKCE), keeps their tokens on the server behind an HttpOnly,
// Secure, SameSite=Lax cookie, and renews the access token with the
// refresh token before it expires: for one session, one refresh however
// many requests need it at once (and the rotated refresh token replaces
// the old one for all of them).
type Sessions struct {
	client *sdk.Client
	cfg    SessionConfig
	group  singleflight.Group
}

// Default lifetimes of Sessions.
const (
	DefaultRefreshBefore = time.Minute
	DefaultSessionMaxAge = 30 * 24 * time.Hour
	// pendingTTL is how long a started login may take.
	pendingTTL = 15 * time.Minute
)

// NewSessions returns the session helper for an app signing users in
// through client.
func NewSessions(client *sdk.Client, cfg SessionConfig) (*Sessions, error) {
	u, err := url.Parse(cfg.CallbackURL)
	if err != nil || !u.IsAbs() || u.Host == "" {
		return nil, errors.New("middleware: SessionConfig.CallbackURL must be an absolute URL")
	}
	if len(cfg.Scopes) == 0 {
		cfg.Scopes = []string{"openid", "profile", "email", "offline_access"}
	}
	if cfg.CookieName == "" {
		cfg.CookieName = "__Host-gatehouse_app"
		if cfg.Insecure {
			cfg.CookieName = "gatehouse_app"
		}
	}
	if cfg.RefreshBefore <= 0 {
		cfg.RefreshBefore = DefaultRefreshBefore
	}
	if cfg.MaxAge <= 0 {
		cfg.MaxAge = DefaultSessionMaxAge
	}
	if cfg.Store == nil {
		cfg.Store = NewMemoryStore(cfg.Now)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	return &Sessions{client: client, cfg: cfg}, nil
}

// newCookieValue returns 256 random bits and their store key.
func newCookieValue() (value, key string, err error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", "", err
	}
	value = base64.RawURLEncoding.EncodeToString(b[:])
	return value, storeKey(value), nil
}

func storeKey(cookie string) string {
	sum := sha256.Sum256([]byte(cookie))
	return hex.EncodeToString(sum[:])
}

func (s *Sessions) setCookie(w http.ResponseWriter, value string, expires time.Time) {
	http.SetCookie(w, &http.Cookie{Name: s.cfg.CookieName, Value: value, Path: "/", Expires: expires,
		MaxAge: int(expires.Sub(s.cfg.Now()) / time.Second), HttpOnly: true, Secure: !s.cfg.Insecure, SameSite: http.SameSiteLaxMode})
}

func (s *Sessions) clearCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: s.cfg.CookieName, Value: "", Path: "/", MaxAge: -1, HttpOnly: true,
		Secure: !s.cfg.Insecure, SameSite: http.SameSiteLaxMode})
}

// lookup reads the session the request's cookie names.
func (s *Sessions) lookup(r *http.Request) (*Session, error) {
	ck, err := r.Cookie(s.cfg.CookieName)
	if err != nil || ck.Value == "" || len(ck.Value) > 128 {
		return nil, ErrNoSession
	}
	ses, err := s.cfg.Store.Get(r.Context(), storeKey(ck.Value))
	if err != nil {
		return nil, err
	}
	if !s.cfg.Now().Before(ses.ExpiresAt) {
		return nil, ErrNoSession
	}
	return ses, nil
}

// Login starts a sign-in: it makes a pending session holding a fresh
// state, nonce and PKCE verifier, sets its cookie, and redirects to the
// Gatehouse authorization URL built with o (state, nonce, code challenge
// and scopes are filled in). returnTo is where the callback sends the
// browser afterwards; only a local path is kept.
func (s *Sessions) Login(w http.ResponseWriter, r *http.Request, returnTo string, o sdk.AuthorizationURLOptions) error {
	pk, err := sdk.NewPKCE()
	if err != nil {
		return err
	}
	state, err := sdk.RandomString()
	if err != nil {
		return err
	}
	nonce, err := sdk.RandomString()
	if err != nil {
		return err
	}
	value, key, err := newCookieValue()
	if err != nil {
		return err
	}
	now := s.cfg.Now()
	ses := &Session{Key: key, State: state, Nonce: nonce, Verifier: pk.Verifier, ReturnTo: localPath(returnTo),
		CreatedAt: now, ExpiresAt: now.Add(pendingTTL)}
	if err := s.cfg.Store.Put(r.Context(), ses); err != nil {
		return err
	}
	s.setCookie(w, value, ses.ExpiresAt)
	o.State, o.Nonce, o.CodeChallenge, o.CodeChallengeMethod = state, nonce, pk.Challenge, pk.Method
	if len(o.Scopes) == 0 {
		o.Scopes = s.cfg.Scopes
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, s.client.AuthorizationURL(s.cfg.CallbackURL, o), http.StatusFound)
	return nil
}

// localPath keeps p only if it is a path on this site ("/..."), so the
// login cannot be made to end on another site (an open redirect).
func localPath(p string) string {
	if p == "" || p[0] != '/' || strings.HasPrefix(p, "//") || strings.HasPrefix(p, "/\\") || strings.ContainsAny(p, "\r\n") {
		return "/"
	}
	return p
}

// LoginHandler starts a sign-in (Login), passing on the query parameters
// return_to, login_hint and organization_id.
func (s *Sessions) LoginHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		o := sdk.AuthorizationURLOptions{LoginHint: q.Get("login_hint"), OrganizationID: q.Get("organization_id")}
		if err := s.Login(w, r, q.Get("return_to"), o); err != nil {
			s.cfg.Log.ErrorContext(r.Context(), "gatehouse: starting a login failed", "err", err)
			http.Error(w, "cannot start the sign-in, try again", http.StatusInternalServerError)
		}
	})
}

// Callback finishes a sign-in at the callback URL: it checks that state
// matches the pending session's (constant time), redeems the code with the
// verifier and nonce, and replaces the pending session by a signed-in one
// under a new cookie value (so a cookie planted before the login is
// worth nothing after it). It returns the new session.
func (s *Sessions) Callback(w http.ResponseWriter, r *http.Request) (*Session, error) {
	ctx := r.Context()
	q := r.URL.Query()
	pending, err := s.lookup(r)
	if err != nil {
		return nil, errors.New("no sign-in in progress in this browser")
	}
	if pending.SignedIn() || pending.State == "" ||
		subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(pending.State)) != 1 {
		return nil, errors.New("the sign-in response does not match this browser's sign-in")
	}
	// The pending login is single-use, whatever happens next.
	if err := s.cfg.Store.Delete(ctx, pending.Key); err != nil {
		return nil, err
	}
	if e := q.Get("error"); e != "" {
		s.clearCookie(w)
		return nil, errors.New("the sign-in was refused: " + e)
	}
	res, err := s.client.AuthenticateWithCode(ctx, q.Get("code"), s.cfg.CallbackURL,
		sdk.AuthenticationOptions{CodeVerifier: pending.Verifier, Nonce: pending.Nonce})
	if err != nil {
		s.clearCookie(w)
		return nil, err
	}
	ses, err := s.Start(ctx, w, res)
	if err != nil {
		return nil, err
	}
	ses.ReturnTo = pending.ReturnTo
	return ses, nil
}

// CallbackHandler serves the callback URL: Callback, then a redirect to
// where the login started (or /). A failed sign-in answers 400.
func (s *Sessions) CallbackHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ses, err := s.Callback(w, r)
		if err != nil {
			s.cfg.Log.WarnContext(r.Context(), "gatehouse: sign-in failed", "err", err)
			w.Header().Set("Cache-Control", "no-store")
			http.Error(w, "sign-in failed: "+err.Error(), http.StatusBadRequest)
			return
		}
		http.Redirect(w, r, localPath(ses.ReturnTo), http.StatusFound)
	})
}

// Start makes a signed-in session from tokens (AuthenticateWithCode,
// ExchangeToken), sets its cookie and stores it.
func (s *Sessions) Start(ctx context.Context, w http.ResponseWriter, res *sdk.AuthenticationResponse) (*Session, error) {
	ses, _, err := s.startSession(ctx, w, res)
	return ses, err
}

// start is Start returning the cookie value.
func (s *Sessions) start(ctx context.Context, w http.ResponseWriter, res *sdk.AuthenticationResponse) (string, error) {
	_, value, err := s.startSession(ctx, w, res)
	return value, err
}

func (s *Sessions) startSession(ctx context.Context, w http.ResponseWriter, res *sdk.AuthenticationResponse) (*Session, string, error) {
	value, key, err := newCookieValue()
	if err != nil {
		return nil, "", err
	}
	now := s.cfg.Now()
	ses := &Session{Key: key, CreatedAt: now, ExpiresAt: now.Add(s.cfg.MaxAge)}
	ses.apply(res)
	if err := s.cfg.Store.Put(ctx, ses); err != nil {
		return nil, "", err
	}
	s.setCookie(w, value, ses.ExpiresAt)
	return ses, value, nil
}

// apply takes the tokens of a sign-in or refresh.
func (ses *Session) apply(res *sdk.AuthenticationResponse) {
	ses.AccessToken, ses.Expiry, ses.Claims = res.AccessToken, res.Claims.Expiry, res.Claims
	if res.RefreshToken != "" {
		ses.RefreshToken = res.RefreshToken
	}
	if res.IDToken != "" {
		ses.IDToken = res.IDToken
	}
	if res.User != nil {
		ses.User = res.User
	}
}

// Current returns the request's signed-in session, renewing its access
// token first when it expires within RefreshBefore. Concurrent requests
// of one session share one refresh. A refresh token Gatehouse refuses
// (the session was revoked, logged out or timed out) ends the session:
// ErrNoSession. If Gatehouse cannot be reached, the session is returned as
// it is while its access token is still valid.
func (s *Sessions) Current(w http.ResponseWriter, r *http.Request) (*Session, error) {
	ses, err := s.lookup(r)
	if err != nil {
		return nil, err
	}
	if !ses.SignedIn() {
		return nil, ErrNoSession
	}
	if s.cfg.Now().Add(s.cfg.RefreshBefore).Before(ses.Expiry) {
		return ses, nil
	}
	ch := s.group.DoChan(ses.Key, func() (any, error) {
		return s.refresh(context.WithoutCancel(r.Context()), ses.Key)
	})
	select {
	case res := <-ch:
		if res.Err != nil {
			if errors.Is(res.Err, ErrNoSession) {
				s.clearCookie(w)
			}
			return nil, res.Err
		}
		return res.Val.(*Session), nil
	case <-r.Context().Done():
		return nil, r.Context().Err()
	}
}

// refresh renews one session's tokens; Current runs it once per session
// at a time.
func (s *Sessions) refresh(ctx context.Context, key string) (*Session, error) {
	ctx, cancel := context.WithTimeout(ctx, sdk.DefaultTimeout)
	defer cancel()
	// Read again: another request (or instance) may have just renewed it.
	ses, err := s.cfg.Store.Get(ctx, key)
	if err != nil {
		return nil, err
	}
	if s.cfg.Now().Add(s.cfg.RefreshBefore).Before(ses.Expiry) {
		return ses, nil
	}
	if ses.RefreshToken == "" {
		if s.cfg.Now().Before(ses.Expiry) {
			return ses, nil
		}
		_ = s.cfg.Store.Delete(ctx, key)
		return nil, ErrNoSession
	}
	res, err := s.client.RefreshToken(ctx, ses.RefreshToken)
	if sdk.IsInvalidGrant(err) {
		if err := s.cfg.Store.Delete(ctx, key); err != nil {
			return nil, err
		}
		return nil, ErrNoSession
	}
	if err != nil {
		if s.cfg.Now().Before(ses.Expiry) {
			s.cfg.Log.WarnContext(ctx, "gatehouse: refreshing a session failed; the access token is still valid", "err", err)
			return ses, nil
		}
		return nil, err
	}
	ses.apply(res)
	// A logout while the refresh was on its way must not be undone.
	if _, err := s.cfg.Store.Get(ctx, key); err != nil {
		return nil, err
	}
	if err := s.cfg.Store.Put(ctx, ses); err != nil {
		return nil, err
	}
	return ses, nil
}

// Logout ends the app session (store and cookie) and redirects the
// browser to Gatehouse's logout with the ID token, so the Gatehouse
// session ends too, and then to PostLogoutURL.
func (s *Sessions) Logout(w http.ResponseWriter, r *http.Request) error {
	var hint string
	if ses, err := s.lookup(r); err == nil {
		hint = ses.IDToken
		if err := s.cfg.Store.Delete(r.Context(), ses.Key); err != nil {
			return err
		}
	}
	s.clearCookie(w)
	o := sdk.LogoutURLOptions{IDTokenHint: hint}
	if hint != "" {
		o.PostLogoutRedirectURI = s.cfg.PostLogoutURL
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, s.client.LogoutURL(o), http.StatusSeeOther)
	return nil
}

// LogoutHandler serves logout as a POST from the app's own pages: a
// cross-site request is refused (403), so another site cannot sign users
// out.
func (s *Sessions) LogoutHandler() http.Handler {
	cop := http.NewCrossOriginProtection()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			http.Error(w, "sign out with a POST", http.StatusMethodNotAllowed)
			return
		}
		if err := cop.Check(r); err != nil {
			http.Error(w, "forbidden: cross-site sign-out", http.StatusForbidden)
			return
		}
		if err := s.Logout(w, r); err != nil {
			s.cfg.Log.ErrorContext(r.Context(), "gatehouse: logout failed", "err", err)
			http.Error(w, "cannot sign out, try again", http.StatusInternalServerError)
		}
	})
}

// RedirectToLogin answers a request without a session by sending the
// browser to loginPath (served by LoginHandler) with return_to set to the
// page asked for. Use it with WithUnauthenticated for pages.
func (s *Sessions) RedirectToLogin(loginPath string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, loginPath+"?"+url.Values{"return_to": {r.URL.RequestURI()}}.Encode(), http.StatusFound)
	})
}
