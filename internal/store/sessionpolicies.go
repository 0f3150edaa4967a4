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
	var r sessionPoliciesRow
	// The one-row key joins to at most one row of each table (both are
	// keyed by it), so the answer is always exactly one row.
	err := q.queryRow(ctx, `SELECT `+sessionPoliciesColumns+`
		FROM (SELECT CAST($1 AS TEXT) AS env_id, CAST($2 AS TEXT) AS org_id) k
		LEFT JOIN session_policies sp ON sp.env_id = k.env_id
		LEFT JOIN organization_session_policies op ON op.env_id = k.env_id AND op.org_id = k.org_id`, envID, orgID).
		Scan(r.dest()...)
	if err != nil {
		return nil, nil, mapErr(err)
	}
	env, org := r.policies(envID)
	return env, org, nil
}

// sessionPoliciesColumns are an environment's session policy (sp) and an
// organization's own (op), each from a LEFT JOIN, as sessionPoliciesRow
// scans them.
const sessionPoliciesColumns = `sp.env_id, sp.access_token_ttl_seconds, sp.absolute_timeout_minutes, sp.idle_timeout_enabled,
		sp.idle_timeout_minutes, sp.updated_at, op.org_id, op.absolute_timeout, op.absolute_timeout_unit, op.idle_timeout_enabled,
		op.idle_timeout, op.idle_timeout_unit, op.updated_at`

// sessionPoliciesRow scans sessionPoliciesColumns: every column may be
// NULL, where a policy is missing.
type sessionPoliciesRow struct {
	envSeen, orgSeen     sql.NullString
	ttl, absMin, idleMin sql.NullInt32
	envIdle, orgIdle     sql.NullBool
	envAt, orgAt         sql.NullInt64
	abs, idle            sql.NullInt32
	absUnit, idleUnit    sql.NullString
}

func (r *sessionPoliciesRow) dest() []any {
	return []any{&r.envSeen, &r.ttl, &r.absMin, &r.envIdle, &r.idleMin, &r.envAt, &r.orgSeen, &r.abs, &r.absUnit, &r.orgIdle,
		&r.idle, &r.idleUnit, &r.orgAt}
}

// policies are the two policies of the row, each nil where it is missing.
func (r *sessionPoliciesRow) policies(envID string) (*SessionPolicy, *OrgSessionPolicy) {
	var env *SessionPolicy
	if r.envSeen.Valid {
		env = &SessionPolicy{EnvID: r.envSeen.String, AccessTokenTTLSeconds: r.ttl.Int32, AbsoluteTimeoutMinutes: r.absMin.Int32,
			IdleTimeoutEnabled: r.envIdle.Bool, IdleTimeoutMinutes: r.idleMin.Int32, UpdatedAt: fromMicros(r.envAt.Int64)}
	}
	var org *OrgSessionPolicy
	if r.orgSeen.Valid {
		org = &OrgSessionPolicy{EnvID: envID, OrgID: r.orgSeen.String, AbsoluteTimeout: r.abs.Int32, AbsoluteTimeoutUnit: r.absUnit.String,
			IdleTimeoutEnabled: r.orgIdle.Bool, IdleTimeout: r.idle.Int32, IdleTimeoutUnit: r.idleUnit.String, UpdatedAt: fromMicros(r.orgAt.Int64)}
	}
	return env, org
}
