package store

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// The hosted login's rows (migration 00005): password hashes, login flows,
// emailed challenges, password reset tokens and throttling counters. The
// rules live in package login; these are plain reads and writes.

// PasswordHash reads a user's stored password hash; ErrNotFound when the
// user has none.
func (q *Q) PasswordHash(ctx context.Context, envID, userID string) (string, error) {
	var h string
	err := q.queryRow(ctx, `SELECT hash FROM user_passwords WHERE env_id = $1 AND user_id = $2`, envID, userID).Scan(&h)
	return h, mapErr(err)
}

// SetPasswordHash stores (or replaces) a user's password hash.
func (q *Q) SetPasswordHash(ctx context.Context, envID, userID, hash string, now time.Time) error {
	_, err := q.exec(ctx, `INSERT INTO user_passwords (user_id, env_id, hash, created_at, updated_at) VALUES ($1, $2, $3, $4, $4)
		ON CONFLICT (user_id) DO UPDATE SET hash = excluded.hash, updated_at = excluded.updated_at`,
		userID, envID, hash, micros(now))
	return mapErr(err)
}

// LoginFlow is one sign-in in progress in one browser.
type LoginFlow struct {
	ID            string
	EnvID         string
	CookieHash    string
	AuthRequestID string
	Data          string // JSON, owned by package login
	CreatedAt     time.Time
	UpdatedAt     time.Time
	ExpiresAt     time.Time
}

const loginFlowColumns = `id, env_id, cookie_hash, auth_request_id, data, created_at, updated_at, expires_at`

// CreateLoginFlow inserts f.
func (q *Q) CreateLoginFlow(ctx context.Context, f *LoginFlow) error {
	_, err := q.exec(ctx, `INSERT INTO login_flows (`+loginFlowColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		f.ID, f.EnvID, f.CookieHash, f.AuthRequestID, f.Data, micros(f.CreatedAt), micros(f.UpdatedAt), micros(f.ExpiresAt))
	return mapErr(err)
}

// LoginFlowByCookie reads the flow whose cookie hashes to cookieHash, if
// it has not expired at now, with its authorization request in the same
// statement (every step of the hosted login needs both): nil when the flow
// has none or the request is gone. The request is returned whatever its
// status and expiry; judging it is the caller's (oauth.Server.Usable).
func (q *Q) LoginFlowByCookie(ctx context.Context, envID, cookieHash string, now time.Time) (*LoginFlow, *AuthRequest, error) {
	var r loginFlowRow
	err := q.queryRow(ctx, `SELECT `+loginFlowJoinColumns+` FROM `+loginFlowJoin+`
		WHERE f.env_id = $1 AND f.cookie_hash = $2 AND f.expires_at > $3`,
		envID, cookieHash, micros(now)).Scan(r.dest()...)
	if err != nil {
		return nil, nil, mapErr(err)
	}
	f, ar := r.result()
	return f, ar, nil
}

// loginFlowJoin is a flow (f) with its authorization request (a), and
// loginFlowJoinColumns what loginFlowRow scans of them.
const (
	loginFlowJoin        = `login_flows f LEFT JOIN oauth_auth_requests a ON a.env_id = f.env_id AND a.id = f.auth_request_id`
	loginFlowJoinColumns = `f.id, f.env_id, f.cookie_hash, f.auth_request_id, f.data, f.created_at, f.updated_at, f.expires_at,
		COALESCE(a.id, ''), COALESCE(a.env_id, ''), COALESCE(a.client_id, ''), COALESCE(a.redirect_uri, ''), COALESCE(a.scope, ''),
		COALESCE(a.state, ''), COALESCE(a.nonce, ''), COALESCE(a.code_challenge, ''), COALESCE(a.prompt, ''), COALESCE(a.max_age, -1),
		COALESCE(a.login_hint, ''), COALESCE(a.hint_subject, ''), COALESCE(a.organization_id, ''), COALESCE(a.extra, ''),
		COALESCE(a.status, ''), COALESCE(a.session_id, ''), COALESCE(a.created_at, 0), COALESCE(a.expires_at, 0)`
)

// loginFlowRow scans loginFlowJoinColumns.
type loginFlowRow struct {
	f                         LoginFlow
	created, updated, expires int64
	ar                        authRequestRow
}

func (r *loginFlowRow) dest() []any {
	f := &r.f
	return append([]any{&f.ID, &f.EnvID, &f.CookieHash, &f.AuthRequestID, &f.Data, &r.created, &r.updated, &r.expires}, r.ar.dest()...)
}

// result is the flow and its request, nil when the flow has none or the
// request is gone.
func (r *loginFlowRow) result() (*LoginFlow, *AuthRequest) {
	f := r.f
	f.CreatedAt, f.UpdatedAt, f.ExpiresAt = fromMicros(r.created), fromMicros(r.updated), fromMicros(r.expires)
	if r.ar.a.ID == "" {
		return &f, nil
	}
	return &f, r.ar.request()
}

// UpdateLoginFlow writes f's cookie hash, data and update time.
func (q *Q) UpdateLoginFlow(ctx context.Context, f *LoginFlow) error {
	res, err := q.exec(ctx, `UPDATE login_flows SET cookie_hash = $3, data = $4, updated_at = $5 WHERE env_id = $1 AND id = $2`,
		f.EnvID, f.ID, f.CookieHash, f.Data, micros(f.UpdatedAt))
	return mustAffect(res, err)
}

// DeleteLoginFlow removes a flow and, with challenges, its challenges: a
// flow that never sent a code has none, and skips that statement.
func (q *Q) DeleteLoginFlow(ctx context.Context, envID, id string, challenges bool) error {
	if challenges {
		if _, err := q.exec(ctx, `DELETE FROM login_challenges WHERE env_id = $1 AND flow_id = $2`, envID, id); err != nil {
			return mapErr(err)
		}
	}
	_, err := q.exec(ctx, `DELETE FROM login_flows WHERE env_id = $1 AND id = $2`, envID, id)
	return mapErr(err)
}

// DeleteExpiredLogins removes flows, challenges and reset tokens that
// expired before cutoff, and throttling windows that started before
// throttleCutoff.
func (q *Q) DeleteExpiredLogins(ctx context.Context, envID string, cutoff, throttleCutoff time.Time) error {
	for _, stmt := range []struct {
		sql string
		at  time.Time
	}{
		{`DELETE FROM login_flows WHERE env_id = $1 AND expires_at < $2`, cutoff},
		{`DELETE FROM login_challenges WHERE env_id = $1 AND expires_at < $2`, cutoff},
		{`DELETE FROM password_resets WHERE env_id = $1 AND expires_at < $2`, cutoff},
		{`DELETE FROM login_throttle WHERE env_id = $1 AND window_start < $2 AND next_at < $2`, throttleCutoff},
	} {
		if _, err := q.exec(ctx, stmt.sql, envID, micros(stmt.at)); err != nil {
			return mapErr(err)
		}
	}
	return nil
}

// LoginChallenge is an emailed code and magic link.
type LoginChallenge struct {
	ID           string
	EnvID        string
	FlowID       string
	EmailNorm    string
	CodeHash     string
	LinkHash     string
	Attempts     int
	CreatedAt    time.Time
	ExpiresAt    time.Time
	UsedAt       time.Time
	SupersededAt time.Time
}

const loginChallengeColumns = `id, env_id, flow_id, email_norm, code_hash, link_hash, attempts, created_at, expires_at, used_at, superseded_at`

func scanLoginChallenge(sc interface{ Scan(...any) error }) (*LoginChallenge, error) {
	var c LoginChallenge
	var created, expires int64
	var used, superseded sql.NullInt64
	if err := sc.Scan(&c.ID, &c.EnvID, &c.FlowID, &c.EmailNorm, &c.CodeHash, &c.LinkHash, &c.Attempts, &created, &expires,
		&used, &superseded); err != nil {
		return nil, mapErr(err)
	}
	c.CreatedAt, c.ExpiresAt = fromMicros(created), fromMicros(expires)
	c.UsedAt, c.SupersededAt = fromMicros(used.Int64), fromMicros(superseded.Int64)
	return &c, nil
}

// CreateLoginChallenge ends every open challenge for the same email (a
// new code invalidates the old) and inserts c.
func (q *Q) CreateLoginChallenge(ctx context.Context, c *LoginChallenge) error {
	if _, err := q.exec(ctx, `UPDATE login_challenges SET superseded_at = $3
		WHERE env_id = $1 AND email_norm = $2 AND used_at IS NULL AND superseded_at IS NULL`,
		c.EnvID, c.EmailNorm, micros(c.CreatedAt)); err != nil {
		return mapErr(err)
	}
	_, err := q.exec(ctx, `INSERT INTO login_challenges (`+loginChallengeColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, NULL, NULL)`,
		c.ID, c.EnvID, c.FlowID, c.EmailNorm, c.CodeHash, c.LinkHash, c.Attempts, micros(c.CreatedAt), micros(c.ExpiresAt))
	return mapErr(err)
}

// LatestLoginChallenge reads the newest challenge of a flow.
func (q *Q) LatestLoginChallenge(ctx context.Context, envID, flowID string) (*LoginChallenge, error) {
	return scanLoginChallenge(q.queryRow(ctx, `SELECT `+loginChallengeColumns+` FROM login_challenges
		WHERE env_id = $1 AND flow_id = $2 ORDER BY created_at DESC, id DESC LIMIT 1`, envID, flowID))
}

// LoginChallengeByLink reads the challenge a magic link token hashes to.
func (q *Q) LoginChallengeByLink(ctx context.Context, envID, linkHash string) (*LoginChallenge, error) {
	return scanLoginChallenge(q.queryRow(ctx, `SELECT `+loginChallengeColumns+` FROM login_challenges
		WHERE env_id = $1 AND link_hash = $2`, envID, linkHash))
}

// FailLoginChallenge counts a wrong code and returns the attempts so far.
func (q *Q) FailLoginChallenge(ctx context.Context, envID, id string) (int, error) {
	var n int
	err := q.queryRow(ctx, `UPDATE login_challenges SET attempts = attempts + 1 WHERE env_id = $1 AND id = $2 RETURNING attempts`,
		envID, id).Scan(&n)
	return n, mapErr(err)
}

// UseLoginChallenge marks a challenge used, atomically: it succeeds once,
// and only while the challenge is unused, not superseded, unexpired at now
// and under maxAttempts wrong codes. ErrNotFound otherwise.
func (q *Q) UseLoginChallenge(ctx context.Context, envID, id string, now time.Time, maxAttempts int) error {
	res, err := q.exec(ctx, `UPDATE login_challenges SET used_at = $3
		WHERE env_id = $1 AND id = $2 AND used_at IS NULL AND superseded_at IS NULL AND expires_at > $3 AND attempts < $4`,
		envID, id, micros(now), maxAttempts)
	return mustAffect(res, err)
}

// PasswordReset is an emailed token to set or reset a password.
type PasswordReset struct {
	TokenHash string
	EnvID     string
	UserID    string
	CreatedAt time.Time
	ExpiresAt time.Time
	UsedAt    time.Time
}

// CreatePasswordReset inserts r.
func (q *Q) CreatePasswordReset(ctx context.Context, r *PasswordReset) error {
	_, err := q.exec(ctx, `INSERT INTO password_resets (token_hash, env_id, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)`,
		r.TokenHash, r.EnvID, r.UserID, micros(r.CreatedAt), micros(r.ExpiresAt))
	return mapErr(err)
}

// PasswordResetByToken reads a reset token that is unused and unexpired at now.
func (q *Q) PasswordResetByToken(ctx context.Context, envID, tokenHash string, now time.Time) (*PasswordReset, error) {
	var r PasswordReset
	var created, expires int64
	err := q.queryRow(ctx, `SELECT token_hash, env_id, user_id, created_at, expires_at FROM password_resets
		WHERE env_id = $1 AND token_hash = $2 AND used_at IS NULL AND expires_at > $3`, envID, tokenHash, micros(now)).
		Scan(&r.TokenHash, &r.EnvID, &r.UserID, &created, &expires)
	if err != nil {
		return nil, mapErr(err)
	}
	r.CreatedAt, r.ExpiresAt = fromMicros(created), fromMicros(expires)
	return &r, nil
}

// UsePasswordReset consumes a reset token atomically (ErrNotFound when it
// is used, expired or unknown) and ends every other open token of the user.
func (q *Q) UsePasswordReset(ctx context.Context, envID, tokenHash string, now time.Time) (userID string, err error) {
	err = q.queryRow(ctx, `UPDATE password_resets SET used_at = $3
		WHERE env_id = $1 AND token_hash = $2 AND used_at IS NULL AND expires_at > $3 RETURNING user_id`,
		envID, tokenHash, micros(now)).Scan(&userID)
	if err != nil {
		return "", mapErr(err)
	}
	_, err = q.exec(ctx, `UPDATE password_resets SET used_at = $3 WHERE env_id = $1 AND user_id = $2 AND used_at IS NULL`,
		envID, userID, micros(now))
	return userID, mapErr(err)
}

// Throttle is one login throttling counter.
type Throttle struct {
	Bucket      string
	WindowStart time.Time
	Hits        int
	NextAt      time.Time
}

// GetThrottle reads a counter; a missing one is the zero Throttle.
func (q *Q) GetThrottle(ctx context.Context, envID, bucket string) (Throttle, error) {
	t := Throttle{Bucket: bucket}
	var start, next int64
	err := q.queryRow(ctx, `SELECT window_start, hits, next_at FROM login_throttle WHERE env_id = $1 AND bucket = $2`, envID, bucket).
		Scan(&start, &t.Hits, &next)
	if errors.Is(err, sql.ErrNoRows) {
		return t, nil
	}
	if err != nil {
		return t, mapErr(err)
	}
	t.WindowStart, t.NextAt = fromMicros(start), fromMicros(next)
	return t, nil
}

// PutThrottle writes a counter.
func (q *Q) PutThrottle(ctx context.Context, envID string, t Throttle) error {
	_, err := q.exec(ctx, `INSERT INTO login_throttle (env_id, bucket, window_start, hits, next_at) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (env_id, bucket) DO UPDATE SET window_start = excluded.window_start, hits = excluded.hits, next_at = excluded.next_at`,
		envID, t.Bucket, micros(t.WindowStart), t.Hits, micros(t.NextAt))
	return mapErr(err)
}

// DeleteThrottle resets a counter.
func (q *Q) DeleteThrottle(ctx context.Context, envID, bucket string) error {
	_, err := q.exec(ctx, `DELETE FROM login_throttle WHERE env_id = $1 AND bucket = $2`, envID, bucket)
	return mapErr(err)
}

// LoginLookup finds the user id and password hash ("" for none) of a
// normalized email in one query; both are "" for an unknown email. The
// login runs exactly this for known and unknown emails alike, so the time
// it takes tells nothing (SECURITY-BAR A03).
func (q *Q) LoginLookup(ctx context.Context, envID, emailNorm string) (userID, hash string, err error) {
	err = q.queryRow(ctx, `SELECT u.id, COALESCE(p.hash, '') FROM users u
		LEFT JOIN user_passwords p ON p.user_id = u.id AND p.env_id = u.env_id
		WHERE u.env_id = $1 AND u.email_norm = $2`, envID, emailNorm).Scan(&userID, &hash)
	if errors.Is(err, sql.ErrNoRows) {
		return "", "", nil
	}
	return userID, hash, mapErr(err)
}
