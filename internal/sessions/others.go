package sessions

import (
	"context"

	"github.com/gatehouse/gatehouse/internal/apierr"
	"github.com/gatehouse/gatehouse/internal/store"
)

// RevokeOthersForUser ends every live session of a user except keepID
// ("sign out everywhere else" on the account page), with their refresh and
// access tokens, in one transaction, and returns the ended sessions.
func (s *Service) RevokeOthersForUser(ctx context.Context, userID, keepID string) ([]*Session, error) {
	var out []*Session
	err := s.Store.Tx(ctx, func(q *store.Q) error {
		if _, err := q.GetUserProfile(ctx, s.EnvID, userID); err != nil {
			return apierr.FromStore(err, "user", userID)
		}
		live, err := q.ListLiveUserSessions(ctx, s.EnvID, userID, s.Now())
		if err != nil {
			return err
		}
		for _, ses := range live {
			if ses.ID == keepID {
				continue
			}
			if _, err := s.RevokeIn(ctx, q, ses, ReasonRevoked); err != nil {
				return err
			}
			out = append(out, ses)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.notify(ctx, out)
	return out, nil
}
