package login

import (
	"context"
	"crypto/hmac"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"connectrpc.com/connect"

	"github.com/gatehouse/gatehouse/internal/accounts"
	"github.com/gatehouse/gatehouse/internal/apierr"
	"github.com/gatehouse/gatehouse/internal/id"
	"github.com/gatehouse/gatehouse/internal/store"
)

// Changing an email (SECURITY-BAR A12) takes three proofs: the user is
// signed in, proves it is them again (the current password, or a fresh
// code emailed to the current address when they have no password), and
// proves they read the new address (a 6-digit code sent there). Only then
// does the address change, verified. The codes are login challenges bound
// to the session instead of a login flow (flow_id "reauth:<session>" and
// "email:<session>"), with the login's rules: CodeTTL, MaxCodeTries,
// single use, a new one ends the old, throttled sending and guessing.
//
// An address that belongs to another account gets exactly the same page
// as a free one (no enumeration); the owner of that address is emailed a
// notice instead of a code, so the change can never be confirmed.

func reauthFlowID(sessionID string) string { return "reauth:" + sessionID }
func emailFlowID(sessionID string) string  { return "email:" + sessionID }

// accountChallenge stores a new code for a session's account step and
// queues its email (made by mailFor from the code; nil mails nothing),
// throttled per address and per IP like the login's codes. It returns the
// page's error when the sending is throttled.
func (h *Handler) accountChallenge(ctx context.Context, r *http.Request, flowID, to string, mailFor func(code string) *store.Email) (string, error) {
	norm := normEmail(to)
	perEmail, perIP := check{sendBucket(norm), h.Limits.SendPerEmail}, check{sendIPBucket(clientIP(r)), h.Limits.SendPerIP}
	wait, err := h.waitAny(ctx, perEmail, perIP)
	if err != nil || wait > 0 {
		return "We have sent several emails recently. Try again in " + waitText(wait) + ".", err
	}
	now := h.Now()
	code := newCode()
	c := &store.LoginChallenge{ID: h.IDs.New("lch"), EnvID: h.EnvID, FlowID: flowID, EmailNorm: norm,
		LinkHash: hashSecret(randomToken(32)), CreatedAt: now, ExpiresAt: now.Add(CodeTTL)}
	c.CodeHash = h.codeHash(c.ID, code)
	return "", h.Store.Tx(ctx, func(q *store.Q) error {
		if err := q.CreateLoginChallenge(ctx, c); err != nil {
			return err
		}
		if m := mailFor(code); m != nil {
			m.ID, m.EnvID, m.To, m.CreatedAt = h.IDs.New(id.Email), h.EnvID, to, now
			if err := q.AddEmail(ctx, m); err != nil {
				return err
			}
		}
		return h.hitIn(ctx, q, perEmail, perIP)
	})
}

// liveAccountChallenge is the newest usable challenge of a session's
// account step, or nil.
func (h *Handler) liveAccountChallenge(ctx context.Context, flowID string) (*store.LoginChallenge, error) {
	c, err := h.Store.Q().LatestLoginChallenge(ctx, h.EnvID, flowID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil || !h.live(c) {
		return nil, err
	}
	return c, nil
}

// useAccountCode checks a typed code against the newest challenge of
// flowID and uses it. Wrong codes count against the challenge (five end
// it), the user's account and the IP, as at the login (A08, A09). It
// returns the challenge, or the page's status and error.
func (h *Handler) useAccountCode(r *http.Request, a *account, flowID, typed string) (*store.LoginChallenge, int, string, error) {
	ctx := r.Context()
	acct, perIP := check{codeBucket(normEmail(a.user.Email)), h.Limits.CodePerAccount}, check{failIPBucket(clientIP(r)), h.Limits.FailuresPerIP}
	wait, err := h.waitAny(ctx, acct, perIP)
	if err != nil {
		return nil, 0, "", err
	}
	if wait > 0 {
		return nil, http.StatusTooManyRequests, "Too many wrong codes. Try again in " + waitText(wait) + ".", nil
	}
	const dead = "This code has expired or can no longer be used. Ask for a new code."
	c, err := h.liveAccountChallenge(ctx, flowID)
	if err != nil {
		return nil, 0, "", err
	}
	if c == nil {
		return nil, http.StatusBadRequest, dead, nil
	}
	code := strings.ReplaceAll(strings.TrimSpace(typed), " ", "")
	if len(code) != 6 || !hmac.Equal([]byte(h.codeHash(c.ID, code)), []byte(c.CodeHash)) {
		n, err := h.Store.Q().FailLoginChallenge(ctx, h.EnvID, c.ID)
		if err == nil {
			err = h.hit(ctx, acct, perIP)
		}
		if err != nil {
			return nil, 0, "", err
		}
		if n >= MaxCodeTries {
			return nil, http.StatusBadRequest, "That code is not right, and it can no longer be used. Ask for a new code.", nil
		}
		return nil, http.StatusBadRequest, "That code is not right. Check the email and try again.", nil
	}
	if err := h.Store.Q().UseLoginChallenge(ctx, h.EnvID, c.ID, h.Now(), MaxCodeTries); errors.Is(err, store.ErrNotFound) {
		return nil, http.StatusBadRequest, dead, nil
	} else if err != nil {
		return nil, 0, "", err
	}
	return c, 0, "", h.clear(ctx, acct.bucket)
}

// sendReauthCode is POST /account/email/reauth: a code to the current
// address, the re-authentication of a user without a password.
func (h *Handler) sendReauthCode(w http.ResponseWriter, r *http.Request, a *account) {
	errMsg, err := h.accountChallenge(r.Context(), r, reauthFlowID(a.ses.ID), a.user.Email, func(code string) *store.Email {
		return &store.Email{Kind: "reauth_code", Subject: "Your code to change your email",
			Body: fmt.Sprintf("Your code is %s\n\nEnter it on your account page to change the email address of your account. It expires in 10 minutes.\n\nIf you did not ask for this, someone may be signed in to your account: sign out everywhere from your account page and change your password.\n", code)}
	})
	if err != nil {
		h.serverError(w, r, "sending a code", err)
		return
	}
	if errMsg != "" {
		h.renderAccount(w, r, http.StatusTooManyRequests, a, "", errMsg)
		return
	}
	seeOther(w, AccountPath+"?done=reauth_sent")
}

// changeEmail is POST /account/email: re-authentication, then a code to
// the new address (or, when another account has it, a notice there and
// the same answer here).
func (h *Handler) changeEmail(w http.ResponseWriter, r *http.Request, a *account) {
	ctx := r.Context()
	var v apierr.Violations
	email, norm := accounts.NormalizeEmail(&v, "new_email", r.PostFormValue("new_email"))
	switch {
	case len(v) > 0:
		h.renderAccount(w, r, http.StatusBadRequest, a, "", "Enter a valid email address, like name@example.com.")
		return
	case norm == normEmail(a.user.Email):
		h.renderAccount(w, r, http.StatusBadRequest, a, "", "That is already your email address.")
		return
	}
	var status int
	var errMsg string
	var err error
	if a.hash != "" {
		status, errMsg, err = h.verifyCurrentPassword(r, a, r.PostFormValue("current_password"))
	} else {
		_, status, errMsg, err = h.useAccountCode(r, a, reauthFlowID(a.ses.ID), r.PostFormValue("reauth_code"))
	}
	if err != nil {
		h.serverError(w, r, "re-authenticating", err)
		return
	}
	if errMsg != "" {
		h.renderAccount(w, r, status, a, "", errMsg)
		return
	}
	owner, _, err := h.Store.Q().LoginLookup(ctx, h.EnvID, norm)
	if err != nil {
		h.serverError(w, r, "looking up a user", err)
		return
	}
	errMsg, err = h.accountChallenge(ctx, r, emailFlowID(a.ses.ID), email, func(code string) *store.Email {
		if owner != "" {
			return &store.Email{Kind: "email_change_taken", Subject: "Someone tried to use your email address",
				Body: fmt.Sprintf("Someone asked to move another account to %s. This address already has an account, so nothing has changed.\n\nIf this was you, sign in with this address instead. Otherwise you can ignore this email.\n", email)}
		}
		return &store.Email{Kind: "email_change_code", Subject: "Confirm your new email address",
			Body: fmt.Sprintf("Your code is %s\n\nEnter it on your account page to make this your account's email address. It expires in 10 minutes.\n\nIf you did not ask for this, you can ignore this email.\n", code)}
	})
	if err != nil {
		h.serverError(w, r, "sending a code", err)
		return
	}
	if errMsg != "" {
		h.renderAccount(w, r, http.StatusTooManyRequests, a, "", errMsg)
		return
	}
	seeOther(w, AccountPath+"?done=email_sent")
}

// confirmEmail is POST /account/email/confirm: the code sent to the new
// address changes the email, verified, and the old address is told.
func (h *Handler) confirmEmail(w http.ResponseWriter, r *http.Request, a *account) {
	ctx := r.Context()
	c, status, errMsg, err := h.useAccountCode(r, a, emailFlowID(a.ses.ID), r.PostFormValue("code"))
	if err != nil {
		h.serverError(w, r, "checking a code", err)
		return
	}
	if errMsg != "" {
		h.renderAccount(w, r, status, a, "", errMsg)
		return
	}
	old := a.user.Email
	u, err := h.Accounts.ChangeEmail(ctx, a.user.ID, c.EmailNorm)
	if apiCode(err) == connect.CodeAlreadyExists {
		// Taken since the code was sent: the code proved nothing usable.
		h.renderAccount(w, r, http.StatusBadRequest, a, "", "This code has expired or can no longer be used. Ask for a new code.")
		return
	} else if err != nil {
		h.serverError(w, r, "changing an email", err)
		return
	}
	notice := &store.Email{ID: h.IDs.New(id.Email), EnvID: h.EnvID, To: old, Kind: "email_changed", CreatedAt: h.Now(),
		Subject: "Your email address was changed",
		Body:    fmt.Sprintf("The email address of your account was changed from %s to %s.\n\nIf you did not do this, contact your administrator at once.\n", old, u.Email)}
	if err := h.Store.Q().AddEmail(ctx, notice); err != nil {
		h.Log.WarnContext(ctx, "queueing the email-changed notice failed", "user_id", u.ID, "err", err)
	}
	h.Log.InfoContext(ctx, "email changed", "user_id", u.ID, "ip", clientIP(r))
	seeOther(w, AccountPath+"?done=email")
}
