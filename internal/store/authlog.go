package store

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// AuthAttempt is one row of the authentication log (migration 00007).
type AuthAttempt struct {
	ID            string
	EnvID         string
	CreatedAt     time.Time
	EmailHash     string // SHA-256 hex of the normalized email
	Method        string // password, otp, magic_link, signup
	Outcome       string // success, failure, throttled
	IP            string
	UserID        string
	OrgID         string
	AuthRequestID string
	ClientID      string
}

// AddAuthAttempt appends a to the authentication log.
func (q *Q) AddAuthAttempt(ctx context.Context, a *AuthAttempt) error {
	_, err := q.exec(ctx, `INSERT INTO auth_attempts (id, env_id, created_at, email_hash, method, outcome, ip, user_id, org_id, auth_request_id, client_id)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		a.ID, a.EnvID, micros(a.CreatedAt), a.EmailHash, a.Method, a.Outcome, a.IP, a.UserID, a.OrgID, a.AuthRequestID, a.ClientID)
	return mapErr(err)
}

// AuthAttemptFilter narrows a listing of the authentication log; zero
// fields match everything. Start is inclusive, End exclusive.
type AuthAttemptFilter struct {
	EmailHash string
	Outcomes  []string
	ClientID  string
	Start     time.Time
	End       time.Time
}

// ListAuthAttempts returns the log newest first. The page is keyset on the
// id in that order: p.AfterID is the last id of the previous page, and the
// page holds the older rows after it.
func (q *Q) ListAuthAttempts(ctx context.Context, envID string, f AuthAttemptFilter, p Page) (Result[*AuthAttempt], error) {
	p = p.normalize()
	where := []string{"env_id = $1"}
	args := []any{envID}
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, strings.ReplaceAll(cond, "?", fmt.Sprintf("$%d", len(args))))
	}
	if f.EmailHash != "" {
		add("email_hash = ?", f.EmailHash)
	}
	if len(f.Outcomes) > 0 {
		var ph []string
		for _, o := range f.Outcomes {
			args = append(args, o)
			ph = append(ph, fmt.Sprintf("$%d", len(args)))
		}
		where = append(where, "outcome IN ("+strings.Join(ph, ", ")+")")
	}
	if f.ClientID != "" {
		add("client_id = ?", f.ClientID)
	}
	if !f.Start.IsZero() {
		add("created_at >= ?", micros(f.Start))
	}
	if !f.End.IsZero() {
		add("created_at < ?", micros(f.End))
	}
	var out Result[*AuthAttempt]
	cond := strings.Join(where, " AND ")
	if err := q.queryRow(ctx, `SELECT COUNT(*) FROM auth_attempts WHERE `+cond, args...).Scan(&out.Total); err != nil {
		return out, mapErr(err)
	}
	if p.AfterID != "" {
		args = append(args, p.AfterID)
		cond += fmt.Sprintf(" AND id < $%d", len(args))
	}
	args = append(args, p.Limit+1)
	rows, err := q.query(ctx, `SELECT id, env_id, created_at, email_hash, method, outcome, ip, user_id, org_id, auth_request_id, client_id
		FROM auth_attempts WHERE `+cond+fmt.Sprintf(` ORDER BY id DESC LIMIT $%d`, len(args)), args...)
	if err != nil {
		return out, mapErr(err)
	}
	defer rows.Close()
	for rows.Next() {
		var a AuthAttempt
		var c int64
		if err := rows.Scan(&a.ID, &a.EnvID, &c, &a.EmailHash, &a.Method, &a.Outcome, &a.IP, &a.UserID, &a.OrgID, &a.AuthRequestID, &a.ClientID); err != nil {
			return out, mapErr(err)
		}
		a.CreatedAt = fromMicros(c)
		out.Items = append(out.Items, &a)
	}
	if err := rows.Err(); err != nil {
		return out, mapErr(err)
	}
	out.Items, out.More = trim(out.Items, p.Limit)
	return out, nil
}
