package store

import (
	"context"
	"database/sql"
	"time"
)

// SigningKey is a JWT signing key; the private half is stored encrypted.
// Its state follows from the times (migration 00010): next before
// ActiveAt, active until RetiredAt, retiring until RemovedAt, removed
// after. A zero RetiredAt or RemovedAt means not scheduled.
type SigningKey struct {
	ID         string
	EnvID      string
	Alg        string
	PrivateEnc string
	PublicJWK  string
	CreatedAt  time.Time
	ActiveAt   time.Time
	RetiredAt  time.Time
	RemovedAt  time.Time
}

// CreateSigningKey inserts k. A zero ActiveAt means active from CreatedAt.
func (q *Q) CreateSigningKey(ctx context.Context, k *SigningKey) error {
	active := k.ActiveAt
	if active.IsZero() {
		active = k.CreatedAt
	}
	_, err := q.exec(ctx, `INSERT INTO signing_keys (id, env_id, alg, private_enc, public_jwk, created_at, active_at, retired_at, removed_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, k.ID, k.EnvID, k.Alg, k.PrivateEnc, k.PublicJWK, micros(k.CreatedAt),
		micros(active), nullMicros(k.RetiredAt), nullMicros(k.RemovedAt))
	return mapErr(err)
}

// ScheduleSigningKey sets when a key stops signing and when it leaves the
// JWKS (zero: not scheduled), or ErrNotFound.
func (q *Q) ScheduleSigningKey(ctx context.Context, envID, id string, retiredAt, removedAt time.Time) error {
	res, err := q.exec(ctx, `UPDATE signing_keys SET retired_at = $3, removed_at = $4 WHERE env_id = $1 AND id = $2`,
		envID, id, nullMicros(retiredAt), nullMicros(removedAt))
	return mustAffect(res, err)
}

// ListSigningKeys returns the environment's keys, removed ones included,
// newest first.
func (q *Q) ListSigningKeys(ctx context.Context, envID string) ([]*SigningKey, error) {
	rows, err := q.query(ctx, `SELECT id, env_id, alg, private_enc, public_jwk, created_at, active_at, retired_at, removed_at
		FROM signing_keys WHERE env_id = $1 ORDER BY created_at DESC, id DESC`, envID)
	if err != nil {
		return nil, mapErr(err)
	}
	defer rows.Close()
	var out []*SigningKey
	for rows.Next() {
		var k SigningKey
		var c, a int64
		var r, d sql.NullInt64
		if err := rows.Scan(&k.ID, &k.EnvID, &k.Alg, &k.PrivateEnc, &k.PublicJWK, &c, &a, &r, &d); err != nil {
			return nil, mapErr(err)
		}
		k.CreatedAt, k.ActiveAt, k.RetiredAt, k.RemovedAt = fromMicros(c), fromMicros(a), fromMicros(r.Int64), fromMicros(d.Int64)
		out = append(out, &k)
	}
	return out, mapErr(rows.Err())
}
