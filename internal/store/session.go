package store

import (
	"context"
	"database/sql"
	"time"
)

// Session is a browser session at Gatehouse (ses_...): who signed in, for
// which organization, how, and until when.
type Session struct {
	ID         string
	EnvID      string
	UserID     string
	OrgID      string // empty when the session is for no organization
	AuthTime   time.Time
	AMR        []string
	CookieHash string // empty when the session has no browser cookie
	UserAgent  string
	IP         string
	// IdleTimeout is how far each use pushes IdleExpiresAt (never past
	// AbsoluteExpiresAt).
	IdleTimeout       time.Duration
	CreatedAt         time.Time
	UpdatedAt         time.Time
	LastSeenAt        time.Time
	IdleExpiresAt     time.Time
	AbsoluteExpiresAt time.Time
	RevokedAt         time.Time
	EndReason         string // why RevokedAt is set: "logout", "revoked", "refresh_token_reuse", ...

	// ClientIDs are the clients that received tokens under the session,
	// filled by the methods that say so.
	ClientIDs []string
}

const sessionColumns = `id, env_id, user_id, org_id, auth_time, amr, cookie_hash, user_agent, ip, idle_timeout, created_at,
	updated_at, last_seen_at, idle_expires_at, absolute_expires_at, revoked_at, end_reason`

func scanSession(sc interface{ Scan(...any) error }) (*Session, error) {
	var r sessionRow
	if err := sc.Scan(r.dest()...); err != nil {
		return nil, mapErr(err)
	}
	return r.result(), nil
}

// sessionRow scans sessionColumns.
type sessionRow struct {
	s                                                       Session
	org, cookie                                             sql.NullString
	amr                                                     string
	authTime, idle, created, updated, seen, idleExp, absExp int64
	revoked                                                 sql.NullInt64
}

func (r *sessionRow) dest() []any {
	s := &r.s
	return []any{&s.ID, &s.EnvID, &s.UserID, &r.org, &r.authTime, &r.amr, &r.cookie, &s.UserAgent, &s.IP, &r.idle, &r.created,
		&r.updated, &r.seen, &r.idleExp, &r.absExp, &r.revoked, &s.EndReason}
}

func (r *sessionRow) result() *Session {
	s := r.s
	s.OrgID, s.CookieHash, s.AMR = r.org.String, r.cookie.String, decodeList(r.amr)
	s.IdleTimeout = time.Duration(r.idle) * time.Microsecond
	s.AuthTime, s.CreatedAt, s.UpdatedAt, s.LastSeenAt = fromMicros(r.authTime), fromMicros(r.created), fromMicros(r.updated), fromMicros(r.seen)
	s.IdleExpiresAt, s.AbsoluteExpiresAt, s.RevokedAt = fromMicros(r.idleExp), fromMicros(r.absExp), fromMicros(r.revoked.Int64)
	return &s
}

func nullIfEmpty(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }

// CreateSession inserts s.
func (q *Q) CreateSession(ctx context.Context, s *Session) error {
	_, err := q.exec(ctx, `INSERT INTO sessions (`+sessionColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)`,
		s.ID, s.EnvID, s.UserID, nullIfEmpty(s.OrgID), micros(s.AuthTime), encodeJSON(nonNilList(s.AMR)), nullIfEmpty(s.CookieHash),
		s.UserAgent, s.IP, s.IdleTimeout.Microseconds(), micros(s.CreatedAt), micros(s.UpdatedAt), micros(s.LastSeenAt),
		micros(s.IdleExpiresAt), micros(s.AbsoluteExpiresAt), nullMicros(s.RevokedAt), s.EndReason)
	return mapErr(err)
}

// GetSession reads one session (ClientIDs left empty).
func (q *Q) GetSession(ctx context.Context, envID, id string) (*Session, error) {
	return scanSession(q.queryRow(ctx, `SELECT `+sessionColumns+` FROM sessions WHERE env_id = $1 AND id = $2`, envID, id))
}

// GetSessionDetails reads one session with the clients it issued tokens to.
func (q *Q) GetSessionDetails(ctx context.Context, envID, id string) (*Session, error) {
	s, err := q.GetSession(ctx, envID, id)
	if err != nil {
		return nil, err
	}
	return s, q.attachSessionClients(ctx, envID, []*Session{s})
}

// GetSessionByCookie reads the session whose cookie hashes to cookieHash.
func (q *Q) GetSessionByCookie(ctx context.Context, envID, cookieHash string) (*Session, error) {
	return scanSession(q.queryRow(ctx, `SELECT `+sessionColumns+` FROM sessions WHERE env_id = $1 AND cookie_hash = $2`,
		envID, cookieHash))
}

// TouchSession records a use of a live session at now: it moves
// last_seen_at and slides the idle expiry (never past the absolute one).
// A session that is revoked or expired at now is not touched and gives
// ErrNotFound.
func (q *Q) TouchSession(ctx context.Context, envID, id string, now time.Time) error {
	res, err := q.exec(ctx, `UPDATE sessions SET `+touchSet("$3")+`
		WHERE env_id = $1 AND id = $2 AND revoked_at IS NULL AND idle_expires_at > $3 AND absolute_expires_at > $3`,
		envID, id, micros(now))
	return mustAffect(res, err)
}

// RevokeSession ends a session at now for reason, and with it every grant,
// refresh token and access token issued under it. Revoking an ended
// session changes nothing and is not an error; an unknown one is
// ErrNotFound. Run it inside Tx so all of it happens or none.
func (q *Q) RevokeSession(ctx context.Context, envID, id string, now time.Time, reason string) error {
	var one int
	if err := q.queryRow(ctx, `SELECT 1 FROM sessions WHERE env_id = $1 AND id = $2`, envID, id).Scan(&one); err != nil {
		return mapErr(err)
	}
	if _, err := q.exec(ctx, `UPDATE sessions SET revoked_at = $3, end_reason = $4, updated_at = $3, cookie_hash = NULL
		WHERE env_id = $1 AND id = $2 AND revoked_at IS NULL`, envID, id, micros(now), reason); err != nil {
		return mapErr(err)
	}
	return q.revokeSessionTokens(ctx, envID, id, now)
}

// revokeSessionTokens revokes grants, then refresh tokens, then access
// tokens: the order RevokeGrant locks them in too, so two revocations
// running at once on PostgreSQL cannot deadlock.
func (q *Q) revokeSessionTokens(ctx context.Context, envID, sessionID string, now time.Time) error {
	if _, err := q.exec(ctx, `UPDATE oauth_grants SET revoked_at = $3 WHERE env_id = $1 AND session_id = $2 AND revoked_at IS NULL`,
		envID, sessionID, micros(now)); err != nil {
		return mapErr(err)
	}
	if _, err := q.exec(ctx, `UPDATE refresh_tokens SET revoked_at = $3
		WHERE env_id = $1 AND session_id = $2 AND revoked_at IS NULL`, envID, sessionID, micros(now)); err != nil {
		return mapErr(err)
	}
	_, err := q.exec(ctx, `UPDATE access_tokens SET revoked_at = $3
		WHERE env_id = $1 AND revoked_at IS NULL AND grant_id IN (SELECT id FROM oauth_grants WHERE env_id = $1 AND session_id = $2)`,
		envID, sessionID, micros(now))
	return mapErr(err)
}

// SessionFilter narrows ListUserSessions. Zero values do not filter.
type SessionFilter struct {
	// Live selects sessions live at Now (true) or ended by then (false);
	// nil selects both.
	Live          *bool
	Now           time.Time
	CreatedAfter  time.Time // inclusive
	CreatedBefore time.Time // exclusive
}

// ListUserSessions returns a page of a user's sessions in id order.
func (q *Q) ListUserSessions(ctx context.Context, envID, userID string, f SessionFilter, p Page) (Result[*Session], error) {
	where, args := `env_id = $1 AND user_id = $2`, []any{envID, userID}
	arg := func(v any) string { args = append(args, v); return `$` + itoa(len(args)) }
	if f.Live != nil {
		n := arg(micros(f.Now))
		live := `(revoked_at IS NULL AND idle_expires_at > ` + n + ` AND absolute_expires_at > ` + n + `)`
		if *f.Live {
			where += ` AND ` + live
		} else {
			where += ` AND NOT ` + live
		}
	}
	if !f.CreatedAfter.IsZero() {
		where += ` AND created_at >= ` + arg(micros(f.CreatedAfter))
	}
	if !f.CreatedBefore.IsZero() {
		where += ` AND created_at < ` + arg(micros(f.CreatedBefore))
	}
	p = p.normalize()
	var out Result[*Session]
	if err := q.queryRow(ctx, `SELECT COUNT(*) FROM sessions WHERE `+where, args...).Scan(&out.Total); err != nil {
		return out, mapErr(err)
	}
	rows, err := q.query(ctx, `SELECT `+sessionColumns+` FROM sessions WHERE `+where+` AND id > `+arg(p.AfterID)+
		` ORDER BY id LIMIT `+arg(p.Limit+1), args...)
	if err != nil {
		return out, mapErr(err)
	}
	defer rows.Close()
	for rows.Next() {
		s, err := scanSession(rows)
		if err != nil {
			return out, err
		}
		out.Items = append(out.Items, s)
	}
	if err := rows.Err(); err != nil {
		return out, mapErr(err)
	}
	rows.Close()
	out.Items, out.More = trim(out.Items, p.Limit)
	return out, q.attachSessionClients(ctx, envID, out.Items)
}

// ListLiveUserSessions returns every session of a user live at now.
func (q *Q) ListLiveUserSessions(ctx context.Context, envID, userID string, now time.Time) ([]*Session, error) {
	rows, err := q.query(ctx, `SELECT `+sessionColumns+` FROM sessions WHERE env_id = $1 AND user_id = $2
		AND revoked_at IS NULL AND idle_expires_at > $3 AND absolute_expires_at > $3 ORDER BY id`, envID, userID, micros(now))
	if err != nil {
		return nil, mapErr(err)
	}
	defer rows.Close()
	var out []*Session
	for rows.Next() {
		s, err := scanSession(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, mapErr(rows.Err())
}

// attachSessionClients fills ClientIDs from the grants of each session.
func (q *Q) attachSessionClients(ctx context.Context, envID string, ss []*Session) error {
	if len(ss) == 0 {
		return nil
	}
	byID := make(map[string]*Session, len(ss))
	args := []any{envID}
	for _, s := range ss {
		s.ClientIDs = []string{}
		byID[s.ID] = s
		args = append(args, s.ID)
	}
	rows, err := q.query(ctx, `SELECT DISTINCT session_id, client_id FROM oauth_grants
		WHERE env_id = $1 AND session_id IN (`+placeholders(2, len(ss))+`) ORDER BY session_id, client_id`, args...)
	if err != nil {
		return mapErr(err)
	}
	defer rows.Close()
	for rows.Next() {
		var sid, cid string
		if err := rows.Scan(&sid, &cid); err != nil {
			return mapErr(err)
		}
		byID[sid].ClientIDs = append(byID[sid].ClientIDs, cid)
	}
	return mapErr(rows.Err())
}
