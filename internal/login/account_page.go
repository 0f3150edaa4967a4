package login

import (
	"net/http"
)

// accountView is the account page.
type accountView struct {
	base
	Email         string
	EmailVerified bool
	HasPassword   bool
	// PendingEmail is the new address a live code was sent to, if any.
	PendingEmail  string
	OtherSessions int
}

// renderAccount shows the account page of a, with a notice or an error.
func (h *Handler) renderAccount(w http.ResponseWriter, r *http.Request, status int, a *account, notice, errMsg string) {
	ctx := r.Context()
	p := accountView{base: h.frame(ctx, nil, "Your account"), Email: a.user.Email, EmailVerified: a.user.EmailVerified,
		HasPassword: a.hash != ""}
	if a.ses.OrgID != "" {
		if brand, err := h.Settings.BrandingFor(ctx, a.ses.OrgID); err == nil {
			p.Brand = brand
		}
	}
	p.CSRF, p.Notice, p.Error = a.csrf, notice, errMsg
	c, err := h.liveAccountChallenge(ctx, emailFlowID(a.ses.ID))
	if err != nil {
		h.serverError(w, r, "reading a code", err)
		return
	}
	if c != nil {
		p.PendingEmail = c.EmailNorm
	}
	// A code is on its way: say so if the mail server is failing
	// (mailhealth.go).
	if p.Error == "" && (c != nil || notice == accountNotices["reauth_sent"]) && h.mailFailing(ctx) {
		p.Error = mailTroubleCode
	}
	live, err := h.Store.Q().ListLiveUserSessions(ctx, h.EnvID, a.user.ID, h.Now())
	if err != nil {
		h.serverError(w, r, "reading sessions", err)
		return
	}
	p.OtherSessions = max(len(live)-1, 0)
	h.render(w, r, status, "account", &p)
}
