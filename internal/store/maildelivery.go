package store

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// Delivery states of a queued email (EmailDelivery.State).
const (
	EmailQueued  = "queued"   // no attempt yet
	EmailSent    = "sent"     // delivered
	EmailFailing = "failing"  // attempts failed; another is due at RetryAt
	EmailGivenUp = "given_up" // the worker stopped trying
)

// DueEmail is a queued email whose next attempt is due, with the number
// of attempts that failed before.
type DueEmail struct {
	Email
	Attempts int
}

// ListDueEmails returns up to limit emails that are neither sent nor
// given up and whose retry time has come at now, oldest first.
func (q *Q) ListDueEmails(ctx context.Context, envID string, now time.Time, limit int) ([]*DueEmail, error) {
	rows, err := q.query(ctx, `SELECT id, env_id, to_addr, subject, body_text, kind, created_at, attempts FROM emails
		WHERE env_id = $1 AND sent_at IS NULL AND given_up_at IS NULL AND (retry_at IS NULL OR retry_at <= $2)
		ORDER BY id LIMIT $3`, envID, micros(now), limit)
	if err != nil {
		return nil, mapErr(err)
	}
	defer rows.Close()
	var out []*DueEmail
	for rows.Next() {
		var m DueEmail
		var c int64
		if err := rows.Scan(&m.ID, &m.EnvID, &m.To, &m.Subject, &m.Body, &m.Kind, &c, &m.Attempts); err != nil {
			return nil, mapErr(err)
		}
		m.CreatedAt = fromMicros(c)
		out = append(out, &m)
	}
	return out, mapErr(rows.Err())
}

// RecordEmailFailure records a failed attempt at an unsent email: its
// attempt count, the error, and either when to retry or (givenUp not
// zero) that the worker stopped trying.
func (q *Q) RecordEmailFailure(ctx context.Context, envID, id string, attempts int, lastErr string, retryAt, givenUpAt time.Time) error {
	res, err := q.exec(ctx, `UPDATE emails SET attempts = $3, last_error = $4, retry_at = $5, given_up_at = $6
		WHERE env_id = $1 AND id = $2 AND sent_at IS NULL`, envID, id, attempts, lastErr, nullMicros(retryAt), nullMicros(givenUpAt))
	return mustAffect(res, err)
}

// EmailDelivery is the delivery state of one email.
type EmailDelivery struct {
	State     string // EmailQueued, EmailSent, EmailFailing or EmailGivenUp
	Attempts  int    // failed attempts
	LastError string
	RetryAt   time.Time
	SentAt    time.Time
	GivenUpAt time.Time
}

// GetEmailDelivery reads the delivery state of an email.
func (q *Q) GetEmailDelivery(ctx context.Context, envID, id string) (*EmailDelivery, error) {
	var d EmailDelivery
	var retry, sent, gaveUp int64
	err := q.queryRow(ctx, `SELECT attempts, last_error, COALESCE(retry_at, 0), COALESCE(sent_at, 0), COALESCE(given_up_at, 0)
		FROM emails WHERE env_id = $1 AND id = $2`, envID, id).Scan(&d.Attempts, &d.LastError, &retry, &sent, &gaveUp)
	if err != nil {
		return nil, mapErr(err)
	}
	d.RetryAt, d.SentAt, d.GivenUpAt = fromMicros(retry), fromMicros(sent), fromMicros(gaveUp)
	switch {
	case !d.SentAt.IsZero():
		d.State = EmailSent
	case !d.GivenUpAt.IsZero():
		d.State = EmailGivenUp
	case d.Attempts > 0:
		d.State = EmailFailing
	default:
		d.State = EmailQueued
	}
	return &d, nil
}

// MailHealth is whether an environment's mail server takes mail. A zero
// FailingSince means it does (or nothing was ever tried).
type MailHealth struct {
	FailingSince time.Time
	Failures     int // failures of the server since FailingSince
	LastError    string
	UpdatedAt    time.Time
}

// GetMailHealth reads the environment's mail health; the zero value when
// the worker never recorded any.
func (q *Q) GetMailHealth(ctx context.Context, envID string) (MailHealth, error) {
	var h MailHealth
	var since, updated int64
	err := q.queryRow(ctx, `SELECT COALESCE(failing_since, 0), failures, last_error, updated_at FROM mail_health WHERE env_id = $1`,
		envID).Scan(&since, &h.Failures, &h.LastError, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return MailHealth{}, nil
	}
	if err != nil {
		return MailHealth{}, mapErr(err)
	}
	h.FailingSince, h.UpdatedAt = fromMicros(since), fromMicros(updated)
	return h, nil
}

// RecordMailServerFailure notes a failure of the mail server at at: the
// failure count grows and failing_since keeps the start of the outage.
func (q *Q) RecordMailServerFailure(ctx context.Context, envID, lastErr string, at time.Time) error {
	_, err := q.exec(ctx, `INSERT INTO mail_health (env_id, failing_since, failures, last_error, updated_at) VALUES ($1, $2, 1, $3, $2)
		ON CONFLICT (env_id) DO UPDATE SET failing_since = COALESCE(mail_health.failing_since, excluded.failing_since),
		failures = mail_health.failures + 1, last_error = excluded.last_error, updated_at = excluded.updated_at`,
		envID, micros(at), lastErr)
	return mapErr(err)
}

// RecordMailServerOK notes a delivery at at: the server takes mail again.
// It writes only when the server was failing, so a healthy queue costs no
// extra write per message.
func (q *Q) RecordMailServerOK(ctx context.Context, envID string, at time.Time) error {
	_, err := q.exec(ctx, `UPDATE mail_health SET failing_since = NULL, failures = 0, last_error = '', updated_at = $2
		WHERE env_id = $1 AND failing_since IS NOT NULL`, envID, micros(at))
	return mapErr(err)
}
