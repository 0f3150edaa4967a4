package store

import (
	"context"
	"database/sql"
	"time"
)

// Event is an outbox row: a write that happened, for webhooks and audit.
type Event struct {
	ID        string
	EnvID     string
	Type      string // dotted, e.g. "organization.created"
	ObjectID  string
	Payload   string // JSON
	CreatedAt time.Time
}

// AddEvent appends e to the outbox; call it inside the write's transaction.
func (q *Q) AddEvent(ctx context.Context, e *Event) error {
	_, err := q.exec(ctx, `INSERT INTO events (id, env_id, type, object_id, payload, created_at) VALUES ($1, $2, $3, $4, $5, $6)`,
		e.ID, e.EnvID, e.Type, e.ObjectID, e.Payload, micros(e.CreatedAt))
	return mapErr(err)
}

// ListEvents returns events in order, after the given id.
func (q *Q) ListEvents(ctx context.Context, envID string, p Page) ([]*Event, error) {
	rows, err := q.query(ctx, `SELECT id, env_id, type, object_id, payload, created_at FROM events
		WHERE env_id = $1 AND id > $2 ORDER BY id LIMIT $3`, envID, p.AfterID, p.Limit)
	if err != nil {
		return nil, mapErr(err)
	}
	defer rows.Close()
	var out []*Event
	for rows.Next() {
		var e Event
		var c int64
		if err := rows.Scan(&e.ID, &e.EnvID, &e.Type, &e.ObjectID, &e.Payload, &c); err != nil {
			return nil, mapErr(err)
		}
		e.CreatedAt = fromMicros(c)
		out = append(out, &e)
	}
	return out, mapErr(rows.Err())
}

// Email is a message queued for delivery (or kept in the dev outbox).
type Email struct {
	ID        string
	EnvID     string
	To        string
	Subject   string
	Body      string
	Kind      string // "invitation", ...
	CreatedAt time.Time
	SentAt    time.Time
}

// AddEmail queues m; call it inside the transaction that caused it.
func (q *Q) AddEmail(ctx context.Context, m *Email) error {
	_, err := q.exec(ctx, `INSERT INTO emails (id, env_id, to_addr, subject, body_text, kind, created_at, sent_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, m.ID, m.EnvID, m.To, m.Subject, m.Body, m.Kind, micros(m.CreatedAt), nullMicros(m.SentAt))
	return mapErr(err)
}

// ListEmails returns queued and sent emails, newest last.
func (q *Q) ListEmails(ctx context.Context, envID string, p Page) ([]*Email, error) {
	rows, err := q.query(ctx, `SELECT `+emailColumns+` FROM emails
		WHERE env_id = $1 AND id > $2 ORDER BY id LIMIT $3`, envID, p.AfterID, p.Limit)
	return scanEmails(rows, err)
}

// emailColumns are the columns scanEmails reads, in its order.
const emailColumns = `id, env_id, to_addr, subject, body_text, kind, created_at, COALESCE(sent_at, 0)`

// scanEmails reads the rows of a query selecting emailColumns.
func scanEmails(rows *sql.Rows, err error) ([]*Email, error) {
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

// MarkEmailSent records delivery.
func (q *Q) MarkEmailSent(ctx context.Context, envID, id string, at time.Time) error {
	res, err := q.exec(ctx, `UPDATE emails SET sent_at = $3 WHERE env_id = $1 AND id = $2`, envID, id, micros(at))
	return mustAffect(res, err)
}

// ListUnsentEmails returns up to limit queued emails not yet delivered, oldest first.
func (q *Q) ListUnsentEmails(ctx context.Context, envID string, limit int) ([]*Email, error) {
	rows, err := q.query(ctx, `SELECT id, env_id, to_addr, subject, body_text, kind, created_at FROM emails
		WHERE env_id = $1 AND sent_at IS NULL ORDER BY id LIMIT $2`, envID, limit)
	if err != nil {
		return nil, mapErr(err)
	}
	defer rows.Close()
	var out []*Email
	for rows.Next() {
		var m Email
		var c int64
		if err := rows.Scan(&m.ID, &m.EnvID, &m.To, &m.Subject, &m.Body, &m.Kind, &c); err != nil {
			return nil, mapErr(err)
		}
		m.CreatedAt = fromMicros(c)
		out = append(out, &m)
	}
	return out, mapErr(rows.Err())
}
