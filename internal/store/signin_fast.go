package store

import "context"

// CreateMemberAuthCode inserts c, like CreateAuthCode, only while userID
// exists and, when orgID is not "", is an ACTIVE member of orgID; else it
// inserts nothing and gives ErrNotFound. The check is part of the INSERT,
// so issuing a code takes one statement where GetUserProfile,
// MembershipRoles and CreateAuthCode took three. (The token endpoint reads
// the user and the membership again when the code is redeemed.)
func (q *Q) CreateMemberAuthCode(ctx context.Context, c *AuthCode, userID, orgID string) error {
	res, err := q.exec(ctx, `INSERT INTO oauth_codes (code_hash, env_id, session_id, client_id, redirect_uri, scope, nonce,
		code_challenge, created_at, expires_at)
		SELECT $1, $2, $3, $4, $5, $6, $7, $8, CAST($9 AS BIGINT), CAST($10 AS BIGINT)
		WHERE EXISTS (SELECT 1 FROM users WHERE env_id = $2 AND id = $11)
		AND (CAST($12 AS TEXT) = '' OR EXISTS (SELECT 1 FROM memberships
			WHERE env_id = $2 AND org_id = $12 AND user_id = $11 AND status = $13))`,
		c.CodeHash, c.EnvID, c.SessionID, c.ClientID, c.RedirectURI, c.Scope, c.Nonce, c.CodeChallenge, micros(c.CreatedAt),
		micros(c.ExpiresAt), userID, orgID, MembershipActive)
	return mustAffect(res, err)
}
