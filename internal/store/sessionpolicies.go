package store

import (
	"context"
	"database/sql"
)

// GetSessionPolicies reads, in one statement, what GetSessionPolicy and
// GetOrgSessionPolicy read in two: the environment's session policy and
// orgID's own ("" for none). Each is nil where that read answers
// ErrNotFound. Every sign-in reads both to start its session
// (settings.Service.EffectivePolicyIn), so this saves a round trip per
// sign-in.
func (q *Q) GetSessionPolicies(ctx context.Context, envID, orgID string) (*SessionPolicy, *OrgSessionPolicy, error) {
	var (
		envSeen, orgSeen     sql.NullString
		ttl, absMin, idleMin sql.NullInt32
		envIdle, orgIdle     sql.NullBool
		envAt, orgAt         sql.NullInt64
		abs, idle            sql.NullInt32
		absUnit, idleUnit    sql.NullString
	)
	// The one-row key joins to at most one row of each table (both are
	// keyed by it), so the answer is always exactly one row.
	err := q.queryRow(ctx, `SELECT sp.env_id, sp.access_token_ttl_seconds, sp.absolute_timeout_minutes, sp.idle_timeout_enabled,
		sp.idle_timeout_minutes, sp.updated_at, op.org_id, op.absolute_timeout, op.absolute_timeout_unit, op.idle_timeout_enabled,
		op.idle_timeout, op.idle_timeout_unit, op.updated_at
		FROM (SELECT CAST($1 AS TEXT) AS env_id, CAST($2 AS TEXT) AS org_id) k
		LEFT JOIN session_policies sp ON sp.env_id = k.env_id
		LEFT JOIN organization_session_policies op ON op.env_id = k.env_id AND op.org_id = k.org_id`, envID, orgID).
		Scan(&envSeen, &ttl, &absMin, &envIdle, &idleMin, &envAt, &orgSeen, &abs, &absUnit, &orgIdle, &idle, &idleUnit, &orgAt)
	if err != nil {
		return nil, nil, mapErr(err)
	}
	var env *SessionPolicy
	if envSeen.Valid {
		env = &SessionPolicy{EnvID: envSeen.String, AccessTokenTTLSeconds: ttl.Int32, AbsoluteTimeoutMinutes: absMin.Int32,
			IdleTimeoutEnabled: envIdle.Bool, IdleTimeoutMinutes: idleMin.Int32, UpdatedAt: fromMicros(envAt.Int64)}
	}
	var org *OrgSessionPolicy
	if orgSeen.Valid {
		org = &OrgSessionPolicy{EnvID: envID, OrgID: orgSeen.String, AbsoluteTimeout: abs.Int32, AbsoluteTimeoutUnit: absUnit.String,
			IdleTimeoutEnabled: orgIdle.Bool, IdleTimeout: idle.Int32, IdleTimeoutUnit: idleUnit.String, UpdatedAt: fromMicros(orgAt.Int64)}
	}
	return env, org, nil
}
