// Package authlog is the authentication log: a row for every sign-in
// attempt at the hosted login, with its method and outcome, counted in
// Prometheus at the same time. Emails are kept only as a hash (EmailHash),
// so the log can be searched by email without holding the addresses of
// everyone who typed one. AuditLogsService ListAuthRequests reads it.
package authlog

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/apierr"
	"github.com/gatehouse/gatehouse/internal/metrics"
	"github.com/gatehouse/gatehouse/internal/pagetoken"
	"github.com/gatehouse/gatehouse/internal/store"
)

// IDPrefix starts the id of every log row.
const IDPrefix = "alog"

// Page sizes of List.
const (
	DefaultPageSize = 30
	MaxPageSize     = 100
)

// Log writes and reads one environment's authentication log. A nil *Log
// records nothing.
type Log struct {
	Store   *store.Store
	EnvID   string
	NewID   func(prefix string) string
	Now     func() time.Time
	Metrics *metrics.Metrics
	Pages   *pagetoken.Codec
	Logger  *slog.Logger
}

// Attempt is one sign-in attempt as the login page reports it.
type Attempt struct {
	Email         string // as typed; only its hash is kept
	Method        string // metrics.Method*
	Outcome       string // metrics.Outcome*
	IP            string
	UserID        string
	OrgID         string
	AuthRequestID string
	ClientID      string
}

// EmailHash is the stored form of an email: the SHA-256 hex of the
// trimmed, lower-cased address. Empty for an empty email.
func EmailHash(email string) string {
	norm := strings.ToLower(strings.TrimSpace(email))
	if norm == "" {
		return ""
	}
	s := sha256.Sum256([]byte(norm))
	return hex.EncodeToString(s[:])
}

// Record counts the attempt and appends it to the log. A failure to write
// the log is logged, never shown to the user: the sign-in goes on.
func (l *Log) Record(ctx context.Context, a Attempt) {
	l.Defer(a).Flush(ctx)
}

// Pending is an attempt counted but not yet in the log: a sign-in writes
// it with its own writes (Row, then Written once they commit) to save a
// commit, and Flush writes it on its own otherwise. A nil
// *Pending writes nothing.
type Pending struct {
	l       *Log
	row     *store.AuthAttempt // nil: no store
	written bool
}

// Defer counts the attempt now, as Record does, and returns it to be
// written later; nil when l is.
func (l *Log) Defer(a Attempt) *Pending {
	if l == nil {
		return nil
	}
	l.Metrics.Login(a.Method, a.Outcome)
	p := &Pending{l: l}
	if l.Store != nil {
		p.row = &store.AuthAttempt{ID: l.NewID(IDPrefix), EnvID: l.EnvID, CreatedAt: l.Now(), EmailHash: EmailHash(a.Email),
			Method: a.Method, Outcome: a.Outcome, IP: a.IP, UserID: a.UserID, OrgID: a.OrgID,
			AuthRequestID: a.AuthRequestID, ClientID: a.ClientID}
	}
	return p
}

// Row is the attempt's row, for a caller to write with its own writes
// (store.SignIn), who calls Written once they commit (a failure leaves it
// to Flush); nil when there is nothing to write.
func (p *Pending) Row() *store.AuthAttempt {
	if p == nil || p.written {
		return nil
	}
	return p.row
}

// Written records that the writes that took Row's row committed.
func (p *Pending) Written() {
	if p != nil {
		p.written = true
	}
}

// Flush writes the attempt unless it is written already. A failure is
// logged, never shown to the user.
func (p *Pending) Flush(ctx context.Context) {
	if p == nil || p.row == nil || p.written {
		return
	}
	p.written = true
	if err := p.l.Store.Q().AddAuthAttempt(ctx, p.row); err != nil && p.l.Logger != nil {
		p.l.Logger.WarnContext(ctx, "writing the authentication log failed", "method", p.row.Method, "outcome", p.row.Outcome, "err", err)
	}
}

// Query selects a page of the log.
type Query struct {
	PageSize  uint32
	PageToken string
	Email     string   // compared by hash
	Outcomes  []string // any of; case-insensitive
	ClientID  string
	Start     time.Time
	End       time.Time
}

// Page is one page of the log, newest first.
type Page struct {
	Attempts  []*store.AuthAttempt
	NextToken string
	Total     uint32
}

// List reads the log, newest first, under the same paging rules as the
// other lists of the API: page tokens are bound to the filter.
func (l *Log) List(ctx context.Context, q Query) (*Page, error) {
	var v apierr.Violations
	size := int(q.PageSize)
	if size == 0 {
		size = DefaultPageSize
	}
	if size > MaxPageSize {
		v.Add("page_size", "must be at most 100")
	}
	f := store.AuthAttemptFilter{EmailHash: EmailHash(q.Email), ClientID: q.ClientID, Start: q.Start, End: q.End}
	for _, o := range q.Outcomes {
		o = strings.ToLower(strings.TrimSpace(o))
		switch o {
		case metrics.OutcomeSuccess, metrics.OutcomeFailure, metrics.OutcomeThrottled:
			f.Outcomes = append(f.Outcomes, o)
		default:
			v.Add("status", "must be one of SUCCESS, FAILURE, THROTTLED")
		}
	}
	if !q.Start.IsZero() && !q.End.IsZero() && !q.End.After(q.Start) {
		v.Add("end_time", "must be after start_time")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	filter := strings.Join([]string{f.EmailHash, strings.Join(f.Outcomes, ","), f.ClientID, stamp(f.Start), stamp(f.End)}, "|")
	after, err := l.Pages.Decode(q.PageToken, "auth_log", filter)
	if err != nil {
		v.Add("page_token", err.Error())
		return nil, v.Err()
	}
	res, err := l.Store.Q().ListAuthAttempts(ctx, l.EnvID, f, store.Page{AfterID: after, Limit: size})
	if err != nil {
		return nil, err
	}
	out := &Page{Attempts: res.Items, Total: uint32(res.Total)}
	if res.More && len(res.Items) > 0 {
		out.NextToken = l.Pages.Encode("auth_log", filter, res.Items[len(res.Items)-1].ID)
	}
	return out, nil
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}
