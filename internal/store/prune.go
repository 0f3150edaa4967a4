package store

import (
	"context"
	"fmt"
	"time"
)

// Prune kinds: the rows the background pruner (package prune) deletes,
// each by one fixed statement that removes at most a batch of rows whose
// time column is before a cutoff, so no delete holds its locks for long.
const (
	PruneLoginFlows      = "login_flows"      // expired sign-ins in progress
	PruneLoginChallenges = "login_challenges" // expired codes and magic links
	PrunePasswordResets  = "password_resets"  // expired reset links
	PruneThrottles       = "login_throttle"   // throttling windows long over
	PruneAuthRequests    = "auth_requests"    // expired authorization requests
	PruneCodes           = "oauth_codes"      // expired authorization codes
	PruneAccessTokens    = "access_tokens"    // expired access token records
	PruneRefreshTokens   = "refresh_tokens"   // rotated or revoked refresh tokens
	PruneSessions        = "sessions"         // ended or timed-out sessions, with their grants and tokens (cascade)
	PruneAuthLog         = "auth_attempts"    // authentication log entries
	PruneEmails          = "emails"           // emails delivered or given up on (their links are long dead)
	PruneEvents          = "events"           // outbox events past their retention
)

// pruneStatements delete up to $3 rows of env $1 older than $2.
var pruneStatements = map[string]string{
	PruneLoginFlows: `DELETE FROM login_flows WHERE id IN
		(SELECT id FROM login_flows WHERE env_id = $1 AND expires_at < $2 LIMIT $3)`,
	PruneLoginChallenges: `DELETE FROM login_challenges WHERE id IN
		(SELECT id FROM login_challenges WHERE env_id = $1 AND expires_at < $2 LIMIT $3)`,
	PrunePasswordResets: `DELETE FROM password_resets WHERE token_hash IN
		(SELECT token_hash FROM password_resets WHERE env_id = $1 AND expires_at < $2 LIMIT $3)`,
	PruneThrottles: `DELETE FROM login_throttle WHERE env_id = $1 AND bucket IN
		(SELECT bucket FROM login_throttle WHERE env_id = $1 AND window_start < $2 AND next_at < $2 LIMIT $3)`,
	PruneAuthRequests: `DELETE FROM oauth_auth_requests WHERE id IN
		(SELECT id FROM oauth_auth_requests WHERE env_id = $1 AND expires_at < $2 LIMIT $3)`,
	PruneCodes: `DELETE FROM oauth_codes WHERE code_hash IN
		(SELECT code_hash FROM oauth_codes WHERE env_id = $1 AND expires_at < $2 LIMIT $3)`,
	PruneAccessTokens: `DELETE FROM access_tokens WHERE jti IN
		(SELECT jti FROM access_tokens WHERE env_id = $1 AND expires_at < $2 LIMIT $3)`,
	PruneRefreshTokens: `DELETE FROM refresh_tokens WHERE token_hash IN
		(SELECT token_hash FROM refresh_tokens WHERE env_id = $1 AND (used_at < $2 OR revoked_at < $2) LIMIT $3)`,
	PruneSessions: `DELETE FROM sessions WHERE id IN
		(SELECT id FROM sessions WHERE env_id = $1 AND (revoked_at < $2 OR idle_expires_at < $2 OR absolute_expires_at < $2) LIMIT $3)`,
	PruneAuthLog: `DELETE FROM auth_attempts WHERE id IN
		(SELECT id FROM auth_attempts WHERE env_id = $1 AND created_at < $2 LIMIT $3)`,
	PruneEmails: `DELETE FROM emails WHERE id IN
		(SELECT id FROM emails WHERE env_id = $1 AND (sent_at < $2 OR given_up_at < $2) LIMIT $3)`,
	// Events have no delivery state: nothing dispatches them (no webhook
	// sender yet), readers page through them by id, so age alone decides.
	// A webhook sender that marks deliveries must add its condition here.
	PruneEvents: `DELETE FROM events WHERE id IN
		(SELECT id FROM events WHERE env_id = $1 AND created_at < $2 LIMIT $3)`,
}

// PruneBatch deletes up to limit rows of a prune kind older than cutoff and
// returns how many went; fewer than limit means none are left.
func (q *Q) PruneBatch(ctx context.Context, envID, kind string, cutoff time.Time, limit int) (int64, error) {
	stmt, ok := pruneStatements[kind]
	if !ok {
		return 0, fmt.Errorf("store: unknown prune kind %q", kind)
	}
	res, err := q.exec(ctx, stmt, envID, micros(cutoff), limit)
	if err != nil {
		return 0, mapErr(err)
	}
	return res.RowsAffected()
}
