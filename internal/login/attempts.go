package login

import (
	"net/http"

	"github.com/gatehouse/gatehouse/internal/authlog"
)

// attempt reports one sign-in attempt to the authentication log and the
// login counters (docs/monitoring.md). f may be nil (a magic link opened
// without its flow); userID is the user the attempt is about, when known.
func (h *Handler) attempt(r *http.Request, f *flow, method, outcome, userID string) {
	if h.AuthLog == nil {
		return
	}
	ctx := r.Context()
	a := authlog.Attempt{Method: method, Outcome: outcome, IP: clientIP(r), UserID: userID}
	if f != nil {
		a.Email, a.AuthRequestID = f.d.Email, f.row.AuthRequestID
		if a.UserID == "" {
			a.UserID = f.d.UserID
		}
		if ar, err := h.authRequest(ctx, f); err == nil && ar != nil {
			a.ClientID, a.OrgID = ar.ClientID, ar.OrganizationID
		}
	}
	h.AuthLog.Record(ctx, a)
}
