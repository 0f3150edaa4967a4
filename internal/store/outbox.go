package store

import "context"

// ListEmailsNewest returns up to limit emails, queued and sent, newest
// first: the dev outbox's order, where the message a developer waits for
// is the one on top.
func (q *Q) ListEmailsNewest(ctx context.Context, envID string, limit int) ([]*Email, error) {
	rows, err := q.query(ctx, `SELECT id, env_id, to_addr, subject, body_text, kind, created_at, COALESCE(sent_at, 0) FROM emails
		WHERE env_id = $1 ORDER BY id DESC LIMIT $2`, envID, limit)
	if err != nil {
		return nil, mapErr(err)
	}
	defer rows.Close()
	var out []*Email
	for rows.Next() {
		var m Email
		var c, s int64
		if err := rows.Scan(&m.ID, &m.EnvID, &m.To, &m.Subject, &m.Body, &m.Kind, &c, &s); err != nil {
			return nil, mapErr(err)
		}
		m.CreatedAt, m.SentAt = fromMicros(c), fromMicros(s)
		out = append(out, &m)
	}
	return out, mapErr(rows.Err())
}
