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
// the user and hash of the email typed in (both "" for an unknown email,
// Hash "" for a user without a password) and the two throttling counters
// the attempt is checked against (zero when missing, as GetThrottle).
type PasswordAttempt struct {
	UserID  string
	Hash    string
	Account Throttle
	IP      Throttle
}

// ReadPasswordAttempt reads, in one statement, what LoginLookup and
// GetThrottle of accountBucket and ipBucket would. It always returns one
// row, for known and unknown emails alike, so its cost tells nothing
// about the account (SECURITY-BAR A03).
func (q *Q) ReadPasswordAttempt(ctx context.Context, envID, emailNorm, accountBucket, ipBucket string) (PasswordAttempt, error) {
	a := PasswordAttempt{Account: Throttle{Bucket: accountBucket}, IP: Throttle{Bucket: ipBucket}}
	var aStart, aNext, iStart, iNext int64
	err := q.queryRow(ctx, `SELECT COALESCE(u.id, ''), COALESCE(p.hash, ''),
		COALESCE(ta.window_start, 0), COALESCE(ta.hits, 0), COALESCE(ta.next_at, 0),
		COALESCE(ti.window_start, 0), COALESCE(ti.hits, 0), COALESCE(ti.next_at, 0)
		FROM (SELECT 1 AS one) k
		LEFT JOIN users u ON u.env_id = $1 AND u.email_norm = $2
		LEFT JOIN user_passwords p ON p.user_id = u.id AND p.env_id = u.env_id
		LEFT JOIN login_throttle ta ON ta.env_id = $1 AND ta.bucket = $3
		LEFT JOIN login_throttle ti ON ti.env_id = $1 AND ti.bucket = $4`,
		envID, emailNorm, accountBucket, ipBucket).
		Scan(&a.UserID, &a.Hash, &aStart, &a.Account.Hits, &aNext, &iStart, &a.IP.Hits, &iNext)
	if err != nil {
		return PasswordAttempt{}, mapErr(err)
	}
	a.Account.WindowStart, a.Account.NextAt = fromMicros(aStart), fromMicros(aNext)
	a.IP.WindowStart, a.IP.NextAt = fromMicros(iStart), fromMicros(iNext)
	return a, nil
}

// LoginUser reads what signing a user in needs, in one statement: id,
// email, whether it is verified, and the memberships with their status,
// expiry and organization name (no roles, metadata or profile, which
// GetUser reads in two more). ErrNotFound when there is no such user.
// Memberships come in GetUser's order; the status is the stored one (an
// expired invitation is still MembershipPendingInvite, with ExpiresAt).
func (q *Q) LoginUser(ctx context.Context, envID, userID string) (*User, error) {
	rows, err := q.query(ctx, `SELECT u.id, u.email, u.email_verified,
		COALESCE(mo.org_id, ''), COALESCE(mo.status, 0), COALESCE(mo.expires_at, 0), COALESCE(mo.display_name, '')
		FROM users u
		LEFT JOIN (SELECT m.org_id, m.status, m.expires_at, m.created_at, o.display_name
			FROM memberships m JOIN organizations o ON o.id = m.org_id AND o.env_id = m.env_id
			WHERE m.env_id = $1 AND m.user_id = $2) mo ON 1 = 1
		WHERE u.env_id = $1 AND u.id = $2
		ORDER BY mo.created_at, mo.org_id`, envID, userID)
	if err != nil {
		return nil, mapErr(err)
	}
	defer rows.Close()
	var u *User
	for rows.Next() {
		var id, email, orgID, orgName string
		var verified bool
		var status int32
		var expires int64
		if err := rows.Scan(&id, &email, &verified, &orgID, &status, &expires, &orgName); err != nil {
			return nil, mapErr(err)
		}
		if u == nil {
			u = &User{ID: id, EnvID: envID, Email: email, EmailVerified: verified, Memberships: []*Membership{}}
		}
		if orgID != "" {
			u.Memberships = append(u.Memberships, &Membership{EnvID: envID, OrgID: orgID, UserID: id, Status: status,
				ExpiresAt: fromMicros(expires), OrgName: orgName, Roles: []RoleRef{}})
		}
	}
	if err := rows.Err(); err != nil {
		return nil, mapErr(err)
	}
	if u == nil {
		return nil, ErrNotFound
	}
	return u, nil
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
