package login

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/gatehouse/gatehouse/internal/accounts"
	"github.com/gatehouse/gatehouse/internal/apierr"
	"github.com/gatehouse/gatehouse/internal/id"
	"github.com/gatehouse/gatehouse/internal/store"
)

// Setting and resetting a password is one mechanism: "forgot your
// password?" emails a single-use link (ResetTTL), and the link's page sets
// the new password. The answer to the request is the same whether the
// account exists (SECURITY-BAR A02); the link is built on the public URL
// (A11); using it revokes every session of the user (A12).

// ensureFlow returns this browser's flow, starting one without an
// authorization request when there is none, so that every form has a
// CSRF token.
func (h *Handler) ensureFlow(w http.ResponseWriter, r *http.Request) (*flow, error) {
	f, err := h.loadFlow(r)
	if errors.Is(err, errNoFlow) {
		return h.newFlow(r.Context(), w, "", flowData{Step: stepEmail})
	}
	return f, err
}

// forgotPage is GET /login/forgot.
func (h *Handler) forgotPage(w http.ResponseWriter, r *http.Request) {
	f, err := h.ensureFlow(w, r)
	if err != nil {
		h.serverError(w, r, "starting a login flow", err)
		return
	}
	h.renderForgot(w, r, http.StatusOK, f, f.d.Email, "")
}

// forgot is POST /login/forgot.
func (h *Handler) forgot(w http.ResponseWriter, r *http.Request, f *flow) {
	ctx := r.Context()
	var v apierr.Violations
	email, norm := accounts.NormalizeEmail(&v, "email", r.PostFormValue("email"))
	if len(v) > 0 {
		h.renderForgot(w, r, http.StatusBadRequest, f, email, "Enter a valid email address, like name@example.com.")
		return
	}
	ip := clientIP(r)
	perEmail, perIP := check{sendBucket(norm), h.Limits.SendPerEmail}, check{sendIPBucket(ip), h.Limits.SendPerIP}
	wait, err := h.waitAny(ctx, perEmail, perIP)
	if err != nil {
		h.serverError(w, r, "reading a throttle", err)
		return
	}
	if wait > 0 {
		h.message(w, r, http.StatusOK, f, forgotAnswer(email, h.mailFailing(ctx), flowURL(f)))
		return
	}
	// The answer waits only for the throttle counters, the same for every
	// email. Whether an account exists is found out after the answer has
	// gone (A03), and the link is emailed from there.
	if err := h.hit(ctx, perEmail, perIP); err != nil {
		h.serverError(w, r, "counting a password link request", err)
		return
	}
	start := h.later(ctx, "sending a password link", func(ctx context.Context) error {
		userID, _, err := h.Store.Q().LoginLookup(ctx, h.EnvID, norm)
		if err != nil || userID == "" {
			return err
		}
		return h.Store.Tx(ctx, func(q *store.Q) error { return h.queueReset(ctx, q, userID) })
	})
	h.message(w, r, http.StatusOK, f, forgotAnswer(email, h.mailFailing(ctx), flowURL(f)))
	_ = http.NewResponseController(w).Flush()
	start()
}

// forgotAnswer is the page after "forgot your password?": the same for
// every address (A02), and, while the mail server is failing, saying that
// the email will be late (mailhealth.go).
func forgotAnswer(email string, mailFailing bool, back string) msg {
	m := msg{Heading: "Check your email",
		Message: "If an account exists for " + email + ", we have emailed it a link to set a new password. The link works once, for 30 minutes.",
		LinkURL: back, LinkText: "Back to sign in"}
	if mailFailing {
		m.Alert = mailTroubleLink
		m.Message = "If an account exists for " + email + ", we will email it a link to set a new password as soon as we can. The link works once, for 30 minutes."
	}
	return m
}

// queueReset stores a reset token for a user and queues its email, in q's
// transaction.
func (h *Handler) queueReset(ctx context.Context, q *store.Q, userID string) error {
	u, err := q.GetUser(ctx, h.EnvID, userID)
	if err != nil {
		return err
	}
	now := h.Now()
	token := randomToken(32)
	link := h.PublicURL + "/login/reset?" + url.Values{"token": {token}}.Encode()
	if err := q.CreatePasswordReset(ctx, &store.PasswordReset{TokenHash: hashSecret(token), EnvID: h.EnvID, UserID: u.ID,
		CreatedAt: now, ExpiresAt: now.Add(ResetTTL)}); err != nil {
		return err
	}
	return q.AddEmail(ctx, &store.Email{ID: h.IDs.New(id.Email), EnvID: h.EnvID, To: u.Email, Kind: "password_reset",
		Subject: "Set your password", CreatedAt: now,
		Body: fmt.Sprintf("Someone (we hope you) asked to set a new password for %s.\n\nChoose it here (the link works once, for 30 minutes):\n%s\n\nIf you did not ask for this, you can ignore this email; your password has not changed.\n", u.Email, link)})
}

// resetUser finds the user of a reset token that is still usable.
func (h *Handler) resetUser(r *http.Request, token string) (*store.User, error) {
	if len(token) != linkTokenLen {
		return nil, store.ErrNotFound
	}
	pr, err := h.Store.Q().PasswordResetByToken(r.Context(), h.EnvID, hashSecret(token), h.Now())
	if err != nil {
		return nil, err
	}
	u, err := h.Accounts.GetUser(r.Context(), accounts.Ref{ID: pr.UserID})
	if apiCode(err) != 0 {
		return nil, store.ErrNotFound
	}
	return u, err
}

var resetExpired = msg{Heading: "This link has expired",
	Message: "Links to set a password work once, for 30 minutes. Ask for a new one.", LinkURL: "/login/forgot", LinkText: "Ask for a new link"}

// resetPage is GET /login/reset?token=...: the new-password form. It does
// not use the token.
func (h *Handler) resetPage(w http.ResponseWriter, r *http.Request) {
	token := r.URL.Query().Get("token")
	u, err := h.resetUser(r, token)
	if errors.Is(err, store.ErrNotFound) {
		h.message(w, r, http.StatusBadRequest, nil, resetExpired)
		return
	} else if err != nil {
		h.serverError(w, r, "reading a password link", err)
		return
	}
	f, err := h.ensureFlow(w, r)
	if err != nil {
		h.serverError(w, r, "starting a login flow", err)
		return
	}
	h.renderReset(w, r, http.StatusOK, f, u.Email, token, "")
}

// reset is POST /login/reset: checks the policy, then uses the token and
// stores the new hash in one transaction, and revokes every session.
func (h *Handler) reset(w http.ResponseWriter, r *http.Request, f *flow) {
	ctx := r.Context()
	token, pw := r.PostFormValue("token"), r.PostFormValue("new_password")
	u, err := h.resetUser(r, token)
	if errors.Is(err, store.ErrNotFound) {
		h.message(w, r, http.StatusBadRequest, f, resetExpired)
		return
	} else if err != nil {
		h.serverError(w, r, "reading a password link", err)
		return
	}
	if err := h.checkNewPassword(ctx, pw, u.Email); err != nil {
		h.renderReset(w, r, http.StatusBadRequest, f, u.Email, token, err.Error())
		return
	}
	hash, err := h.Hashing.Hash(ctx, pw)
	if err != nil {
		h.serverError(w, r, "hashing a password", err)
		return
	}
	if _, err := h.Accounts.ResetPassword(ctx, hashSecret(token), hash); errors.Is(err, store.ErrNotFound) {
		h.message(w, r, http.StatusBadRequest, f, resetExpired)
		return
	} else if err != nil {
		h.serverError(w, r, "setting a password", err)
		return
	}
	if _, err := h.Sessions.RevokeAllForUser(ctx, u.ID); err != nil {
		h.serverError(w, r, "ending sessions", err)
		return
	}
	if err := h.clear(ctx, passwordBucket(normEmail(u.Email))); err != nil {
		h.serverError(w, r, "resetting a throttle", err)
		return
	}
	h.Log.InfoContext(ctx, "password reset", "user_id", u.ID, "ip", clientIP(r))
	// Back to the sign-in this browser was in, at the password step.
	if f.d.UserID == "" {
		f.d.Step, f.d.Email, f.d.Signup = stepPassword, u.Email, false
		if err := h.save(ctx, f); err != nil {
			h.serverError(w, r, "saving a login flow", err)
			return
		}
	}
	h.message(w, r, http.StatusOK, f, msg{Heading: "Your password is set",
		Message: "Every session of your account has been signed out. Sign in with your new password.",
		LinkURL: flowURL(f), LinkText: "Continue to sign in"})
}
