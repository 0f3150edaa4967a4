package store

import (
	"context"
	"errors"
	"time"
)

// CreateMemberAuthCode inserts c, like CreateAuthCode, only while userID
// exists and, when orgID is not "", is an ACTIVE member of orgID; else it
// inserts nothing and gives ErrNotFound. The check is part of the INSERT,
// so issuing a code takes one statement where GetUserProfile,
// MembershipRoles and CreateAuthCode took three. (The token endpoint reads
// the user and the membership again when the code is redeemed.)
func (q *Q) CreateMemberAuthCode(ctx context.Context, c *AuthCode, userID, orgID string) error {
	res, err := q.exec(ctx, `INSERT INTO oauth_codes (code_hash, env_id, session_id, client_id, redirect_uri, scope, nonce,
		code_challenge, created_at, expires_at)
		SELECT $5, $1, $6, $7, $8, $9, $10, $11, CAST($12 AS BIGINT), CAST($13 AS BIGINT)
		WHERE `+activeMember,
		c.EnvID, userID, orgID, MembershipActive,
		c.CodeHash, c.SessionID, c.ClientID, c.RedirectURI, c.Scope, c.Nonce, c.CodeChallenge, micros(c.CreatedAt), micros(c.ExpiresAt))
	return mustAffect(res, err)
}

// activeMember is the SQL condition CreateMemberAuthCode and WriteSignIn
// check, on placeholders $1 to $4: user $2 exists in environment $1 and,
// when organization $3 is not empty, is a member of it with status $4
// (MembershipActive).
const activeMember = `EXISTS (SELECT 1 FROM users WHERE env_id = $1 AND id = $2)
	AND (CAST($3 AS TEXT) = '' OR EXISTS (SELECT 1 FROM memberships
		WHERE env_id = $1 AND org_id = $3 AND user_id = $2 AND status = $4))`

// ErrRequestNotPending is WriteSignIn's answer when the authorization
// request is unknown, expired or finished already.
var ErrRequestNotPending = errors.New("the authorization request is not pending")

// ErrNotActiveMember is WriteSignIn's answer when the session's user is
// gone or, for a session in an organization, not an ACTIVE member of it.
var ErrNotActiveMember = errors.New("the user is gone or not an active member of the organization")

// SignIn is everything a sign-in at the hosted login writes when it ends
// by completing an authorization request (WriteSignIn).
type SignIn struct {
	Session   *Session
	Event     *Event    // Session's session.created event
	RequestID string    // the authorization request completed for Session
	Code      *AuthCode // its code, for Session (Code.SessionID is Session.ID)
	Now       time.Time // when the request completes and the user's last_login_at
	FlowID    string    // the login flow to end, or ""
	// Challenges is set when the flow sent codes, whose rows go with it.
	Challenges bool
	Attempt    *AuthAttempt // the authentication log's row, or nil
}

// WriteSignIn writes w all or nothing: the session and its event, the
// request completed by the session (FinishAuthRequest), its code, the
// user's last_login_at, the login flow deleted and the attempt logged. It
// answers ErrRequestNotPending, else ErrNotActiveMember (see
// CreateMemberAuthCode), with nothing written.
//
// On PostgreSQL it is one statement, whose steps each wait on the one
// before: one round trip and one commit, where the same writes one by one
// took nine round trips (BEGIN and COMMIT included) and each a turn of
// the executor in a backend on the login's cores
// (docs/benchmarks.md, BenchmarkPasswordLogin). SQLite, in process, runs
// them one by one in a transaction.
func (s *Store) WriteSignIn(ctx context.Context, w *SignIn) error {
	if s.dialect == Postgres {
		return s.writeSignInPostgres(ctx, w)
	}
	return s.Tx(ctx, func(q *Q) error {
		ses := w.Session
		err := q.FinishAuthRequest(ctx, ses.EnvID, w.RequestID, AuthRequestCompleted, ses.ID, w.Now)
		if errors.Is(err, ErrNotFound) {
			return ErrRequestNotPending
		} else if err != nil {
			return err
		}
		var member bool
		if err := q.queryRow(ctx, `SELECT `+activeMember, ses.EnvID, ses.UserID, ses.OrgID, MembershipActive).Scan(&member); err != nil {
			return mapErr(err)
		}
		if !member {
			return ErrNotActiveMember // checked before the session, whose foreign keys would refuse a user gone
		}
		if err := q.CreateSession(ctx, ses); err != nil {
			return err
		}
		if err := q.AddEvent(ctx, w.Event); err != nil {
			return err
		}
		if err := q.CreateAuthCode(ctx, w.Code); err != nil {
			return err
		}
		if err := q.SetLastLogin(ctx, ses.EnvID, ses.UserID, w.Now); err != nil {
			return err
		}
		if w.FlowID != "" {
			if err := q.DeleteLoginFlow(ctx, ses.EnvID, w.FlowID, w.Challenges); err != nil {
				return err
			}
		}
		if w.Attempt != nil {
			return q.AddAuthAttempt(ctx, w.Attempt)
		}
		return nil
	})
}

// signInStatement is WriteSignIn on PostgreSQL. pending and member read
// what the request's completion and the code need; fin completes the
// request only when the user may have the code, and every write after it
// happens only when fin did, so a refusal writes nothing. (Data-modifying
// WITH clauses always run to the end, read or not; the foreign keys are
// checked when the statement ends, with every row in place.) Values in a
// SELECT list are cast, since PostgreSQL does not take their types from
// the columns they go to.
const signInStatement = `WITH
pending AS (SELECT 1 FROM oauth_auth_requests
	WHERE env_id = $1 AND id = $5 AND status = 'pending' AND expires_at > $6),
member AS (SELECT 1 WHERE ` + activeMember + `),
fin AS (UPDATE oauth_auth_requests SET status = 'completed', session_id = $7
	WHERE env_id = $1 AND id = $5 AND status = 'pending' AND expires_at > $6 AND EXISTS (SELECT 1 FROM member)
	RETURNING 1),
usr AS (UPDATE users SET last_login_at = $6, updated_at = $6
	WHERE env_id = $1 AND id = $2 AND EXISTS (SELECT 1 FROM fin)),
ses AS (INSERT INTO sessions (` + sessionColumns + `)
	SELECT $7, $1, $2, NULLIF(CAST($3 AS TEXT), ''), CAST($8 AS BIGINT), CAST($9 AS TEXT), NULLIF(CAST($10 AS TEXT), ''),
		CAST($11 AS TEXT), CAST($12 AS TEXT), CAST($13 AS BIGINT), CAST($14 AS BIGINT), CAST($15 AS BIGINT), CAST($16 AS BIGINT),
		CAST($17 AS BIGINT), CAST($18 AS BIGINT), CAST($19 AS BIGINT), CAST($20 AS TEXT)
	FROM fin),
ev AS (INSERT INTO events (id, env_id, type, object_id, payload, created_at)
	SELECT $21, $1, CAST($22 AS TEXT), CAST($23 AS TEXT), CAST($24 AS TEXT), CAST($25 AS BIGINT) FROM fin),
code AS (INSERT INTO oauth_codes (code_hash, env_id, session_id, client_id, redirect_uri, scope, nonce, code_challenge,
		created_at, expires_at)
	SELECT $26, $1, $7, CAST($27 AS TEXT), CAST($28 AS TEXT), CAST($29 AS TEXT), CAST($30 AS TEXT), CAST($31 AS TEXT),
		CAST($32 AS BIGINT), CAST($33 AS BIGINT) FROM fin),
chl AS (DELETE FROM login_challenges
	WHERE env_id = $1 AND flow_id = $34 AND CAST($35 AS BOOLEAN) AND EXISTS (SELECT 1 FROM fin)),
flow AS (DELETE FROM login_flows WHERE env_id = $1 AND id = $34 AND EXISTS (SELECT 1 FROM fin)),
att AS (INSERT INTO auth_attempts (id, env_id, created_at, email_hash, method, outcome, ip, user_id, org_id, auth_request_id, client_id)
	SELECT $36, $1, CAST($37 AS BIGINT), CAST($38 AS TEXT), CAST($39 AS TEXT), CAST($40 AS TEXT), CAST($41 AS TEXT),
		CAST($42 AS TEXT), CAST($43 AS TEXT), CAST($44 AS TEXT), CAST($45 AS TEXT)
	FROM fin WHERE CAST($36 AS TEXT) <> '')
SELECT EXISTS (SELECT 1 FROM pending), EXISTS (SELECT 1 FROM member), EXISTS (SELECT 1 FROM fin)`

func (s *Store) writeSignInPostgres(ctx context.Context, w *SignIn) error {
	ses, e, c := w.Session, w.Event, w.Code
	a := w.Attempt
	if a == nil {
		a = &AuthAttempt{} // no ID: att inserts nothing
	}
	var pending, member, done bool
	err := s.Q().queryRow(ctx, signInStatement,
		ses.EnvID, ses.UserID, ses.OrgID, MembershipActive, w.RequestID, micros(w.Now), ses.ID,
		micros(ses.AuthTime), encodeJSON(nonNilList(ses.AMR)), ses.CookieHash, ses.UserAgent, ses.IP, ses.IdleTimeout.Microseconds(),
		micros(ses.CreatedAt), micros(ses.UpdatedAt), micros(ses.LastSeenAt), micros(ses.IdleExpiresAt), micros(ses.AbsoluteExpiresAt),
		nullMicros(ses.RevokedAt), ses.EndReason,
		e.ID, e.Type, e.ObjectID, e.Payload, micros(e.CreatedAt),
		c.CodeHash, c.ClientID, c.RedirectURI, c.Scope, c.Nonce, c.CodeChallenge, micros(c.CreatedAt), micros(c.ExpiresAt),
		w.FlowID, w.Challenges,
		a.ID, micros(a.CreatedAt), a.EmailHash, a.Method, a.Outcome, a.IP, a.UserID, a.OrgID, a.AuthRequestID, a.ClientID,
	).Scan(&pending, &member, &done)
	switch {
	case err != nil:
		return mapErr(err)
	case !pending:
		return ErrRequestNotPending
	case !member:
		return ErrNotActiveMember
	case !done:
		return ErrRequestNotPending // completed meanwhile by another sign-in
	}
	return nil
}
