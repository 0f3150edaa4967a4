package store

import (
	"context"
	"database/sql"
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

// SigningKey is a JWT signing key; the private half is stored encrypted.
type SigningKey struct {
	ID         string
	EnvID      string
	Alg        string
	PrivateEnc string
	PublicJWK  string
	CreatedAt  time.Time
	RetiredAt  time.Time
}

// CreateSigningKey inserts k.
func (q *Q) CreateSigningKey(ctx context.Context, k *SigningKey) error {
	_, err := q.exec(ctx, `INSERT INTO signing_keys (id, env_id, alg, private_enc, public_jwk, created_at, retired_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, k.ID, k.EnvID, k.Alg, k.PrivateEnc, k.PublicJWK, micros(k.CreatedAt), nullMicros(k.RetiredAt))
	return mapErr(err)
}

// ListSigningKeys returns the environment's keys, newest first.
func (q *Q) ListSigningKeys(ctx context.Context, envID string) ([]*SigningKey, error) {
	rows, err := q.query(ctx, `SELECT id, env_id, alg, private_enc, public_jwk, created_at, retired_at
		FROM signing_keys WHERE env_id = $1 ORDER BY created_at DESC, id DESC`, envID)
	if err != nil {
		return nil, mapErr(err)
	}
	defer rows.Close()
	var out []*SigningKey
	for rows.Next() {
		var k SigningKey
		var c int64
		var r sql.NullInt64
		if err := rows.Scan(&k.ID, &k.EnvID, &k.Alg, &k.PrivateEnc, &k.PublicJWK, &c, &r); err != nil {
			return nil, mapErr(err)
		}
		k.CreatedAt, k.RetiredAt = fromMicros(c), fromMicros(r.Int64)
		out = append(out, &k)
	}
	return out, mapErr(rows.Err())
}
