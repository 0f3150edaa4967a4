package sessions

import (
	"context"

	"github.com/gatehouse/gatehouse/internal/store"
)

// EndOwnedIn ends, inside the caller's transaction, every live session of
// o (a user's, an organization's, or one user's in one organization) with
// its grants, refresh tokens and access tokens, and returns them; the
// caller passes them to Notify after commit so each client that received
// tokens under them gets a back-channel logout token. The accounts rules
// call it in the same transaction as the membership removal or deletion
// (SECURITY-BAR S04), so no refresh token outlives the membership. The
// sessions come back with their ClientIDs, read before a deletion cascades
// them away.
func (s *Service) EndOwnedIn(ctx context.Context, q *store.Q, o store.SessionOwner, reason string) ([]*Session, error) {
	live, err := q.ListLiveOwnedSessions(ctx, s.EnvID, o, s.Now())
	if err != nil {
		return nil, err
	}
	for _, ses := range live {
		if _, err := s.RevokeIn(ctx, q, ses, reason); err != nil {
			return nil, err
		}
	}
	return live, nil
}
