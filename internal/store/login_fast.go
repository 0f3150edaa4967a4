package store

import (
	"context"
	"database/sql"
	"time"
)

// The password step of the hosted login in as few statements as its rules
// allow: every statement costs a round trip (and, on PostgreSQL, a
// backend's CPU) beside the argon2id verification the step is bound by
// (docs/benchmarks.md, BenchmarkPasswordLogin).

// PasswordAttempt is what the password step reads before it verifies:
// the user of the email typed in (nil for an unknown email) with what
// signing in needs, the stored hash ("" for none), the two throttling
// counters the attempt is checked against (zero when missing, as
// GetThrottle), and the session policies a sign-in would start its
// session under.
type PasswordAttempt struct {
	User    *User
	Hash    string
	Account Throttle
	IP      Throttle
	// AppPolicy is the environment's session policy and OrgPolicies the
	// own policies of the user's organizations, by organization ID, as
	// GetSessionPolicies reads them: nil and absent where there is none.
	AppPolicy   *SessionPolicy
	OrgPolicies map[string]*OrgSessionPolicy
}

// ReadPasswordAttempt reads, in one statement, what LoginLookup,
// GetThrottle of accountBucket and ipBucket, the user part of GetUser and
// GetSessionPolicies of each of the user's organizations would: the
// user's id, email, whether it is verified, and memberships with status,
// expiry and organization name, in GetUser's order (no roles, metadata or
// profile). The status is the stored one: an expired invitation is still
// MembershipPendingInvite, with its ExpiresAt. The statement is the same
// for known and unknown emails, so its cost tells nothing about the
// account (SECURITY-BAR A03).
func (q *Q) ReadPasswordAttempt(ctx context.Context, envID, emailNorm, accountBucket, ipBucket string) (PasswordAttempt, error) {
	rows, err := q.query(ctx, `SELECT `+passwordAttemptColumns+` FROM (SELECT 1 AS one) k `+passwordAttemptJoins+passwordAttemptOrder,
		envID, emailNorm, accountBucket, ipBucket)
	if err != nil {
		return PasswordAttempt{}, mapErr(err)
	}
	a, _, err := scanPasswordAttempt(rows, envID, accountBucket, ipBucket, nil, nil)
	return a, err
}

// ReadPasswordStep is LoginFlowByCookie and ReadPasswordAttempt in one
// statement, for a password step whose form names the email (its
// username field): the caller uses the attempt only if the flow's email
// is emailNorm, and reads it again otherwise. ErrNotFound when there is
// no such flow.
func (q *Q) ReadPasswordStep(ctx context.Context, envID, cookieHash string, now time.Time, emailNorm, accountBucket, ipBucket string) (*LoginFlow, *AuthRequest, PasswordAttempt, error) {
	rows, err := q.query(ctx, `SELECT `+loginFlowJoinColumns+`, `+passwordAttemptColumns+` FROM `+loginFlowJoin+` `+passwordAttemptJoins+`
		WHERE f.env_id = $1 AND f.cookie_hash = $5 AND f.expires_at > $6`+passwordAttemptOrder,
		envID, emailNorm, accountBucket, ipBucket, cookieHash, micros(now))
	if err != nil {
		return nil, nil, PasswordAttempt{}, mapErr(err)
	}
	var r, skip loginFlowRow
	a, found, err := scanPasswordAttempt(rows, envID, accountBucket, ipBucket, r.dest(), skip.dest())
	if err != nil {
		return nil, nil, PasswordAttempt{}, err
	}
	if !found {
		return nil, nil, PasswordAttempt{}, ErrNotFound
	}
	f, ar := r.result()
	return f, ar, a, nil
}

// passwordAttemptColumns and passwordAttemptJoins are ReadPasswordAttempt's
// columns and joins, with $1 the environment, $2 the email, $3 and $4 the
// buckets: one row per membership (one for a user without any and for an
// unknown email), in GetUser's order once the statement ends with
// passwordAttemptOrder.
const (
	passwordAttemptColumns = `COALESCE(u.id, ''), COALESCE(u.email, ''), COALESCE(u.email_verified, FALSE), COALESCE(p.hash, ''),
		COALESCE(ta.window_start, 0), COALESCE(ta.hits, 0), COALESCE(ta.next_at, 0),
		COALESCE(ti.window_start, 0), COALESCE(ti.hits, 0), COALESCE(ti.next_at, 0),
		COALESCE(mo.org_id, ''), COALESCE(mo.status, 0), COALESCE(mo.expires_at, 0), COALESCE(mo.display_name, ''),
		` + sessionPoliciesColumns
	passwordAttemptJoins = `LEFT JOIN users u ON u.env_id = $1 AND u.email_norm = $2
		LEFT JOIN user_passwords p ON p.user_id = u.id AND p.env_id = u.env_id
		LEFT JOIN login_throttle ta ON ta.env_id = $1 AND ta.bucket = $3
		LEFT JOIN login_throttle ti ON ti.env_id = $1 AND ti.bucket = $4
		LEFT JOIN (SELECT m.user_id, m.org_id, m.status, m.expires_at, m.created_at, o.display_name
			FROM memberships m JOIN organizations o ON o.id = m.org_id AND o.env_id = m.env_id
			WHERE m.env_id = $1) mo ON mo.user_id = u.id
		LEFT JOIN session_policies sp ON sp.env_id = $1
		LEFT JOIN organization_session_policies op ON op.env_id = $1 AND op.org_id = mo.org_id`
	passwordAttemptOrder = ` ORDER BY mo.created_at, mo.org_id`
)

// scanPasswordAttempt reads the rows of passwordAttemptColumns, each
// after other columns (none when first is nil): those of the first row
// into first, the same of the others into rest. found is false when there
// was no row.
func scanPasswordAttempt(rows *sql.Rows, envID, accountBucket, ipBucket string, first, rest []any) (a PasswordAttempt, found bool, err error) {
	defer rows.Close()
	a = PasswordAttempt{Account: Throttle{Bucket: accountBucket}, IP: Throttle{Bucket: ipBucket}, OrgPolicies: map[string]*OrgSessionPolicy{}}
	for ; rows.Next(); found = true {
		var userID, email, orgID, orgName string
		var verified bool
		var status int32
		var aStart, aNext, iStart, iNext, expires int64
		var pol sessionPoliciesRow
		dest := append([]any{&userID, &email, &verified, &a.Hash, &aStart, &a.Account.Hits, &aNext, &iStart, &a.IP.Hits, &iNext,
			&orgID, &status, &expires, &orgName}, pol.dest()...)
		if !found {
			dest = append(first[:len(first):len(first)], dest...)
		} else {
			dest = append(rest[:len(rest):len(rest)], dest...)
		}
		if err := rows.Scan(dest...); err != nil {
			return PasswordAttempt{}, false, mapErr(err)
		}
		if !found && userID != "" {
			a.User = &User{ID: userID, EnvID: envID, Email: email, EmailVerified: verified, Memberships: []*Membership{}}
		}
		app, org := pol.policies(envID)
		a.AppPolicy = app
		if a.User != nil && orgID != "" {
			a.User.Memberships = append(a.User.Memberships, &Membership{EnvID: envID, OrgID: orgID, UserID: userID,
				Status: status, ExpiresAt: fromMicros(expires), OrgName: orgName, Roles: []RoleRef{}})
			if org != nil {
				a.OrgPolicies[orgID] = org
			}
		}
		a.Account.WindowStart, a.Account.NextAt = fromMicros(aStart), fromMicros(aNext)
		a.IP.WindowStart, a.IP.NextAt = fromMicros(iStart), fromMicros(iNext)
	}
	if err := rows.Err(); err != nil {
		return PasswordAttempt{}, false, mapErr(err)
	}
	return a, found, nil
}

// SetLastLogin records a sign-in's time on the user (last_login_at, and
// updated_at as UpdateUser would). It is the whole of a sign-in's write to
// the user when there is no invitation to accept and no email to mark
// verified; ErrNotFound when the user is gone.
func (q *Q) SetLastLogin(ctx context.Context, envID, userID string, now time.Time) error {
	res, err := q.exec(ctx, `UPDATE users SET last_login_at = $3, updated_at = $3 WHERE env_id = $1 AND id = $2`,
		envID, userID, micros(now))
	return mustAffect(res, err)
}
