package store

import (
	"context"
	"time"
)

// Environment is one Gatehouse tenant of the operator: its own users,
// organizations, keys and clients. A server serves one environment.
type Environment struct {
	ID   string
	Type string // "development" or "production"
	// PageTokenKey signs page tokens (base64 text).
	PageTokenKey string
	CreatedAt    time.Time
}

// FirstEnvironment returns the oldest environment, or ErrNotFound.
func (q *Q) FirstEnvironment(ctx context.Context) (*Environment, error) {
	var e Environment
	var c int64
	err := q.queryRow(ctx, `SELECT id, type, page_token_key, created_at FROM environments ORDER BY created_at, id LIMIT 1`).
		Scan(&e.ID, &e.Type, &e.PageTokenKey, &c)
	if err != nil {
		return nil, mapErr(err)
	}
	e.CreatedAt = fromMicros(c)
	return &e, nil
}

// CreateEnvironment inserts e.
func (q *Q) CreateEnvironment(ctx context.Context, e *Environment) error {
	_, err := q.exec(ctx, `INSERT INTO environments (id, type, page_token_key, created_at) VALUES ($1, $2, $3, $4)`,
		e.ID, e.Type, e.PageTokenKey, micros(e.CreatedAt))
	return mapErr(err)
}

// SetEnvironmentType records the environment type chosen at startup.
func (q *Q) SetEnvironmentType(ctx context.Context, envID, typ string) error {
	res, err := q.exec(ctx, `UPDATE environments SET type = $2 WHERE id = $1`, envID, typ)
	return mustAffect(res, err)
}
