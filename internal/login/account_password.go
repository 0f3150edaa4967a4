package login

import (
	"net/http"

	"github.com/gatehouse/gatehouse/internal/store"
)

// changePassword is POST /account/password: the current password is
// required (throttled like the login), the new one meets the password
// policy and is stored as argon2id, and every other session of the user
// ends (someone who knew the old password may be signed in elsewhere). A
// user without a password sets one only through the emailed link.
func (h *Handler) changePassword(w http.ResponseWriter, r *http.Request, a *account) {
	ctx := r.Context()
	if a.hash == "" {
		h.renderAccount(w, r, http.StatusBadRequest, a, "", "You have no password yet. Ask for a link to set one.")
		return
	}
	status, errMsg, err := h.verifyCurrentPassword(r, a, r.PostFormValue("current_password"))
	if err != nil {
		h.serverError(w, r, "checking a password", err)
		return
	}
	if errMsg != "" {
		h.renderAccount(w, r, status, a, "", errMsg)
		return
	}
	pw := r.PostFormValue("new_password")
	if err := h.checkNewPassword(ctx, pw, a.user.Email); err != nil {
		h.renderAccount(w, r, http.StatusBadRequest, a, "", err.Error())
		return
	}
	hash, err := h.Hashing.Hash(ctx, pw)
	if err != nil {
		h.serverError(w, r, "hashing a password", err)
		return
	}
	if err := h.Accounts.SetPasswordHash(ctx, a.user.ID, hash, false); err != nil {
		h.serverError(w, r, "setting a password", err)
		return
	}
	if _, err := h.Sessions.RevokeOthersForUser(ctx, a.user.ID, a.ses.ID); err != nil {
		h.serverError(w, r, "ending sessions", err)
		return
	}
	h.Log.InfoContext(ctx, "password changed", "user_id", a.user.ID, "ip", clientIP(r))
	seeOther(w, AccountPath+"?done=password")
}

// passwordLink is POST /account/password/link: the set-password link of
// "forgot your password?", emailed to the user's address, throttled like
// it. It is how a user who signs in with codes gets a password.
func (h *Handler) passwordLink(w http.ResponseWriter, r *http.Request, a *account) {
	ctx := r.Context()
	perEmail := check{sendBucket(normEmail(a.user.Email)), h.Limits.SendPerEmail}
	perIP := check{sendIPBucket(clientIP(r)), h.Limits.SendPerIP}
	wait, err := h.waitAny(ctx, perEmail, perIP)
	if err != nil {
		h.serverError(w, r, "reading a throttle", err)
		return
	}
	if wait > 0 {
		h.renderAccount(w, r, http.StatusTooManyRequests, a, "", "We have sent several emails recently. Try again in "+waitText(wait)+".")
		return
	}
	err = h.Store.Tx(ctx, func(q *store.Q) error {
		if err := h.queueReset(ctx, q, a.user.ID); err != nil {
			return err
		}
		return h.hitIn(ctx, q, perEmail, perIP)
	})
	if err != nil {
		h.serverError(w, r, "sending a password link", err)
		return
	}
	seeOther(w, AccountPath+"?done=password_link")
}
