package login

import "context"

// Pages that have just queued an email (the code step, the
// forgot-password answer, the account's email change) say so when the
// mail server is failing (issue 4, point 9). They read the environment's
// mail health, never the state of the message itself: an unknown email
// has no message, so a page that followed the message would tell an
// attacker which accounts exist (SECURITY-BAR A02). The mail health is the
// same for every address, and one refused recipient does not change it
// (internal/mail).

// Texts shown while the mail server is failing.
const (
	mailTroubleCode = "We couldn't send the email right now. We'll keep trying, so it may arrive late; you can also ask for a new code in a minute."
	mailTroubleLink = "We couldn't send the email right now. We'll keep trying, so it may arrive late; you can also ask again in a few minutes."
)

// mailFailing reports whether the mail worker's newest attempts failed at
// the server. An error reading it is logged and counts as healthy: the
// page is still right that the email is queued.
func (h *Handler) mailFailing(ctx context.Context) bool {
	mh, err := h.Store.Q().GetMailHealth(ctx, h.EnvID)
	if err != nil {
		h.Log.WarnContext(ctx, "reading the mail health failed", "err", err)
		return false
	}
	return !mh.FailingSince.IsZero()
}
