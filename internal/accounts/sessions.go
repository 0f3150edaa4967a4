package accounts

import (
	"context"
	"errors"

	"github.com/gatehouse/gatehouse/internal/store"
)

// endSessionsIn ends o's live sessions, with their refresh and access
// tokens, inside q's transaction: a membership removal or a deletion that
// left them running would let a removed member keep refreshing tokens and
// signing in silently (SECURITY-BAR S04). The caller hands the result to
// notifyEnded after commit.
func (s *Service) endSessionsIn(ctx context.Context, q *store.Q, o store.SessionOwner, reason string) ([]*store.Session, error) {
	if s.Sessions == nil {
		return nil, errors.New("accounts: no session service, so the sessions this change ends cannot be ended")
	}
	return s.Sessions.EndOwnedIn(ctx, q, o, reason)
}

// notifyEnded sends the back-channel logout tokens of sessions ended by a
// committed transaction.
func (s *Service) notifyEnded(ctx context.Context, ended []*store.Session) {
	if s.Sessions != nil {
		s.Sessions.Notify(ctx, ended...)
	}
}
