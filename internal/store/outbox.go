package store

import "context"

// ListEmailsNewest returns up to limit emails, queued and sent, newest
// first: the dev outbox's order, where the message a developer waits for
// is the one on top.
func (q *Q) ListEmailsNewest(ctx context.Context, envID string, limit int) ([]*Email, error) {
	rows, err := q.query(ctx, `SELECT `+emailColumns+` FROM emails
		WHERE env_id = $1 ORDER BY id DESC LIMIT $2`, envID, limit)
	return scanEmails(rows, err)
}
