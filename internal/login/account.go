package login

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"

	"github.com/gatehouse/gatehouse/internal/passwords"
	"github.com/gatehouse/gatehouse/internal/sessions"
	"github.com/gatehouse/gatehouse/internal/store"
)

// The account page (/account) is where a signed-in user changes their
// password and email and signs out their other sessions (SECURITY-BAR
// A12). It is reached with the browser session the login sets
// (__Host-gatehouse_session); there is no other way in. Every form is
// checked like the login forms (S05): http.CrossOriginProtection, plus a
// token bound to the session (an HMAC of its id under the server's code
// key, so it needs no storage and dies with the session), compared in
// constant time. Each change asks for proof again: the current password,
// or an emailed code for a user who has none.

// AccountPath is the account page.
const AccountPath = "/account"

// account is the signed-in user as an account request sees them.
type account struct {
	ses  *sessions.Session
	user *store.User
	csrf string
	// hash is the stored password hash; "" when the user has none.
	hash string
}

// mountAccount registers the account routes.
func (h *Handler) mountAccount(mux *http.ServeMux) {
	mux.HandleFunc("GET "+AccountPath, h.accountPage)
	for path, fn := range map[string]func(http.ResponseWriter, *http.Request, *account){
		"/account/password":       h.changePassword,
		"/account/password/link":  h.passwordLink,
		"/account/email":          h.changeEmail,
		"/account/email/reauth":   h.sendReauthCode,
		"/account/email/confirm":  h.confirmEmail,
		"/account/sessions/other": h.signOutOthers,
	} {
		mux.Handle("POST "+path, h.cop.Handler(h.accountForm(fn)))
	}
}

// accountCSRF is the CSRF token of a session's account forms.
func (h *Handler) accountCSRF(sessionID string) string {
	m := hmac.New(sha256.New, h.CodeKey)
	m.Write([]byte("account csrf:" + sessionID))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// loadAccount returns the signed-in user of the request, or nil when the
// browser has no live session (or its user is gone).
func (h *Handler) loadAccount(r *http.Request) (*account, error) {
	ses, err := h.Sessions.FromRequest(r)
	if errors.Is(err, sessions.ErrNoSession) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	u, err := h.flowUserByID(r.Context(), ses.UserID)
	if err != nil || u == nil {
		return nil, err
	}
	hash, err := h.Accounts.PasswordHash(r.Context(), u.ID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	return &account{ses: ses, user: u, csrf: h.accountCSRF(ses.ID), hash: hash}, nil
}

// accountForm checks an account POST before fn sees it: a bounded body, a
// live session in this browser and its CSRF token. No session is a page
// saying to sign in; a bad token is 403.
func (h *Handler) accountForm(fn func(http.ResponseWriter, *http.Request, *account)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		if err := r.ParseForm(); err != nil {
			h.message(w, r, http.StatusBadRequest, nil, msg{Heading: "Something went wrong", Message: "The form could not be read. Please try again."})
			return
		}
		a, err := h.loadAccount(r)
		if err != nil {
			h.serverError(w, r, "reading the session", err)
			return
		}
		if a == nil || !equalSecret(r.PostFormValue("csrf"), a.csrf) {
			h.message(w, r, http.StatusForbidden, nil, msg{Heading: "This page has expired",
				Message: "For your security, the form could not be accepted. Open your account page again.",
				LinkURL: AccountPath, LinkText: "Open your account"})
			return
		}
		fn(w, r, a)
	})
}

// signInFirst answers an account request without a live session.
func (h *Handler) signInFirst(w http.ResponseWriter, r *http.Request) {
	h.message(w, r, http.StatusUnauthorized, nil, msg{Heading: "Sign in first",
		Message: "Your account page needs you to be signed in. Sign in, then open it again.", LinkURL: "/login", LinkText: "Sign in"})
}

// accountNotices are what the page says after a change (?done=...). Only
// these fixed texts are shown, never text from the request.
var accountNotices = map[string]string{
	"password":      "Your password is changed. Your other sessions have been signed out.",
	"password_link": "We have emailed you a link to set a password. It works once, for 30 minutes.",
	"reauth_sent":   "We have emailed a 6-digit code to your current address. Enter it with your new address below.",
	"email_sent":    "We have emailed a 6-digit code to the new address. Enter it below to confirm the change.",
	"email":         "Your email address is changed.",
	"others":        "Every other session has been signed out.",
}

// accountPage is GET /account.
func (h *Handler) accountPage(w http.ResponseWriter, r *http.Request) {
	a, err := h.loadAccount(r)
	if err != nil {
		h.serverError(w, r, "reading the session", err)
		return
	}
	if a == nil {
		h.signInFirst(w, r)
		return
	}
	h.renderAccount(w, r, http.StatusOK, a, accountNotices[r.URL.Query().Get("done")], "")
}

// verifyCurrentPassword checks the current password of a signed-in user,
// throttled and counted like a password at the login (SECURITY-BAR A01):
// it returns the page's error, or "" when the password is right.
func (h *Handler) verifyCurrentPassword(r *http.Request, a *account, pw string) (status int, errMsg string, err error) {
	ctx := r.Context()
	acct, perIP := check{passwordBucket(normEmail(a.user.Email)), h.Limits.PasswordPerAccount}, check{failIPBucket(clientIP(r)), h.Limits.FailuresPerIP}
	wait, err := h.waitAny(ctx, acct, perIP)
	if err != nil {
		return 0, "", err
	}
	if wait > 0 {
		return http.StatusTooManyRequests, "Too many attempts. Wait " + waitText(wait) + " before trying again.", nil
	}
	ok := false
	if a.hash != "" {
		ok, _, err = h.Hashing.Verify(ctx, a.hash, pw)
		if err != nil && !errors.Is(err, passwords.ErrPasswordTooLong) {
			h.Log.WarnContext(ctx, "a stored password hash cannot be used", "user_id", a.user.ID, "err", err)
		}
	} else {
		h.Hashing.DummyVerify(ctx, pw)
	}
	if !ok {
		if err := h.hit(ctx, acct, perIP); err != nil {
			return 0, "", err
		}
		h.Log.InfoContext(ctx, "account re-authentication failed", "user_id", a.user.ID, "ip", clientIP(r))
		return http.StatusBadRequest, "Your current password is not right.", nil
	}
	return 0, "", h.clear(ctx, acct.bucket)
}

// signOutOthers is POST /account/sessions/other: every other session of
// the user ends, with its refresh and access tokens.
func (h *Handler) signOutOthers(w http.ResponseWriter, r *http.Request, a *account) {
	ended, err := h.Sessions.RevokeOthersForUser(r.Context(), a.user.ID, a.ses.ID)
	if err != nil {
		h.serverError(w, r, "ending sessions", err)
		return
	}
	h.Log.InfoContext(r.Context(), "other sessions signed out", "user_id", a.user.ID, "sessions", len(ended), "ip", clientIP(r))
	seeOther(w, AccountPath+"?done=others")
}
