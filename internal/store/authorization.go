package store

import (
	"context"
	"database/sql"
	"time"
)

// Authorization request statuses.
const (
	AuthRequestPending   = "pending"
	AuthRequestCompleted = "completed"
	AuthRequestDenied    = "denied"
)

// AuthRequest is an authorization request waiting for the user to sign in.
type AuthRequest struct {
	ID             string
	EnvID          string
	ClientID       string
	RedirectURI    string
	Scope          string
	State          string
	Nonce          string
	CodeChallenge  string // S256 only; empty when the client sent none
	Prompt         string // space-separated
	MaxAge         int64  // seconds; -1 when absent
	LoginHint      string
	HintSubject    string // sub of a valid id_token_hint
	OrganizationID string
	Extra          map[string]string // other hints passed to the login UI (domain_hint, connection_id, provider, ui_locales)
	Status         string
	SessionID      string // the session that completed it
	CreatedAt      time.Time
	ExpiresAt      time.Time
}

const authRequestColumns = `id, env_id, client_id, redirect_uri, scope, state, nonce, code_challenge, prompt, max_age, login_hint,
	hint_subject, organization_id, extra, status, session_id, created_at, expires_at`

// CreateAuthRequest inserts a.
func (q *Q) CreateAuthRequest(ctx context.Context, a *AuthRequest) error {
	_, err := q.exec(ctx, `INSERT INTO oauth_auth_requests (`+authRequestColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)`,
		a.ID, a.EnvID, a.ClientID, a.RedirectURI, a.Scope, a.State, a.Nonce, a.CodeChallenge, a.Prompt, a.MaxAge, a.LoginHint,
		a.HintSubject, a.OrganizationID, encodeJSON(nonNilMap(a.Extra)), a.Status, a.SessionID, micros(a.CreatedAt), micros(a.ExpiresAt))
	return mapErr(err)
}

// GetAuthRequest reads one authorization request.
func (q *Q) GetAuthRequest(ctx context.Context, envID, id string) (*AuthRequest, error) {
	var r authRequestRow
	if err := q.queryRow(ctx, `SELECT `+authRequestColumns+` FROM oauth_auth_requests WHERE env_id = $1 AND id = $2`, envID, id).
		Scan(r.dest()...); err != nil {
		return nil, mapErr(err)
	}
	return r.request(), nil
}

// authRequestRow scans authRequestColumns, in their order.
type authRequestRow struct {
	a                AuthRequest
	extra            string
	created, expires int64
}

func (r *authRequestRow) dest() []any {
	a := &r.a
	return []any{&a.ID, &a.EnvID, &a.ClientID, &a.RedirectURI, &a.Scope, &a.State, &a.Nonce, &a.CodeChallenge, &a.Prompt, &a.MaxAge,
		&a.LoginHint, &a.HintSubject, &a.OrganizationID, &r.extra, &a.Status, &a.SessionID, &r.created, &r.expires}
}

func (r *authRequestRow) request() *AuthRequest {
	r.a.Extra, r.a.CreatedAt, r.a.ExpiresAt = decodeMap(r.extra), fromMicros(r.created), fromMicros(r.expires)
	return &r.a
}

// FinishAuthRequest moves a pending, unexpired request to status (completed
// or denied) at now, recording the session that completed it. It is the
// one transition a request makes: ErrNotFound when the request is unknown,
// expired or already finished, so two completions cannot both issue codes.
func (q *Q) FinishAuthRequest(ctx context.Context, envID, id, status, sessionID string, now time.Time) error {
	res, err := q.exec(ctx, `UPDATE oauth_auth_requests SET status = $3, session_id = $4
		WHERE env_id = $1 AND id = $2 AND status = 'pending' AND expires_at > $5`, envID, id, status, sessionID, micros(now))
	return mustAffect(res, err)
}

// AuthCode is an authorization code, kept only as its hash.
type AuthCode struct {
	CodeHash      string
	EnvID         string
	SessionID     string
	ClientID      string
	RedirectURI   string
	Scope         string
	Nonce         string
	CodeChallenge string
	CreatedAt     time.Time
	ExpiresAt     time.Time
	UsedAt        time.Time
	GrantID       string // the grant its redemption created
}

// CreateAuthCode inserts c.
func (q *Q) CreateAuthCode(ctx context.Context, c *AuthCode) error {
	_, err := q.exec(ctx, `INSERT INTO oauth_codes (code_hash, env_id, session_id, client_id, redirect_uri, scope, nonce,
		code_challenge, created_at, expires_at, used_at, grant_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
		c.CodeHash, c.EnvID, c.SessionID, c.ClientID, c.RedirectURI, c.Scope, c.Nonce, c.CodeChallenge, micros(c.CreatedAt),
		micros(c.ExpiresAt), nullMicros(c.UsedAt), nullIfEmpty(c.GrantID))
	return mapErr(err)
}

// GetAuthCode reads a code by its hash.
func (q *Q) GetAuthCode(ctx context.Context, envID, codeHash string) (*AuthCode, error) {
	var c AuthCode
	var created, expires int64
	var used sql.NullInt64
	var grant sql.NullString
	err := q.queryRow(ctx, `SELECT code_hash, env_id, session_id, client_id, redirect_uri, scope, nonce, code_challenge,
		created_at, expires_at, used_at, grant_id FROM oauth_codes WHERE env_id = $1 AND code_hash = $2`, envID, codeHash).
		Scan(&c.CodeHash, &c.EnvID, &c.SessionID, &c.ClientID, &c.RedirectURI, &c.Scope, &c.Nonce, &c.CodeChallenge,
			&created, &expires, &used, &grant)
	if err != nil {
		return nil, mapErr(err)
	}
	c.CreatedAt, c.ExpiresAt, c.UsedAt, c.GrantID = fromMicros(created), fromMicros(expires), fromMicros(used.Int64), grant.String
	return &c, nil
}

// UseAuthCode marks an unused code used at now, atomically: of any number
// of concurrent calls for one code exactly one succeeds; the others (and
// any later call) get ErrNotFound.
func (q *Q) UseAuthCode(ctx context.Context, envID, codeHash string, now time.Time) error {
	res, err := q.exec(ctx, `UPDATE oauth_codes SET used_at = $3 WHERE env_id = $1 AND code_hash = $2 AND used_at IS NULL`,
		envID, codeHash, micros(now))
	return mustAffect(res, err)
}

// SetAuthCodeGrant records the grant a code's redemption created.
func (q *Q) SetAuthCodeGrant(ctx context.Context, envID, codeHash, grantID string) error {
	res, err := q.exec(ctx, `UPDATE oauth_codes SET grant_id = $3 WHERE env_id = $1 AND code_hash = $2`, envID, codeHash, grantID)
	return mustAffect(res, err)
}
