package store

import (
	"context"
	"database/sql"
	"sort"
	"strings"
	"time"
)

// The refresh grant's common case in few statements: a rotation is mostly
// round trips to the database (on PostgreSQL each one costs CPU in
// Gatehouse and in the server process), so the session touch and the
// token's use return the rows they change, and the grant, the user, the
// membership with its roles and their permissions, and the session policy
// are read in one joined query. RotateRefresh (refresh_rotate.go) runs
// them, with the inserts of the new tokens, as one statement on PostgreSQL.
// The single-purpose methods (GetRefreshToken, TouchSession,
// UseRefreshToken, GetGrant, ...) remain for the rare paths that need to
// tell the cases apart.

// TouchRefreshSession touches (as TouchSession) the session of the refresh
// token with tokenHash, if the token is clientID's and not revoked, and
// returns the session as touched. A token that is unknown, another
// client's or revoked, and a session that is revoked or expired at now,
// all give ErrNotFound: the caller tells them apart on its slow path.
// Touching the session first locks its row first, the order revocations
// lock in.
func (q *Q) TouchRefreshSession(ctx context.Context, envID, tokenHash, clientID string, now time.Time) (*Session, error) {
	return scanSession(q.queryRow(ctx, `UPDATE sessions SET `+touchSet("$4")+`
		WHERE env_id = $1 AND id = (SELECT session_id FROM refresh_tokens
			WHERE env_id = $1 AND token_hash = $2 AND client_id = $3 AND revoked_at IS NULL)
		AND revoked_at IS NULL AND idle_expires_at > $4 AND absolute_expires_at > $4
		RETURNING `+sessionColumns, envID, tokenHash, clientID, micros(now)))
}

const refreshTokenColumns = `token_hash, env_id, family_id, parent_hash, session_id, client_id, scope, created_at,
	used_at, revoked_at`

func scanRefreshToken(sc interface{ Scan(...any) error }) (*RefreshToken, error) {
	var r refreshTokenRow
	if err := sc.Scan(r.dest()...); err != nil {
		return nil, mapErr(err)
	}
	return r.result(), nil
}

// refreshTokenRow scans refreshTokenColumns.
type refreshTokenRow struct {
	t             RefreshToken
	created       int64
	used, revoked sql.NullInt64
}

func (r *refreshTokenRow) dest() []any {
	t := &r.t
	return []any{&t.TokenHash, &t.EnvID, &t.FamilyID, &t.ParentHash, &t.SessionID, &t.ClientID, &t.Scope, &r.created, &r.used, &r.revoked}
}

func (r *refreshTokenRow) result() *RefreshToken {
	t := r.t
	t.CreatedAt, t.UsedAt, t.RevokedAt = fromMicros(r.created), fromMicros(r.used.Int64), fromMicros(r.revoked.Int64)
	return &t
}

// ClaimRefreshToken is UseRefreshToken returning the token as marked used:
// of concurrent calls for one token exactly one gets it; the others get
// ErrNotFound, as does a used, revoked, unknown or foreign token.
func (q *Q) ClaimRefreshToken(ctx context.Context, envID, tokenHash, clientID string, now time.Time) (*RefreshToken, error) {
	return scanRefreshToken(q.queryRow(ctx, `UPDATE refresh_tokens SET used_at = $4
		WHERE env_id = $1 AND token_hash = $2 AND client_id = $3 AND used_at IS NULL AND revoked_at IS NULL
		RETURNING `+refreshTokenColumns, envID, tokenHash, clientID, micros(now)))
}

// RefreshState is what issuing tokens for a refresh needs besides the
// token and the session, read in one query.
type RefreshState struct {
	Grant *Grant
	User  *User
	// Member is whether a membership of the user in the organization asked
	// for exists; MemberStatus is its status.
	Member       bool
	MemberStatus int32
	Roles        []RoleRef // the membership's roles by name; empty without one
	// Permissions are the names of the permissions the membership's roles
	// grant, base roles' included (as EffectivePermissions resolves them),
	// sorted and without repeats.
	Permissions []string
	// SessionPolicy is the environment's stored session policy, nil when
	// none is stored (the defaults apply).
	SessionPolicy *SessionPolicy
}

// GetRefreshState reads the grant grantID, the user userID, the user's
// membership in orgID with its roles and their permissions (orgID "" for
// none) and the environment's session policy. ErrNotFound when the grant or the user is
// gone.
func (q *Q) GetRefreshState(ctx context.Context, envID, grantID, userID, orgID string) (*RefreshState, error) {
	rows, err := q.query(ctx, refreshStateQuery, envID, grantID, userID, orgID, maxRoleDepth)
	if err != nil {
		return nil, mapErr(err)
	}
	st, roles, err := scanRoleRows(rows, scanRefreshStateRow)
	if err != nil {
		return nil, err
	}
	st.Roles = roles
	st.finish(envID)
	return st, nil
}

// scanRoleRows reads rows that each carry the same value, scanned by scan,
// and one role of it (nil for none): the first row's value and every
// row's role, in order. ErrNotFound when there is no row.
func scanRoleRows[T any](rows *sql.Rows, scan func(interface{ Scan(...any) error }) (T, *RoleRef, error)) (T, []RoleRef, error) {
	defer rows.Close()
	var first T
	var roles []RoleRef
	found := false
	for ; rows.Next(); found = true {
		v, role, err := scan(rows)
		if err != nil {
			return first, nil, err
		}
		if !found {
			first, roles = v, []RoleRef{}
		}
		if role != nil {
			roles = append(roles, *role)
		}
	}
	if err := rows.Err(); err != nil {
		return first, nil, mapErr(err)
	}
	if !found {
		return first, nil, ErrNotFound
	}
	return first, roles, nil
}

// finish completes a state scanned from rows of refreshStateQuery's
// columns.
func (st *RefreshState) finish(envID string) {
	st.Grant.EnvID = envID
	sort.Strings(st.Permissions)
}

// refreshStateQuery is GetRefreshState's query: one row per role of the
// membership (one row without roles), each with the grant, the membership
// status, the session policy and the user, and the permissions of all the
// roles as one space-separated string (permission names hold no spaces:
// rbac.PermissionNamePattern), worked out once by an uncorrelated
// subquery. It is built once, never changed.
var refreshStateQuery = `SELECT g.id, g.session_id, g.client_id, g.user_id, g.scope, g.created_at, g.revoked_at,
	m.status, r.id, r.name, r.display_name,
	` + membershipPermissions("$4", "$3", "$5") + `,
	sp.access_token_ttl_seconds, sp.absolute_timeout_minutes, sp.idle_timeout_enabled, sp.idle_timeout_minutes, sp.updated_at,
	` + qualify("u", userColumns) + `
	FROM oauth_grants g
	JOIN users u ON u.env_id = g.env_id AND u.id = $3
	LEFT JOIN memberships m ON m.env_id = g.env_id AND m.org_id = $4 AND m.user_id = u.id
	LEFT JOIN membership_roles mr ON mr.env_id = m.env_id AND mr.org_id = m.org_id AND mr.user_id = m.user_id
	LEFT JOIN roles r ON r.env_id = mr.env_id AND r.id = mr.role_id
	LEFT JOIN session_policies sp ON sp.env_id = g.env_id
	WHERE g.env_id = $1 AND g.id = $2
	ORDER BY r.name`

// membershipPermissions is a scalar subquery of the permissions the roles
// of user's membership in org grant, base roles' included up to depth
// (SQL expressions; the environment is $1), as one space-separated string
// of distinct names (permission names hold no spaces:
// rbac.PermissionNamePattern), NULL for none.
func membershipPermissions(org, user, depth string) string {
	return `(WITH RECURSIVE chain (id, depth) AS (
		SELECT role_id, 0 FROM membership_roles WHERE env_id = $1 AND org_id = ` + org + ` AND user_id = ` + user + `
		UNION ALL
		SELECT r2.base_role_id, c.depth + 1 FROM chain c JOIN roles r2 ON r2.env_id = $1 AND r2.id = c.id
		WHERE r2.base_role_id IS NOT NULL AND c.depth < ` + depth + `)
	SELECT string_agg(name, ' ') FROM (SELECT DISTINCT p.name FROM chain c
		JOIN role_permissions rp ON rp.env_id = $1 AND rp.role_id = c.id
		JOIN permissions p ON p.id = rp.permission_id) d)`
}

// touchSet is the SET list of an UPDATE of sessions that records a use at
// now (an SQL expression in microseconds): last_seen_at moves and the
// idle expiry slides, never past the absolute one.
func touchSet(now string) string {
	return `last_seen_at = ` + now + `,
		idle_expires_at = CASE WHEN ` + now + ` + idle_timeout < absolute_expires_at THEN ` + now + ` + idle_timeout ELSE absolute_expires_at END`
}

// qualify prefixes each column of a comma-separated list with table.
func qualify(table, columns string) string {
	cols := strings.Split(columns, ",")
	for i, c := range cols {
		cols[i] = table + "." + strings.TrimSpace(c)
	}
	return strings.Join(cols, ", ")
}

// scanRefreshStateRow scans one row of GetRefreshState: the state (the
// same on every row) and the row's role, nil when it has none.
func scanRefreshStateRow(rows interface{ Scan(...any) error }) (*RefreshState, *RoleRef, error) {
	st := &RefreshState{Grant: &Grant{}}
	g := st.Grant
	var gCreated int64
	var gRevoked sql.NullInt64
	var mStatus sql.NullInt32
	var roleID, roleName, roleDisplay, perms sql.NullString
	var spTTL, spAbs, spIdle, spUpdated sql.NullInt64
	var spIdleOn sql.NullBool
	u, err := scanUser(extraScan{rows, []any{&g.ID, &g.SessionID, &g.ClientID, &g.UserID, &g.Scope, &gCreated, &gRevoked,
		&mStatus, &roleID, &roleName, &roleDisplay, &perms, &spTTL, &spAbs, &spIdleOn, &spIdle, &spUpdated}})
	if err != nil {
		return nil, nil, err
	}
	st.User = u
	g.CreatedAt, g.RevokedAt = fromMicros(gCreated), fromMicros(gRevoked.Int64)
	st.Member, st.MemberStatus = mStatus.Valid, mStatus.Int32
	if perms.String != "" {
		st.Permissions = strings.Fields(perms.String)
	}
	if spTTL.Valid {
		st.SessionPolicy = &SessionPolicy{EnvID: u.EnvID, AccessTokenTTLSeconds: int32(spTTL.Int64),
			AbsoluteTimeoutMinutes: int32(spAbs.Int64), IdleTimeoutEnabled: spIdleOn.Bool, IdleTimeoutMinutes: int32(spIdle.Int64),
			UpdatedAt: fromMicros(spUpdated.Int64)}
	}
	if !roleID.Valid {
		return st, nil, nil
	}
	return st, &RoleRef{ID: roleID.String, Name: roleName.String, DisplayName: roleDisplay.String}, nil
}

// extraScan scans a row whose first columns are given by extra and the
// rest by the caller of Scan, so that a scan function for one table
// (scanUser) also serves a joined query that selects more.
type extraScan struct {
	sc    interface{ Scan(...any) error }
	extra []any
}

func (e extraScan) Scan(dest ...any) error {
	return e.sc.Scan(append(e.extra, dest...)...)
}
