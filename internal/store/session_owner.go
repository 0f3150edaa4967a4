package store

import (
	"context"
	"errors"
	"time"
)

// SessionOwner names whose sessions a call is about: a user's, an
// organization's, or one user's in one organization. At least one is set.
type SessionOwner struct {
	UserID string
	OrgID  string
}

// sessionClientBatch bounds the ids per attachSessionClients query, well
// under SQLite's and PostgreSQL's limits on bound parameters.
const sessionClientBatch = 500

// ListLiveOwnedSessions returns the sessions of o live at now, with the
// clients that received tokens under them (ClientIDs set, never nil): the
// sessions a membership removal, an organization deletion or a user
// deletion must end, read before the deletion cascades them away so their
// clients can still be sent back-channel logout tokens.
func (q *Q) ListLiveOwnedSessions(ctx context.Context, envID string, o SessionOwner, now time.Time) ([]*Session, error) {
	where, args := `env_id = $1 AND revoked_at IS NULL AND idle_expires_at > $2 AND absolute_expires_at > $2`, []any{envID, micros(now)}
	switch {
	case o.UserID == "" && o.OrgID == "":
		return nil, errors.New("store: ListLiveOwnedSessions needs a user or an organization")
	case o.UserID != "":
		args = append(args, o.UserID)
		where += ` AND user_id = $` + itoa(len(args))
	}
	if o.OrgID != "" {
		args = append(args, o.OrgID)
		where += ` AND org_id = $` + itoa(len(args))
	}
	rows, err := q.query(ctx, `SELECT `+sessionColumns+` FROM sessions WHERE `+where+` ORDER BY id`, args...)
	if err != nil {
		return nil, mapErr(err)
	}
	var out []*Session
	for rows.Next() {
		s, err := scanSession(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, s)
	}
	if err := rows.Close(); err != nil {
		return nil, mapErr(err)
	}
	if err := rows.Err(); err != nil {
		return nil, mapErr(err)
	}
	for i := 0; i < len(out); i += sessionClientBatch {
		if err := q.attachSessionClients(ctx, envID, out[i:min(i+sessionClientBatch, len(out))]); err != nil {
			return nil, err
		}
	}
	return out, nil
}
