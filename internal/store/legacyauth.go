package store

import (
	"context"
	"time"
)

// LegacyAuth is an environment's legacy verification endpoint for lazy
// migration (docs/lazy-migration.md). SecretEnc is the HMAC secret sealed
// with the server's master key; the store never sees it in the clear.
type LegacyAuth struct {
	EnvID              string
	URL                string
	SecretEnc          string
	Timeout            time.Duration
	CreateUnknownUsers bool
	UpdatedAt          time.Time
}

// GetLegacyAuth reads the environment's legacy endpoint; ErrNotFound when
// lazy migration is off.
func (q *Q) GetLegacyAuth(ctx context.Context, envID string) (*LegacyAuth, error) {
	var l LegacyAuth
	var ms, u int64
	err := q.queryRow(ctx, `SELECT env_id, url, secret_enc, timeout_ms, create_unknown_users, updated_at
		FROM legacy_auth_settings WHERE env_id = $1`, envID).Scan(&l.EnvID, &l.URL, &l.SecretEnc, &ms, &l.CreateUnknownUsers, &u)
	if err != nil {
		return nil, mapErr(err)
	}
	l.Timeout, l.UpdatedAt = time.Duration(ms)*time.Millisecond, fromMicros(u)
	return &l, nil
}

// PutLegacyAuth replaces the environment's legacy endpoint with l.
func (q *Q) PutLegacyAuth(ctx context.Context, l *LegacyAuth) error {
	_, err := q.exec(ctx, `INSERT INTO legacy_auth_settings (env_id, url, secret_enc, timeout_ms, create_unknown_users, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (env_id) DO UPDATE SET url = excluded.url, secret_enc = excluded.secret_enc,
		timeout_ms = excluded.timeout_ms, create_unknown_users = excluded.create_unknown_users, updated_at = excluded.updated_at`,
		l.EnvID, l.URL, l.SecretEnc, l.Timeout.Milliseconds(), l.CreateUnknownUsers, micros(l.UpdatedAt))
	return mapErr(err)
}

// DeleteLegacyAuth turns lazy migration off (no error when it was off).
func (q *Q) DeleteLegacyAuth(ctx context.Context, envID string) error {
	_, err := q.exec(ctx, `DELETE FROM legacy_auth_settings WHERE env_id = $1`, envID)
	return mapErr(err)
}
