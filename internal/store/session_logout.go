package store

import (
	"context"
	"time"
)

// LastLogoutAt is when the newest session of a user ended by logout, or
// the zero time. The login refuses codes and links asked for before it
// (SECURITY-BAR A10: a link must not sign in after the user signed out).
func (q *Q) LastLogoutAt(ctx context.Context, envID, userID string) (time.Time, error) {
	var at int64
	err := q.queryRow(ctx, `SELECT COALESCE(MAX(revoked_at), 0) FROM sessions WHERE env_id = $1 AND user_id = $2 AND end_reason = 'logout'`,
		envID, userID).Scan(&at)
	return fromMicros(at), mapErr(err)
}
