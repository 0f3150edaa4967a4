package login

import (
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/gatehouse/gatehouse/internal/accounts"
	"github.com/gatehouse/gatehouse/internal/apierr"
	"github.com/gatehouse/gatehouse/internal/oauth"
	"github.com/gatehouse/gatehouse/internal/sessions"
)

// start is GET /login: it shows the current step of this browser's flow
// for the authorization request, starting a flow when there is none.
// Without auth_request it is a sign-in at Gatehouse itself (an invitation
// link carries organization_id and login_hint).
func (h *Handler) start(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	q := r.URL.Query()
	arID := q.Get("auth_request")
	var ar *oauth.AuthRequest
	if arID != "" {
		var err error
		ar, err = h.OAuth.GetAuthRequest(ctx, arID)
		if errors.Is(err, oauth.ErrAuthRequestNotFound) {
			h.message(w, r, http.StatusBadRequest, nil, msg{Heading: "This sign-in link has expired",
				Message: "Go back to the application and sign in again."})
			return
		} else if err != nil {
			h.serverError(w, r, "reading an authorization request", err)
			return
		}
		// A live session that satisfies the request (a reload after an
		// earlier sign-in, or single sign-on): no page at all.
		ses, err := h.Sessions.FromRequest(r)
		if err != nil && !errors.Is(err, sessions.ErrNoSession) {
			h.serverError(w, r, "reading the session", err)
			return
		}
		if ses != nil && !h.OAuth.NeedsLogin(ar, ses) {
			err := h.OAuth.CompleteAuthorization(ctx, w, r, arID, ses)
			if err == nil {
				return
			}
			if !errors.Is(err, oauth.ErrLoginRequired) && !errors.Is(err, oauth.ErrAuthRequestNotFound) {
				h.serverError(w, r, "completing an authorization request", err)
				return
			}
		}
	}
	f, err := h.loadFlow(r)
	if err != nil && !errors.Is(err, errNoFlow) {
		h.serverError(w, r, "reading a login flow", err)
		return
	}
	hintOrg, hintEmail := q.Get("organization_id"), q.Get("login_hint")
	reuse := f != nil && f.row.AuthRequestID == arID &&
		(ar != nil || (hintOrg == "" || hintOrg == f.d.OrgHint) && (hintEmail == "" || hintEmail == f.d.LoginHint))
	if !reuse {
		d := flowData{Step: stepEmail}
		if ar != nil {
			d.Email = ar.LoginHint
			d.Signup = h.SignupAllowed && slices.Contains(strings.Fields(ar.Prompt), "create")
		} else {
			d.OrgHint, d.LoginHint, d.Email = hintOrg, hintEmail, hintEmail
		}
		if len(d.Email) > 320 {
			d.Email = ""
		}
		if f, err = h.newFlow(ctx, w, arID, d); err != nil {
			h.serverError(w, r, "starting a login flow", err)
			return
		}
		f.ar, f.arRead = ar, true // read above: the page need not read it again
	}
	if f.d.Step == stepEmail && h.SignupAllowed {
		switch q.Get("screen") {
		case "signup":
			f.d.Signup = true
		case "signin":
			f.d.Signup = false
		}
	}
	h.show(w, r, f)
}

// show renders the flow's current step, once with its notice.
func (h *Handler) show(w http.ResponseWriter, r *http.Request, f *flow) {
	notice := f.d.Notice
	if notice != "" {
		f.d.Notice = ""
		if err := h.save(r.Context(), f); err != nil {
			h.serverError(w, r, "saving a login flow", err)
			return
		}
		f.d.Notice = notice
	}
	switch f.d.Step {
	case stepPassword:
		h.renderPassword(w, r, http.StatusOK, f, "")
	case stepCode:
		h.renderCode(w, r, http.StatusOK, f, "")
	case stepSignup:
		h.renderSignup(w, r, http.StatusOK, f, "", "", "", "")
	case stepOrganization:
		h.showOrganizations(w, r, f, http.StatusOK, "")
	default:
		h.renderEmail(w, r, http.StatusOK, f, "")
	}
}

// email is POST /login/email: the first step. To sign in, every email (an
// account with a password, one without, an unknown one) gets the same
// answer: a redirect to the password step, whose page also takes an
// emailed code (SECURITY-BAR A02). What differs is only whether a code and
// magic link are emailed at once (autoCode), and that is stored and queued
// after the answer has gone; before it, every email costs the same: one
// lookup and the same counters (A03). Asking to sign up always sends a
// code and shows the code step, so the sign-up form tells nothing either.
func (h *Handler) email(w http.ResponseWriter, r *http.Request, f *flow) {
	ctx := r.Context()
	if f.d.UserID != "" || f.d.Step == stepSignup {
		seeOther(w, flowURL(f))
		return
	}
	var v apierr.Violations
	email, norm := accounts.NormalizeEmail(&v, "email", r.PostFormValue("email"))
	f.d.Signup = h.SignupAllowed && r.PostFormValue("intent") == "signup"
	if len(v) > 0 {
		f.d.Email = email
		h.renderEmail(w, r, http.StatusBadRequest, f, "Enter a valid email address, like name@example.com.")
		return
	}
	ip := clientIP(r)
	if wait, err := h.wait(ctx, lookupIPBucket(ip), h.Limits.LookupsPerIP); err != nil {
		h.serverError(w, r, "reading a throttle", err)
		return
	} else if wait > 0 {
		f.d.Email = email
		h.renderEmail(w, r, http.StatusTooManyRequests, f, "Too many attempts from your network. Try again in "+waitText(wait)+".")
		return
	}
	if err := h.hit(ctx, check{lookupIPBucket(ip), h.Limits.LookupsPerIP}); err != nil {
		h.serverError(w, r, "counting an attempt", err)
		return
	}
	userID, hash, err := h.Store.Q().LoginLookup(ctx, h.EnvID, norm)
	if err != nil {
		h.serverError(w, r, "looking up a user", err)
		return
	}
	f.d.Email = email
	if f.d.Signup {
		h.sendAndShowCode(w, r, f, userID != "")
		return
	}
	h.toPasswordStep(w, r, f, userID, h.autoCode(r, userID, hash))
}

// autoCode reports whether the email step emails a code and magic link
// without being asked: to an account without a password, and to an
// unknown email when sign-up is allowed. A user lazy migration can check
// a legacy password for is treated as one with a password. It asks the
// same things (the legacy settings included) for every email.
func (h *Handler) autoCode(r *http.Request, userID, hash string) bool {
	legacy := h.offersLegacyPassword(r, userID)
	return hash == "" && !legacy && (userID != "" || h.SignupAllowed)
}

// toPasswordStep ends the email step of a sign-in: it counts a code
// request for every email (sendChallenge; so that the limits' notice, when
// reached, is the same for every email too), moves the flow to the
// password step and answers; then, when auto is set and the limits allow,
// the challenge is stored and its email queued.
func (h *Handler) toPasswordStep(w http.ResponseWriter, r *http.Request, f *flow, userID string, auto bool) {
	ctx := r.Context()
	notice, send, err := h.sendChallenge(ctx, f, userID != "", clientIP(r))
	if err != nil {
		h.serverError(w, r, "counting a code request", err)
		return
	}
	if !auto {
		send = nil
	} else if send != nil {
		f.d.CodeSent = true
	}
	f.d.Step, f.d.Notice = stepPassword, notice
	if err := h.save(ctx, f); err != nil {
		h.serverError(w, r, "saving a login flow", err)
		return
	}
	h.redirectThen(w, r, f, "emailing a sign-in code", send)
}

// restart is POST /login/restart ("use a different email").
func (h *Handler) restart(w http.ResponseWriter, r *http.Request, f *flow) {
	if f.d.UserID == "" {
		f.d.Step, f.d.Email, f.d.Signup, f.d.Verified = stepEmail, "", false, false
		if err := h.save(r.Context(), f); err != nil {
			h.serverError(w, r, "saving a login flow", err)
			return
		}
	}
	seeOther(w, flowURL(f))
}

// usePassword is POST /login/use-password: from the code step back to the
// password step, for any email (an unknown one simply never matches).
func (h *Handler) usePassword(w http.ResponseWriter, r *http.Request, f *flow) {
	if f.d.Step == stepCode {
		f.d.Step = stepPassword
		if err := h.save(r.Context(), f); err != nil {
			h.serverError(w, r, "saving a login flow", err)
			return
		}
	}
	seeOther(w, flowURL(f))
}
