package accounts

import (
	"context"

	"github.com/gatehouse/gatehouse/internal/apierr"
	"github.com/gatehouse/gatehouse/internal/store"
)

// ChangeEmail gives a user a new email address that they have just proven
// they read (an emailed code on the account page), so the new address is
// verified. It is the only self-service way to change an email and the
// only way a user's own action marks an address verified (SECURITY-BAR
// A12). A taken address is an AlreadyExists error; nothing changes then.
func (s *Service) ChangeEmail(ctx context.Context, userID, email string) (*store.User, error) {
	var v apierr.Violations
	email, norm := NormalizeEmail(&v, "email", email)
	if err := v.Err(); err != nil {
		return nil, err
	}
	var out *store.User
	err := s.Store.Tx(ctx, func(q *store.Q) error {
		u, err := q.GetUser(ctx, s.EnvID, userID)
		if err != nil {
			return apierr.FromStore(err, "user", userID)
		}
		u.Email, u.EmailVerified, u.UpdatedAt = email, true, s.Now()
		if err := q.UpdateUser(ctx, u, norm); err != nil {
			return apierr.FromStore(err, "user", userID)
		}
		out = u
		return s.emit(ctx, q, "user.updated", u.ID, userEvent(u))
	})
	if err != nil {
		return nil, err
	}
	return s.present(out), nil
}
