package store

import (
	"context"
	"database/sql"
	"time"
)

// Grant is what one authorization-code redemption created: a family of
// refresh tokens and the access tokens issued with them, all under one
// session and one client.
type Grant struct {
	ID        string
	EnvID     string
	SessionID string
	ClientID  string
	UserID    string
	Scope     string // the scope the user granted; refreshes can only narrow it
	CreatedAt time.Time
	RevokedAt time.Time
}

// CreateGrant inserts g.
func (q *Q) CreateGrant(ctx context.Context, g *Grant) error {
	_, err := q.exec(ctx, `INSERT INTO oauth_grants (id, env_id, session_id, client_id, user_id, scope, created_at, revoked_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		g.ID, g.EnvID, g.SessionID, g.ClientID, g.UserID, g.Scope, micros(g.CreatedAt), nullMicros(g.RevokedAt))
	return mapErr(err)
}

// GetGrant reads one grant.
func (q *Q) GetGrant(ctx context.Context, envID, id string) (*Grant, error) {
	var g Grant
	var created int64
	var revoked sql.NullInt64
	err := q.queryRow(ctx, `SELECT id, env_id, session_id, client_id, user_id, scope, created_at, revoked_at
		FROM oauth_grants WHERE env_id = $1 AND id = $2`, envID, id).
		Scan(&g.ID, &g.EnvID, &g.SessionID, &g.ClientID, &g.UserID, &g.Scope, &created, &revoked)
	if err != nil {
		return nil, mapErr(err)
	}
	g.CreatedAt, g.RevokedAt = fromMicros(created), fromMicros(revoked.Int64)
	return &g, nil
}

// RevokeGrant revokes a grant at now with its whole refresh-token family
// and every access token issued under it. Revoking twice is harmless; an
// unknown grant is ErrNotFound. Run it inside Tx.
func (q *Q) RevokeGrant(ctx context.Context, envID, id string, now time.Time) error {
	var one int
	if err := q.queryRow(ctx, `SELECT 1 FROM oauth_grants WHERE env_id = $1 AND id = $2`, envID, id).Scan(&one); err != nil {
		return mapErr(err)
	}
	if _, err := q.exec(ctx, `UPDATE oauth_grants SET revoked_at = $3 WHERE env_id = $1 AND id = $2 AND revoked_at IS NULL`,
		envID, id, micros(now)); err != nil {
		return mapErr(err)
	}
	if _, err := q.exec(ctx, `UPDATE refresh_tokens SET revoked_at = $3 WHERE env_id = $1 AND family_id = $2 AND revoked_at IS NULL`,
		envID, id, micros(now)); err != nil {
		return mapErr(err)
	}
	_, err := q.exec(ctx, `UPDATE access_tokens SET revoked_at = $3 WHERE env_id = $1 AND grant_id = $2 AND revoked_at IS NULL`,
		envID, id, micros(now))
	return mapErr(err)
}

// RefreshToken is a refresh token (rt_...), kept only as its hash.
type RefreshToken struct {
	TokenHash  string
	EnvID      string
	FamilyID   string // the grant
	ParentHash string // the token this one replaced; empty for the first
	SessionID  string
	ClientID   string
	Scope      string
	CreatedAt  time.Time
	UsedAt     time.Time
	RevokedAt  time.Time
}

// CreateRefreshToken inserts t.
func (q *Q) CreateRefreshToken(ctx context.Context, t *RefreshToken) error {
	_, err := q.exec(ctx, `INSERT INTO refresh_tokens (token_hash, env_id, family_id, parent_hash, session_id, client_id, scope,
		created_at, used_at, revoked_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		t.TokenHash, t.EnvID, t.FamilyID, t.ParentHash, t.SessionID, t.ClientID, t.Scope, micros(t.CreatedAt),
		nullMicros(t.UsedAt), nullMicros(t.RevokedAt))
	return mapErr(err)
}

// GetRefreshToken reads a refresh token by its hash.
func (q *Q) GetRefreshToken(ctx context.Context, envID, tokenHash string) (*RefreshToken, error) {
	var t RefreshToken
	var created int64
	var used, revoked sql.NullInt64
	err := q.queryRow(ctx, `SELECT token_hash, env_id, family_id, parent_hash, session_id, client_id, scope, created_at,
		used_at, revoked_at FROM refresh_tokens WHERE env_id = $1 AND token_hash = $2`, envID, tokenHash).
		Scan(&t.TokenHash, &t.EnvID, &t.FamilyID, &t.ParentHash, &t.SessionID, &t.ClientID, &t.Scope, &created, &used, &revoked)
	if err != nil {
		return nil, mapErr(err)
	}
	t.CreatedAt, t.UsedAt, t.RevokedAt = fromMicros(created), fromMicros(used.Int64), fromMicros(revoked.Int64)
	return &t, nil
}

// UseRefreshToken marks a live, unused refresh token of clientID used at
// now, atomically: of concurrent calls for one token exactly one succeeds;
// the others get ErrNotFound, as does a used, revoked, unknown or foreign
// token.
func (q *Q) UseRefreshToken(ctx context.Context, envID, tokenHash, clientID string, now time.Time) error {
	res, err := q.exec(ctx, `UPDATE refresh_tokens SET used_at = $4
		WHERE env_id = $1 AND token_hash = $2 AND client_id = $3 AND used_at IS NULL AND revoked_at IS NULL`,
		envID, tokenHash, clientID, micros(now))
	return mustAffect(res, err)
}

// AccessToken records a user access token by its jti.
type AccessToken struct {
	JTI       string
	EnvID     string
	GrantID   string
	ExpiresAt time.Time
	RevokedAt time.Time
}

// CreateAccessToken inserts t.
func (q *Q) CreateAccessToken(ctx context.Context, t *AccessToken) error {
	_, err := q.exec(ctx, `INSERT INTO access_tokens (jti, env_id, grant_id, expires_at, revoked_at) VALUES ($1, $2, $3, $4, $5)`,
		t.JTI, t.EnvID, t.GrantID, micros(t.ExpiresAt), nullMicros(t.RevokedAt))
	return mapErr(err)
}

// RevokeAccessToken revokes one access token; ErrNotFound if unknown.
func (q *Q) RevokeAccessToken(ctx context.Context, envID, jti string, now time.Time) error {
	var one int
	if err := q.queryRow(ctx, `SELECT 1 FROM access_tokens WHERE env_id = $1 AND jti = $2`, envID, jti).Scan(&one); err != nil {
		return mapErr(err)
	}
	_, err := q.exec(ctx, `UPDATE access_tokens SET revoked_at = $3 WHERE env_id = $1 AND jti = $2 AND revoked_at IS NULL`,
		envID, jti, micros(now))
	return mapErr(err)
}

// AccessTokenState is everything that decides whether a user access token
// is still good, read in one query: the token, its grant, its session and
// the membership the session is for.
type AccessTokenState struct {
	Token    AccessToken
	Grant    Grant
	Session  Session // only the fields that decide liveness are filled
	HasOrg   bool
	MemberOK bool // the session's membership exists and is active (true when the session has no organization)
}

// GetAccessTokenState reads the state of the access token with jti.
func (q *Q) GetAccessTokenState(ctx context.Context, envID, jti string) (*AccessTokenState, error) {
	var st AccessTokenState
	var tExp int64
	var tRev, gRev, sRev sql.NullInt64
	var gCreated, sIdle, sAbs int64
	var org sql.NullString
	var mStatus sql.NullInt32
	err := q.queryRow(ctx, `SELECT a.jti, a.grant_id, a.expires_at, a.revoked_at,
		g.session_id, g.client_id, g.user_id, g.scope, g.created_at, g.revoked_at,
		s.revoked_at, s.idle_expires_at, s.absolute_expires_at, s.org_id, m.status
		FROM access_tokens a
		JOIN oauth_grants g ON g.env_id = a.env_id AND g.id = a.grant_id
		JOIN sessions s ON s.env_id = g.env_id AND s.id = g.session_id
		LEFT JOIN memberships m ON m.env_id = s.env_id AND m.org_id = s.org_id AND m.user_id = s.user_id
		WHERE a.env_id = $1 AND a.jti = $2`, envID, jti).
		Scan(&st.Token.JTI, &st.Token.GrantID, &tExp, &tRev, &st.Grant.SessionID, &st.Grant.ClientID, &st.Grant.UserID,
			&st.Grant.Scope, &gCreated, &gRev, &sRev, &sIdle, &sAbs, &org, &mStatus)
	if err != nil {
		return nil, mapErr(err)
	}
	st.Token.EnvID, st.Grant.EnvID, st.Grant.ID = envID, envID, st.Token.GrantID
	st.Token.ExpiresAt, st.Token.RevokedAt = fromMicros(tExp), fromMicros(tRev.Int64)
	st.Grant.CreatedAt, st.Grant.RevokedAt = fromMicros(gCreated), fromMicros(gRev.Int64)
	st.Session = Session{ID: st.Grant.SessionID, EnvID: envID, UserID: st.Grant.UserID, OrgID: org.String,
		RevokedAt: fromMicros(sRev.Int64), IdleExpiresAt: fromMicros(sIdle), AbsoluteExpiresAt: fromMicros(sAbs)}
	st.HasOrg = org.Valid
	st.MemberOK = !org.Valid || (mStatus.Valid && mStatus.Int32 == MembershipActive)
	return &st, nil
}

// MembershipRoles returns the status of a user's membership in an
// organization and its roles (by name); ErrNotFound without one.
func (q *Q) MembershipRoles(ctx context.Context, envID, orgID, userID string) (int32, []RoleRef, error) {
	var status int32
	if err := q.queryRow(ctx, `SELECT status FROM memberships WHERE env_id = $1 AND org_id = $2 AND user_id = $3`,
		envID, orgID, userID).Scan(&status); err != nil {
		return 0, nil, mapErr(err)
	}
	rows, err := q.query(ctx, `SELECT r.id, r.name, r.display_name FROM membership_roles mr
		JOIN roles r ON r.env_id = mr.env_id AND r.id = mr.role_id
		WHERE mr.env_id = $1 AND mr.org_id = $2 AND mr.user_id = $3 ORDER BY r.name`, envID, orgID, userID)
	if err != nil {
		return 0, nil, mapErr(err)
	}
	defer rows.Close()
	roles := []RoleRef{}
	for rows.Next() {
		var r RoleRef
		if err := rows.Scan(&r.ID, &r.Name, &r.DisplayName); err != nil {
			return 0, nil, mapErr(err)
		}
		roles = append(roles, r)
	}
	return status, roles, mapErr(rows.Err())
}

// GetUserProfile reads one user without memberships: what token claims need.
func (q *Q) GetUserProfile(ctx context.Context, envID, id string) (*User, error) {
	return scanUser(q.queryRow(ctx, `SELECT `+userColumns+` FROM users WHERE env_id = $1 AND id = $2`, envID, id))
}
