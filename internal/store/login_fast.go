package store

import (
	"context"
	"time"
)

// The password step of the hosted login in as few statements as its rules
// allow: every statement costs a round trip (and, on PostgreSQL, a
// backend's CPU) beside the argon2id verification the step is bound by
// (docs/benchmarks.md, BenchmarkPasswordLogin).

// PasswordAttempt is what the password step reads before it verifies:
// the user of the email typed in (nil for an unknown email) with what
// signing in needs, the stored hash ("" for none), and the two throttling
// counters the attempt is checked against (zero when missing, as
// GetThrottle).
type PasswordAttempt struct {
	User    *User
	Hash    string
	Account Throttle
	IP      Throttle
}

// ReadPasswordAttempt reads, in one statement, what LoginLookup,
// GetThrottle of accountBucket and ipBucket, and the user part of GetUser
// would: the user's id, email, whether it is verified, and memberships
// with status, expiry and organization name, in GetUser's order (no
// roles, metadata or profile). The status is the stored one: an expired
// invitation is still MembershipPendingInvite, with its ExpiresAt. The
// statement is the same for known and unknown emails, so its cost tells
// nothing about the account (SECURITY-BAR A03).
func (q *Q) ReadPasswordAttempt(ctx context.Context, envID, emailNorm, accountBucket, ipBucket string) (PasswordAttempt, error) {
	rows, err := q.query(ctx, `SELECT COALESCE(u.id, ''), COALESCE(u.email, ''), COALESCE(u.email_verified, FALSE), COALESCE(p.hash, ''),
		COALESCE(ta.window_start, 0), COALESCE(ta.hits, 0), COALESCE(ta.next_at, 0),
		COALESCE(ti.window_start, 0), COALESCE(ti.hits, 0), COALESCE(ti.next_at, 0),
		COALESCE(mo.org_id, ''), COALESCE(mo.status, 0), COALESCE(mo.expires_at, 0), COALESCE(mo.display_name, '')
		FROM (SELECT 1 AS one) k
		LEFT JOIN users u ON u.env_id = $1 AND u.email_norm = $2
		LEFT JOIN user_passwords p ON p.user_id = u.id AND p.env_id = u.env_id
		LEFT JOIN login_throttle ta ON ta.env_id = $1 AND ta.bucket = $3
		LEFT JOIN login_throttle ti ON ti.env_id = $1 AND ti.bucket = $4
		LEFT JOIN (SELECT m.user_id, m.org_id, m.status, m.expires_at, m.created_at, o.display_name
			FROM memberships m JOIN organizations o ON o.id = m.org_id AND o.env_id = m.env_id
			WHERE m.env_id = $1) mo ON mo.user_id = u.id
		ORDER BY mo.created_at, mo.org_id`,
		envID, emailNorm, accountBucket, ipBucket)
	if err != nil {
		return PasswordAttempt{}, mapErr(err)
	}
	defer rows.Close()
	a := PasswordAttempt{Account: Throttle{Bucket: accountBucket}, IP: Throttle{Bucket: ipBucket}}
	for first := true; rows.Next(); first = false {
		var userID, email, orgID, orgName string
		var verified bool
		var status int32
		var aStart, aNext, iStart, iNext, expires int64
		if err := rows.Scan(&userID, &email, &verified, &a.Hash, &aStart, &a.Account.Hits, &aNext, &iStart, &a.IP.Hits, &iNext,
			&orgID, &status, &expires, &orgName); err != nil {
			return PasswordAttempt{}, mapErr(err)
		}
		if first && userID != "" {
			a.User = &User{ID: userID, EnvID: envID, Email: email, EmailVerified: verified, Memberships: []*Membership{}}
		}
		if a.User != nil && orgID != "" {
			a.User.Memberships = append(a.User.Memberships, &Membership{EnvID: envID, OrgID: orgID, UserID: userID,
				Status: status, ExpiresAt: fromMicros(expires), OrgName: orgName, Roles: []RoleRef{}})
		}
		a.Account.WindowStart, a.Account.NextAt = fromMicros(aStart), fromMicros(aNext)
		a.IP.WindowStart, a.IP.NextAt = fromMicros(iStart), fromMicros(iNext)
	}
	if err := rows.Err(); err != nil {
		return PasswordAttempt{}, mapErr(err)
	}
	return a, nil
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
