package oauth

import (
	"context"
	"errors"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"connectrpc.com/connect"

	"github.com/gatehouse/gatehouse/internal/apierr"
	"github.com/gatehouse/gatehouse/internal/id"
	"github.com/gatehouse/gatehouse/internal/sessions"
	"github.com/gatehouse/gatehouse/internal/signing"
	"github.com/gatehouse/gatehouse/internal/store"
)

// errBadHint covers every reason an id_token_hint is refused.
var errBadHint = errors.New("invalid id_token_hint")

// verifyIDTokenHint checks an ID token this server issued: RS256 with one
// of our keys (the algorithm is never read from the token), typ JWT (so
// access and logout tokens are refused), our issuer, a client of ours as
// audience, and nbf/iat not in the future. An expired hint is reported
// (expired true) rather than refused: RP-Initiated Logout 1.0 section 2
// asks the OP to accept ID tokens past their exp, and the caller decides.
func (s *Server) verifyIDTokenHint(ctx context.Context, raw string) (*IDClaims, bool, error) {
	var c IDClaims
	if err := s.Keys.VerifyAs(raw, signing.TypeJWT, &c); err != nil {
		return nil, false, errBadHint
	}
	now := s.Now()
	if c.Issuer != s.Issuer || !id.HasPrefix(c.Subject, id.User) || len(c.Audience) == 0 || c.Events != nil ||
		c.Expiry == 0 || c.IssuedAt == 0 || c.IssuedAt > now.Add(skew).Unix() {
		return nil, false, errBadHint
	}
	clientID := c.Audience[0]
	if c.AuthorizedParty != "" && c.AuthorizedParty != clientID || c.ClientID != "" && c.ClientID != clientID {
		return nil, false, errBadHint
	}
	if _, err := s.client(ctx, clientID); errors.Is(err, store.ErrNotFound) {
		return nil, false, errBadHint
	} else if err != nil {
		return nil, false, err
	}
	return &c, now.Unix() >= c.Expiry, nil
}

// logout implements RP-initiated logout (OIDC RP-Initiated Logout 1.0) at
// GET and POST /oidc/logout. With a valid id_token_hint it ends the
// session the token names (and this browser's, for the same user), sends
// back-channel logout tokens, and redirects to post_logout_redirect_uri
// when that is registered for the token's client (exact match), with
// state. Every bad variant shows an error page and redirects nowhere.
// Without a hint, or with an expired one, the user confirms first: a
// same-origin POST carrying the confirmation page's CSRF token
// (logout_csrf.go, SECURITY-BAR S05).
func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	params := r.URL.Query()
	if r.Method == http.MethodPost {
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/x-www-form-urlencoded" {
			s.errorPage(w, http.StatusBadRequest, "invalid_request", "The logout request must be a form.")
			return
		}
		if err := r.ParseForm(); err != nil {
			s.errorPage(w, http.StatusBadRequest, "invalid_request", "The logout request cannot be read.")
			return
		}
		params = r.PostForm
	}
	for _, v := range params {
		if len(v) > 1 {
			s.errorPage(w, http.StatusBadRequest, "invalid_request", "A parameter of the logout request is repeated.")
			return
		}
	}
	hint, plru, state := params.Get("id_token_hint"), params.Get("post_logout_redirect_uri"), params.Get("state")
	confirmed := r.Method == http.MethodPost && params.Get("confirm") == "yes"
	if confirmed {
		if err := http.NewCrossOriginProtection().Check(r); err != nil || !validLogoutCSRF(r, params.Get("csrf")) {
			s.errorPage(w, http.StatusForbidden, "invalid_request", "The sign-out was not confirmed on this site.")
			return
		}
	}
	var claims *IDClaims
	var expired bool
	if hint != "" {
		var err error
		if claims, expired, err = s.verifyIDTokenHint(ctx, hint); errors.Is(err, errBadHint) {
			s.errorPage(w, http.StatusBadRequest, "invalid_request", "The id_token_hint is not a valid ID token of this server.")
			return
		} else if err != nil {
			s.pageServerError(w, r, "checking an id_token_hint", err)
			return
		}
		if cid := params.Get("client_id"); cid != "" && cid != claims.Audience[0] {
			s.errorPage(w, http.StatusBadRequest, "invalid_request", "The client_id does not match the id_token_hint.")
			return
		}
	}
	if plru != "" {
		if claims == nil {
			s.errorPage(w, http.StatusBadRequest, "invalid_request", "A post_logout_redirect_uri needs an id_token_hint.")
			return
		}
		c, err := s.client(ctx, claims.Audience[0])
		if err != nil {
			s.pageServerError(w, r, "reading a client", err)
			return
		}
		ok, err := s.redirects().AllowPostLogoutRedirect(ctx, c, plru)
		if err != nil {
			s.pageServerError(w, r, "checking a post-logout redirect", err)
			return
		}
		if !ok || strings.Contains(plru, "#") {
			s.errorPage(w, http.StatusBadRequest, "invalid_request", "The post_logout_redirect_uri is not registered for this application.")
			return
		}
	}
	if (claims == nil || expired) && !confirmed {
		tok, err := newLogoutCSRF(w)
		if err != nil {
			s.pageServerError(w, r, "making a CSRF token", err)
			return
		}
		form := map[string]string{"confirm": "yes", "csrf": tok}
		if claims != nil {
			form["id_token_hint"], form["post_logout_redirect_uri"], form["state"] = hint, plru, state
		}
		s.renderPage(w, http.StatusOK, page{Title: "Sign out", Message: "Do you want to sign out?", Action: s.Issuer + "/oidc/logout", Form: form})
		return
	}
	if err := s.endBrowserSessions(r, claims); err != nil {
		s.pageServerError(w, r, "ending a session", err)
		return
	}
	sessions.ClearCookie(w)
	if confirmed {
		clearLogoutCSRF(w)
	}
	if plru != "" {
		v := url.Values{}
		if state != "" {
			v.Set("state", state)
		}
		target := plru
		if len(v) > 0 {
			sep := "?"
			if strings.Contains(plru, "?") {
				sep = "&"
			}
			target += sep + v.Encode()
		}
		redirect(w, target)
		return
	}
	s.renderPage(w, http.StatusOK, page{Title: "You are signed out"})
}

// endBrowserSessions ends the session an ID token names (if it is that
// user's) and this browser's session (when it is the same user, or when
// there is no hint at all).
func (s *Server) endBrowserSessions(r *http.Request, hint *IDClaims) error {
	ctx := r.Context()
	var ids []string
	if hint != nil && hint.SessionID != "" {
		ses, err := s.Sessions.Get(ctx, hint.SessionID)
		if err == nil && ses.UserID == hint.Subject {
			ids = append(ids, ses.ID)
		} else if err != nil && !isNotFound(err) {
			return err
		}
	}
	cur, err := s.Sessions.FromRequest(r)
	if err != nil && !errors.Is(err, sessions.ErrNoSession) {
		return err
	}
	if cur != nil && (hint == nil || cur.UserID == hint.Subject) && !slices.Contains(ids, cur.ID) {
		ids = append(ids, cur.ID)
	}
	for _, sid := range ids {
		if _, err := s.Sessions.Revoke(ctx, sid, sessions.ReasonLogout); err != nil && !isNotFound(err) {
			return err
		}
	}
	return nil
}

func isNotFound(err error) bool {
	var ae *apierr.Error
	return errors.Is(err, store.ErrNotFound) || errors.As(err, &ae) && ae.Code == connect.CodeNotFound
}

// BackChannelLogoutEvent is the events member of a logout token.
const BackChannelLogoutEvent = "http://schemas.openid.net/event/backchannel-logout"

// backChannelTimeout bounds each logout-token delivery.
const backChannelTimeout = 5 * time.Second

// LogoutClaims are the claims of a back-channel logout token (OIDC
// Back-Channel Logout 1.0 section 2.4): no nonce, an events claim.
type LogoutClaims struct {
	Issuer    string         `json:"iss"`
	Subject   string         `json:"sub"`
	Audience  []string       `json:"aud"`
	IssuedAt  int64          `json:"iat"`
	Expiry    int64          `json:"exp"`
	ID        string         `json:"jti"`
	SessionID string         `json:"sid"`
	Events    map[string]any `json:"events"`
}

// BackChannelLogout posts a logout token to the back-channel logout URL of
// every client that received tokens under the ended sessions. It returns
// at once: delivery runs in the background with a short timeout, so a slow
// or dead client never holds up the user. The sessions package calls it
// whenever sessions end. A session that comes with its ClientIDs (not nil)
// is taken as it is: it may be gone from the database already, deleted
// with its user or organization.
func (s *Server) BackChannelLogout(ctx context.Context, ended []*sessions.Session) {
	ctx = context.WithoutCancel(ctx)
	s.background.Add(1)
	go func() {
		defer s.background.Done()
		for _, e := range ended {
			ses := e
			if ses.ClientIDs == nil {
				var err error
				if ses, err = s.Store.Q().GetSessionDetails(ctx, s.EnvID, e.ID); err != nil {
					s.Log.WarnContext(ctx, "back-channel logout: reading the session failed", "session_id", e.ID, "err", err)
					continue
				}
			}
			for _, cid := range ses.ClientIDs {
				s.sendLogoutToken(ctx, ses, cid)
			}
		}
	}()
}

// WaitBackground waits for background deliveries to finish (for shutdown
// and tests).
func (s *Server) WaitBackground() { s.background.Wait() }

func (s *Server) sendLogoutToken(ctx context.Context, ses *sessions.Session, clientID string) {
	c, err := s.client(ctx, clientID)
	if err != nil {
		return
	}
	target, err := s.redirects().BackChannelLogoutURI(ctx, c)
	if err != nil || target == "" {
		return
	}
	now := s.Now()
	tok, err := s.Keys.SignAs(signing.TypeLogoutToken, LogoutClaims{Issuer: s.Issuer, Subject: ses.UserID, Audience: []string{clientID},
		IssuedAt: now.Unix(), Expiry: now.Add(2 * time.Minute).Unix(), ID: s.IDs.New(id.Token), SessionID: ses.ID,
		Events: map[string]any{BackChannelLogoutEvent: map[string]any{}}})
	if err != nil {
		s.Log.ErrorContext(ctx, "back-channel logout: signing failed", "err", err)
		return
	}
	ctx, cancel := context.WithTimeout(ctx, backChannelTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, strings.NewReader(url.Values{"logout_token": {tok}}.Encode()))
	if err != nil {
		s.Log.WarnContext(ctx, "back-channel logout: bad URL", "client_id", clientID, "err", err)
		return
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := s.backChannelClient().Do(req)
	if err != nil {
		s.Log.WarnContext(ctx, "back-channel logout: delivery failed", "client_id", clientID, "err", err)
		return
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusNoContent {
		s.Log.WarnContext(ctx, "back-channel logout: client refused the token", "client_id", clientID, "status", resp.StatusCode)
	}
}

func (s *Server) backChannelClient() *http.Client {
	if s.HTTPClient != nil {
		return s.HTTPClient
	}
	return &http.Client{Timeout: backChannelTimeout, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse // never follow a redirect to somewhere not registered
	}}
}
