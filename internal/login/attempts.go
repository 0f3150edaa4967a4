package login

import (
	"net/http"

	"github.com/gatehouse/gatehouse/internal/authlog"
)

// attempt reports one sign-in attempt to the authentication log and the
// login counters (docs/monitoring.md). f may be nil (a magic link opened
// without its flow); userID is the user the attempt is about, when known.
func (h *Handler) attempt(r *http.Request, f *flow, method, outcome, userID string) {
	h.deferAttempt(r, f, method, outcome, userID).Flush(r.Context())
}

// deferAttempt is attempt with the log's write left to the caller: the
// counters count it now, and the row is written by a sign-in's own
// transaction (finishAtOnce) or by Flush. nil without a log.
func (h *Handler) deferAttempt(r *http.Request, f *flow, method, outcome, userID string) *authlog.Pending {
	if h.AuthLog == nil {
		return nil
	}
	a := authlog.Attempt{Method: method, Outcome: outcome, IP: clientIP(r), UserID: userID}
	if f != nil {
		a.Email, a.AuthRequestID = f.d.Email, f.row.AuthRequestID
		if a.UserID == "" {
			a.UserID = f.d.UserID
		}
		if ar, err := h.authRequest(r.Context(), f); err == nil && ar != nil {
			a.ClientID, a.OrgID = ar.ClientID, ar.OrganizationID
		}
	}
	return h.AuthLog.Defer(a)
}
