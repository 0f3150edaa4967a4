package oauth

import (
	"context"
	"errors"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/sessions"
	"github.com/gatehouse/gatehouse/internal/store"
)

// Lifetimes of the authorization step.
const (
	// AuthRequestTTL is how long a user has to sign in.
	AuthRequestTTL = 30 * time.Minute
	// CodeTTL is the life of an authorization code (SECURITY-BAR O06: at most 60 s).
	CodeTTL = 60 * time.Second
)

// AuthRequestPrefix starts the ids of authorization requests.
const AuthRequestPrefix = "areq"

// LoginPath is where the browser goes to sign in; the hosted login UI
// serves it and reads the auth_request query parameter.
const LoginPath = "/login"

// AuthRequest is an authorization request waiting for the user, as the
// login UI reads it (client, login_hint, organization_id, prompt, ...).
type AuthRequest = store.AuthRequest

// Errors CompleteAuthorization and DenyAuthorization return.
var (
	// ErrAuthRequestNotFound: unknown, expired or already finished.
	ErrAuthRequestNotFound = errors.New("authorization request not found, expired or already used")
	// ErrLoginRequired: the session cannot complete this request (see NeedsLogin).
	ErrLoginRequired = errors.New("the user must sign in again for this request")
)

var knownPrompts = []string{"none", "login", "consent", "select_account", "create"}

// authorize implements the authorization endpoint (RFC 6749 section
// 4.1.1, OIDC Core 3.1.2), GET and POST. Only response_type=code. Until
// client_id and redirect_uri are known good, every error is a page; after
// that, errors go back to the client with state and iss (RFC 9207).
func (s *Server) authorize(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	params := r.URL.Query()
	if r.Method == http.MethodPost {
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/x-www-form-urlencoded" {
			s.errorPage(w, http.StatusBadRequest, "invalid_request", "The authorization request must be a form.")
			return
		}
		if err := r.ParseForm(); err != nil {
			s.errorPage(w, http.StatusBadRequest, "invalid_request", "The authorization request cannot be read.")
			return
		}
		params = r.PostForm
	}
	var dup []string
	for k, v := range params {
		if len(v) > 1 {
			dup = append(dup, k)
		}
	}
	if slices.Contains(dup, "client_id") || slices.Contains(dup, "redirect_uri") {
		s.errorPage(w, http.StatusBadRequest, "invalid_request", "A parameter of the request is repeated.")
		return
	}
	clientID, redirectURI := params.Get("client_id"), params.Get("redirect_uri")
	c, err := s.client(ctx, clientID)
	if errors.Is(err, store.ErrNotFound) {
		s.errorPage(w, http.StatusBadRequest, "invalid_client", "The application that sent you here is not known.")
		return
	} else if err != nil {
		s.pageServerError(w, r, "reading a client", err)
		return
	}
	if redirectURI == "" {
		s.errorPage(w, http.StatusBadRequest, "invalid_request", "The request has no redirect_uri.")
		return
	}
	ok, err := s.redirects().AllowRedirect(ctx, c, redirectURI)
	if err != nil {
		s.pageServerError(w, r, "checking a redirect URI", err)
		return
	}
	if !ok || strings.Contains(redirectURI, "#") {
		s.errorPage(w, http.StatusBadRequest, "invalid_request", "The redirect_uri is not registered for this application.")
		return
	}

	// From here on the client and its redirect are trusted: errors go back.
	state := params.Get("state")
	if slices.Contains(dup, "state") {
		state = ""
	}
	fail := func(code, desc string) {
		redirect(w, s.authorizationResponse(redirectURI, url.Values{"error": {code}, "error_description": {cleanDescription(desc)}}, state))
	}
	if len(dup) > 0 {
		slices.Sort(dup)
		fail("invalid_request", "parameter "+dup[0]+" is repeated")
		return
	}
	switch {
	case params.Has("request"):
		fail("request_not_supported", "request objects are not supported")
		return
	case params.Has("request_uri"):
		fail("request_uri_not_supported", "request_uri is not supported")
		return
	}
	switch rt := params.Get("response_type"); rt {
	case "code":
	case "":
		fail("invalid_request", "response_type is required")
		return
	default:
		fail("unsupported_response_type", "only response_type=code is supported")
		return
	}
	if rm := params.Get("response_mode"); rm != "" && rm != "query" {
		fail("invalid_request", "only response_mode=query is supported")
		return
	}
	scope := params.Get("scope")
	if !params.Has("scope") {
		scope = DefaultScope
	}
	scopes := grantableScopes(scope)

	challenge, method := params.Get("code_challenge"), params.Get("code_challenge_method")
	switch {
	case challenge == "" && method != "":
		fail("invalid_request", "code_challenge_method without code_challenge")
		return
	case challenge == "" && c.Public:
		fail("invalid_request", "PKCE is required: send code_challenge with code_challenge_method=S256")
		return
	case challenge != "" && method != "S256":
		fail("invalid_request", "code_challenge_method must be S256")
		return
	case challenge != "" && !validChallenge(challenge):
		fail("invalid_request", "code_challenge must be the 43-character base64url SHA-256 of the verifier")
		return
	}

	prompt := strings.Fields(params.Get("prompt"))
	for _, p := range prompt {
		if !slices.Contains(knownPrompts, p) {
			fail("invalid_request", "prompt "+p+" is not supported")
			return
		}
	}
	if slices.Contains(prompt, "none") && len(prompt) > 1 {
		fail("invalid_request", "prompt=none cannot be combined with other values")
		return
	}
	maxAge := int64(-1)
	if v := params.Get("max_age"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			fail("invalid_request", "max_age must be a non-negative integer")
			return
		}
		maxAge = n
	}
	var hintSub string
	if h := params.Get("id_token_hint"); h != "" {
		claims, _, err := s.verifyIDTokenHint(ctx, h)
		if err != nil {
			fail("invalid_request", "id_token_hint is not a valid ID token of this server")
			return
		}
		hintSub = claims.Subject
	}
	for name, v := range map[string]string{"state": state, "nonce": params.Get("nonce"), "login_hint": params.Get("login_hint"),
		"organization_id": params.Get("organization_id")} {
		if len(v) > 2048 {
			fail("invalid_request", name+" is too long")
			return
		}
	}

	now := s.Now()
	ar := &AuthRequest{ID: s.IDs.New(AuthRequestPrefix), EnvID: s.EnvID, ClientID: c.ID, RedirectURI: redirectURI,
		Scope: strings.Join(scopes, " "), State: state, Nonce: params.Get("nonce"), CodeChallenge: challenge,
		Prompt: strings.Join(prompt, " "), MaxAge: maxAge, LoginHint: params.Get("login_hint"), HintSubject: hintSub,
		OrganizationID: params.Get("organization_id"), Extra: map[string]string{}, Status: store.AuthRequestPending,
		CreatedAt: now, ExpiresAt: now.Add(AuthRequestTTL)}
	for _, k := range []string{"domain_hint", "connection_id", "provider", "ui_locales"} {
		if v := params.Get(k); v != "" && len(v) <= 512 {
			ar.Extra[k] = v
		}
	}

	ses, err := s.Sessions.FromRequest(r)
	if err != nil && !errors.Is(err, sessions.ErrNoSession) {
		s.pageServerError(w, r, "reading the session", err)
		return
	}
	silent := slices.Contains(prompt, "none")
	if silent && (ses == nil || s.NeedsLogin(ar, ses)) {
		fail("login_required", "the user is not signed in")
		return
	}
	if err := s.Store.Q().CreateAuthRequest(ctx, ar); err != nil {
		s.pageServerError(w, r, "storing an authorization request", err)
		return
	}
	if ses != nil && !s.NeedsLogin(ar, ses) {
		// A live session that satisfies the request: single sign-on.
		target, err := s.complete(ctx, ar, ses)
		if err == nil {
			redirect(w, target)
			return
		}
		if !errors.Is(err, ErrAuthRequestNotFound) && !errors.Is(err, ErrLoginRequired) {
			s.pageServerError(w, r, "issuing a code", err)
			return
		}
		if silent {
			fail("login_required", "the user is not signed in")
			return
		}
	}
	redirect(w, s.Issuer+LoginPath+"?"+url.Values{"auth_request": {ar.ID}}.Encode())
}

// authorizationResponse builds the redirect to the client: its registered
// URI (kept byte for byte, query included) plus the response parameters,
// state and iss.
func (s *Server) authorizationResponse(redirectURI string, v url.Values, state string) string {
	if state != "" {
		v.Set("state", state)
	}
	v.Set("iss", s.Issuer)
	sep := "?"
	if strings.Contains(redirectURI, "?") {
		sep = "&"
	}
	return redirectURI + sep + v.Encode()
}

func (s *Server) pageServerError(w http.ResponseWriter, r *http.Request, what string, err error) {
	s.Log.ErrorContext(r.Context(), what+" failed", "request_id", requestID(r), "err", err)
	s.errorPage(w, http.StatusInternalServerError, "server_error", "Something went wrong. Please try again.")
}

// GetAuthRequest returns a pending authorization request for the login UI;
// ErrAuthRequestNotFound when it is unknown, expired or finished.
func (s *Server) GetAuthRequest(ctx context.Context, authRequestID string) (*AuthRequest, error) {
	ar, err := s.Store.Q().GetAuthRequest(ctx, s.EnvID, authRequestID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrAuthRequestNotFound
	}
	if err != nil {
		return nil, err
	}
	return s.Usable(ar)
}

// Usable returns ar when the login can still complete it (pending and
// unexpired), else ErrAuthRequestNotFound, as GetAuthRequest judges a
// request it reads; for a request read with something else (the hosted
// login reads its flow and request in one statement). A nil ar is gone.
func (s *Server) Usable(ar *AuthRequest) (*AuthRequest, error) {
	if ar == nil || ar.Status != store.AuthRequestPending || !s.Now().Before(ar.ExpiresAt) {
		return nil, ErrAuthRequestNotFound
	}
	return ar, nil
}

// NeedsLogin reports whether the user must (re-)authenticate before the
// session can complete the request: no live session; prompt=login,
// select_account or create; max_age exceeded; an id_token_hint for
// another user; or a session for another organization than the request's
// organization_id. A session that started after the request was made
// (the user just signed in for it) satisfies prompt, max_age and the hint.
// It reads nothing: whether the user is still an active member of the
// session's organization is checked when the code is issued (complete),
// which answers ErrLoginRequired otherwise.
func (s *Server) NeedsLogin(ar *AuthRequest, ses *sessions.Session) bool {
	now := s.Now()
	if ar == nil || !sessions.Live(ses, now) {
		return true
	}
	if ar.OrganizationID != "" && ses.OrgID != ar.OrganizationID {
		return true
	}
	if !ses.AuthTime.Before(ar.CreatedAt) {
		return false // fresh for this request
	}
	for _, p := range strings.Fields(ar.Prompt) {
		if p == "login" || p == "select_account" || p == "create" {
			return true
		}
	}
	if ar.MaxAge >= 0 && now.Sub(ses.AuthTime) > time.Duration(ar.MaxAge)*time.Second {
		return true
	}
	return ar.HintSubject != "" && ar.HintSubject != ses.UserID
}

// CompleteAuthorization finishes an authorization request for a user the
// login UI has just authenticated (or whose session it accepts): it issues
// the code and redirects the browser (303) to the client with code, state
// and iss. It returns ErrAuthRequestNotFound or ErrLoginRequired (see
// NeedsLogin) without writing anything; the UI shows its own page then.
func (s *Server) CompleteAuthorization(ctx context.Context, w http.ResponseWriter, r *http.Request, authRequestID string, ses *sessions.Session) error {
	ar, err := s.GetAuthRequest(ctx, authRequestID)
	if err != nil {
		return err
	}
	target, err := s.complete(ctx, ar, ses)
	if err != nil {
		return err
	}
	redirect(w, target)
	return nil
}

// DenyAuthorization ends an authorization request with an error sent back
// to the client (for example access_denied when the user is not allowed
// into the requested organization, or cancels), with state and iss.
func (s *Server) DenyAuthorization(ctx context.Context, w http.ResponseWriter, r *http.Request, authRequestID, errorCode, description string) error {
	ar, err := s.GetAuthRequest(ctx, authRequestID)
	if err != nil {
		return err
	}
	if err := s.Store.Q().FinishAuthRequest(ctx, s.EnvID, ar.ID, store.AuthRequestDenied, "", s.Now()); errors.Is(err, store.ErrNotFound) {
		return ErrAuthRequestNotFound
	} else if err != nil {
		return err
	}
	redirect(w, s.authorizationResponse(ar.RedirectURI, url.Values{"error": {errorCode},
		"error_description": {cleanDescription(description)}}, ar.State))
	return nil
}

// complete issues the code for ar under ses and returns the redirect,
// in a transaction of its own, touching ses first (a session from the
// browser's cookie may have ended meanwhile). The user's existence and
// active membership of ses's organization are checked by the INSERT
// itself (store.CreateMemberAuthCode): the code would fail at
// /oauth/token if the user is gone or no longer an active member, so ask
// for a sign-in instead (removal ends the sessions too; this covers a
// session that started while the removal was under way).
func (s *Server) complete(ctx context.Context, ar *AuthRequest, ses *sessions.Session) (string, error) {
	code, c, err := s.newCode(ar, ses)
	if err != nil {
		return "", err
	}
	err = s.Store.Tx(ctx, func(q *store.Q) error {
		if err := q.FinishAuthRequest(ctx, s.EnvID, ar.ID, store.AuthRequestCompleted, ses.ID, c.CreatedAt); errors.Is(err, store.ErrNotFound) {
			return ErrAuthRequestNotFound
		} else if err != nil {
			return err
		}
		if err := s.Sessions.Touch(ctx, q, ses.ID); errors.Is(err, sessions.ErrNoSession) {
			return ErrLoginRequired
		} else if err != nil {
			return err
		}
		err := q.CreateMemberAuthCode(ctx, c, ses.UserID, ses.OrgID)
		if errors.Is(err, store.ErrNotFound) {
			return ErrLoginRequired
		}
		return err
	})
	if err != nil {
		return "", err
	}
	return s.codeResponse(ar, code), nil
}

// SignIn is complete for a sign-in that has just prepared its session
// (sessions.Service.Prepare, which gives w.Session and w.Event): it fills
// in w's request, code and time and writes everything at once with w's
// other rows (store.Store.WriteSignIn), so a sign-in at the hosted login
// is one write. It returns the redirect for Redirect.
// ErrAuthRequestNotFound and ErrLoginRequired mean what they mean from
// CompleteAuthorization, with nothing written.
func (s *Server) SignIn(ctx context.Context, ar *AuthRequest, w *store.SignIn) (string, error) {
	code, c, err := s.newCode(ar, w.Session)
	if err != nil {
		return "", err
	}
	w.RequestID, w.Code, w.Now = ar.ID, c, c.CreatedAt
	switch err := s.Store.WriteSignIn(ctx, w); {
	case errors.Is(err, store.ErrRequestNotPending):
		return "", ErrAuthRequestNotFound
	case errors.Is(err, store.ErrNotActiveMember):
		return "", ErrLoginRequired
	case err != nil:
		return "", err
	}
	return s.codeResponse(ar, code), nil
}

// newCode draws a code for ar under ses, and its row, issued now;
// ErrLoginRequired when ses cannot complete ar (NeedsLogin).
func (s *Server) newCode(ar *AuthRequest, ses *sessions.Session) (string, *store.AuthCode, error) {
	if s.NeedsLogin(ar, ses) {
		return "", nil, ErrLoginRequired
	}
	code, err := randomToken("")
	if err != nil {
		return "", nil, err
	}
	return code, s.authCode(code, ar, ses, s.Now()), nil
}

// authCode is the row of code, issued at now for ar under ses: bound to
// the session, the client, the redirect URI, the scope, the nonce and the
// PKCE challenge of the request.
func (s *Server) authCode(code string, ar *AuthRequest, ses *sessions.Session, now time.Time) *store.AuthCode {
	return &store.AuthCode{CodeHash: secretHash(code), EnvID: s.EnvID, SessionID: ses.ID, ClientID: ar.ClientID,
		RedirectURI: ar.RedirectURI, Scope: ar.Scope, Nonce: ar.Nonce, CodeChallenge: ar.CodeChallenge,
		CreatedAt: now, ExpiresAt: now.Add(CodeTTL)}
}

// codeResponse is the redirect that hands code to ar's client.
func (s *Server) codeResponse(ar *AuthRequest, code string) string {
	return s.authorizationResponse(ar.RedirectURI, url.Values{"code": {code}}, ar.State)
}

// Redirect sends the browser to target (303), the redirect SignIn
// returned, as CompleteAuthorization does.
func Redirect(w http.ResponseWriter, target string) { redirect(w, target) }
