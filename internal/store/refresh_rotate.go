package store

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"
)

// Rotate is the common case of a refresh-token rotation, as RotateRefresh
// takes it: the token presented, and what to issue in its place.
type Rotate struct {
	EnvID     string
	TokenHash string // of the token presented
	ClientID  string // the authenticated client, whose token it must be
	// Scopes are the scopes asked for (the request's scope parameter, split
	// on whitespace), each of which the token must hold; none asks for the
	// token's own.
	Scopes       []string
	Now          time.Time
	JTI          string // the new access token's
	NewTokenHash string // the new refresh token's
	// The new access token expires at NoPolicyExpiry when the environment
	// stores no session policy, at Now plus the stored policy's
	// access-token life when that is positive, else at ZeroTTLExpiry.
	NoPolicyExpiry, ZeroTTLExpiry time.Time
}

// Rotation is what RotateRefresh did: the session touched, the token
// claimed, the state the new access token is issued from, and the new
// access token's expiry, zero when nothing was issued because the grant
// is revoked, the session is not live after the touch or the session's
// membership is not ACTIVE (the caller refuses; the token stays used).
type Rotation struct {
	Session         *Session
	Token           *RefreshToken
	State           *RefreshState
	AccessExpiresAt time.Time
}

// errNotRotated rolls back RotateRefresh's SQLite transaction when the
// common case does not apply.
var errNotRotated = errors.New("the rotation's common case does not apply")

// RotateRefresh is the refresh grant's common case as one write: it touches
// the session of the refresh token r.TokenHash (as TouchRefreshSession),
// claims the token (as ClaimRefreshToken), reads the state to issue from
// (as GetRefreshState) and, when the grant is not revoked, the session
// live and its membership (if any) ACTIVE, inserts the new access token
// and the new refresh token in the token's family. ErrNotFound, with no
// token claimed, when the common case does not apply: the token is unknown,
// another client's, revoked or used, does not hold every scope asked for,
// or its session is not live; and also when the grant or the user is
// gone (on PostgreSQL with the token claimed). The caller then takes the
// slow path, which tells those cases apart (a token claimed a moment ago
// is within its grace there).
//
// On PostgreSQL it is one statement, one round trip and one commit, where
// the same steps took seven round trips with BEGIN and COMMIT. Its plan
// costs the server about what the seven statements did
// (docs/benchmarks.md, BenchmarkTokenGrants); what it saves is the round
// trips' latency, and the time the session's row stays locked, where the
// database is across a network. SQLite, in process, runs the steps one by
// one in a transaction.
func (s *Store) RotateRefresh(ctx context.Context, r *Rotate) (*Rotation, error) {
	if s.dialect == Postgres {
		return s.rotateRefreshPostgres(ctx, r)
	}
	var rot *Rotation
	err := s.Tx(ctx, func(q *Q) error {
		var err error
		rot, err = q.rotateRefreshSteps(ctx, r)
		return err
	})
	if errors.Is(err, errNotRotated) {
		return nil, ErrNotFound
	}
	return rot, err
}

// rotateRefreshSteps is RotateRefresh one statement at a time, inside q's
// transaction, answering errNotRotated to roll it back.
func (q *Q) rotateRefreshSteps(ctx context.Context, r *Rotate) (*Rotation, error) {
	ses, err := q.TouchRefreshSession(ctx, r.EnvID, r.TokenHash, r.ClientID, r.Now)
	if err != nil {
		return nil, notRotated(err)
	}
	tok, err := q.ClaimRefreshToken(ctx, r.EnvID, r.TokenHash, r.ClientID, r.Now)
	if err != nil {
		return nil, notRotated(err)
	}
	if !holdsScopes(tok.Scope, r.Scopes) {
		return nil, errNotRotated
	}
	st, err := q.GetRefreshState(ctx, r.EnvID, tok.FamilyID, ses.UserID, ses.OrgID)
	if err != nil {
		return nil, notRotated(err)
	}
	rot := &Rotation{Session: ses, Token: tok, State: st}
	if !st.Grant.RevokedAt.IsZero() || !r.Now.Before(ses.IdleExpiresAt) || !r.Now.Before(ses.AbsoluteExpiresAt) ||
		ses.OrgID != "" && (!st.Member || st.MemberStatus != MembershipActive) {
		return rot, nil
	}
	rot.AccessExpiresAt = fromMicros(micros(r.accessExpiry(st.SessionPolicy))) // as stored
	if err := q.CreateAccessToken(ctx, &AccessToken{JTI: r.JTI, EnvID: r.EnvID, GrantID: st.Grant.ID, ExpiresAt: rot.AccessExpiresAt}); err != nil {
		return nil, err
	}
	g := st.Grant
	return rot, q.CreateRefreshToken(ctx, &RefreshToken{TokenHash: r.NewTokenHash, EnvID: r.EnvID, FamilyID: g.ID,
		ParentHash: r.TokenHash, SessionID: g.SessionID, ClientID: g.ClientID, Scope: g.Scope, CreatedAt: r.Now})
}

// notRotated is a step's error as rotateRefreshSteps answers it: a step
// that finds nothing means the common case does not apply.
func notRotated(err error) error {
	if errors.Is(err, ErrNotFound) {
		return errNotRotated
	}
	return err
}

// accessExpiry is the new access token's expiry under the stored session
// policy p (nil: none stored), as rotateStatement's CASE works it out.
func (r *Rotate) accessExpiry(p *SessionPolicy) time.Time {
	switch {
	case p == nil:
		return r.NoPolicyExpiry
	case p.AccessTokenTTLSeconds > 0:
		return r.Now.Add(time.Duration(p.AccessTokenTTLSeconds) * time.Second)
	}
	return r.ZeroTTLExpiry
}

// holdsScopes is whether the space-separated scope holds every one of
// asked.
func holdsScopes(scope string, asked []string) bool {
	held := strings.Fields(scope)
	for _, a := range asked {
		if !slices.Contains(held, a) {
			return false
		}
	}
	return true
}

// rotateStatement is RotateRefresh on PostgreSQL. ses and rt are
// TouchRefreshSession and ClaimRefreshToken, rt claiming only once ses has
// touched (and so locked) the session, the order revocations lock in; st
// is refreshStateQuery's state of the claimed token (one row, its roles
// joined in the final SELECT); ok holds st when the new tokens may be
// issued, and at and nrt insert them only then. (Data-modifying WITH
// clauses run to the end whether read or not.) $5 holds the scopes asked
// for, space-separated.
var rotateStatement = `WITH
ses AS (UPDATE sessions SET ` + touchSet("$4") + `
	WHERE env_id = $1 AND id = (SELECT session_id FROM refresh_tokens
		WHERE env_id = $1 AND token_hash = $2 AND client_id = $3 AND revoked_at IS NULL AND used_at IS NULL
			AND string_to_array(CAST($5 AS TEXT), ' ') <@ string_to_array(scope, ' '))
	AND revoked_at IS NULL AND idle_expires_at > $4 AND absolute_expires_at > $4
	RETURNING ` + sessionColumns + `),
rt AS (UPDATE refresh_tokens SET used_at = $4
	WHERE env_id = $1 AND token_hash = $2 AND client_id = $3 AND used_at IS NULL AND revoked_at IS NULL
		AND EXISTS (SELECT 1 FROM ses)
	RETURNING ` + refreshTokenColumns + `),
st AS (SELECT g.id AS g_id, g.session_id AS g_session_id, g.client_id AS g_client_id, g.user_id AS g_user_id, g.scope AS g_scope,
		g.created_at AS g_created_at, g.revoked_at AS g_revoked_at, m.status AS m_status,
		` + membershipPermissions("ses.org_id", "ses.user_id", "$10") + ` AS perms,
		sp.env_id AS sp_env_id, sp.access_token_ttl_seconds AS sp_ttl, sp.absolute_timeout_minutes AS sp_abs,
		sp.idle_timeout_enabled AS sp_idle_on, sp.idle_timeout_minutes AS sp_idle, sp.updated_at AS sp_updated,
		` + qualify("u", userColumns) + `
	FROM rt CROSS JOIN ses
	JOIN oauth_grants g ON g.env_id = $1 AND g.id = rt.family_id
	JOIN users u ON u.env_id = $1 AND u.id = ses.user_id
	LEFT JOIN memberships m ON m.env_id = $1 AND m.org_id = ses.org_id AND m.user_id = ses.user_id
	LEFT JOIN session_policies sp ON sp.env_id = $1),
ok AS (SELECT st.g_id, st.g_session_id, st.g_client_id, st.g_scope, st.sp_env_id, st.sp_ttl FROM st CROSS JOIN ses
	WHERE st.g_revoked_at IS NULL AND ses.idle_expires_at > $4 AND ses.absolute_expires_at > $4
		AND (COALESCE(ses.org_id, '') = '' OR st.m_status = $11)),
at AS (INSERT INTO access_tokens (jti, env_id, grant_id, expires_at, revoked_at)
	SELECT CAST($6 AS TEXT), $1, g_id, CASE WHEN sp_env_id IS NULL THEN CAST($8 AS BIGINT)
		WHEN sp_ttl > 0 THEN $4 + CAST(sp_ttl AS BIGINT) * 1000000 ELSE CAST($9 AS BIGINT) END, CAST(NULL AS BIGINT)
	FROM ok RETURNING expires_at),
nrt AS (INSERT INTO refresh_tokens (` + refreshTokenColumns + `)
	SELECT CAST($7 AS TEXT), $1, g_id, $2, g_session_id, g_client_id, g_scope, $4, CAST(NULL AS BIGINT), CAST(NULL AS BIGINT) FROM ok)
SELECT ` + qualify("ses", sessionColumns) + `, ` + qualify("rt", refreshTokenColumns) + `,
	COALESCE((SELECT expires_at FROM at), 0),
	st.g_id, st.g_session_id, st.g_client_id, st.g_user_id, st.g_scope, st.g_created_at, st.g_revoked_at,
	st.m_status, r.id, r.name, r.display_name, st.perms,
	st.sp_ttl, st.sp_abs, st.sp_idle_on, st.sp_idle, st.sp_updated,
	` + qualify("st", userColumns) + `
FROM ses CROSS JOIN rt CROSS JOIN st
LEFT JOIN membership_roles mr ON mr.env_id = $1 AND mr.org_id = ses.org_id AND mr.user_id = ses.user_id AND st.m_status IS NOT NULL
LEFT JOIN roles r ON r.env_id = $1 AND r.id = mr.role_id
ORDER BY r.name`

func (s *Store) rotateRefreshPostgres(ctx context.Context, r *Rotate) (*Rotation, error) {
	rows, err := s.Q().query(ctx, rotateStatement, r.EnvID, r.TokenHash, r.ClientID, micros(r.Now), strings.Join(r.Scopes, " "),
		r.JTI, r.NewTokenHash, micros(r.NoPolicyExpiry), micros(r.ZeroTTLExpiry), maxRoleDepth, MembershipActive)
	if err != nil {
		return nil, mapErr(err)
	}
	rot, roles, err := scanRoleRows(rows, scanRotationRow)
	if err != nil {
		return nil, err
	}
	rot.State.Roles = roles
	rot.State.finish(r.EnvID)
	return rot, nil
}

// scanRotationRow scans one row of rotateStatement: the session, the
// token and the access token's expiry (the same on every row), then a row
// of refreshStateQuery.
func scanRotationRow(rows interface{ Scan(...any) error }) (*Rotation, *RoleRef, error) {
	var ses sessionRow
	var tok refreshTokenRow
	var expiry int64
	st, role, err := scanRefreshStateRow(extraScan{rows, append(append(ses.dest(), tok.dest()...), &expiry)})
	if err != nil {
		return nil, nil, err
	}
	return &Rotation{Session: ses.result(), Token: tok.result(), State: st, AccessExpiresAt: fromMicros(expiry)}, role, nil
}
