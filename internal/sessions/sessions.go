// Package sessions owns the rules of browser sessions at Gatehouse
// (ses_...): a session starts when a user signs in, lives until its idle
// or absolute timeout or until it is revoked, and revoking it ends at once
// every refresh token and access token issued under it.
//
// Timeouts come from the session policy of the session's organization,
// read through a PolicySource when the session starts; without one the
// defaults apply (DefaultIdleTimeout, DefaultAbsoluteTimeout). Each use of
// the session (a token refresh, a silent authorization) slides the idle
// expiry forward, never past the absolute one.
//
// It knows nothing of OAuth or protobuf; the login UI and the
// authorization server use it, and the SessionService API exposes it.
package sessions

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/apierr"
	"github.com/gatehouse/gatehouse/internal/id"
	"github.com/gatehouse/gatehouse/internal/pagetoken"
	"github.com/gatehouse/gatehouse/internal/store"
)

// Defaults, documented in docs/oauth.md: a session ends after a week
// without use, and after 30 days whatever happens.
const (
	DefaultIdleTimeout     = 7 * 24 * time.Hour
	DefaultAbsoluteTimeout = 30 * 24 * time.Hour
)

// Reasons a session ended, as stored and as shown by the API's status.
const (
	ReasonLogout       = "logout"              // the user signed out (/oidc/logout)
	ReasonRevoked      = "revoked"             // an administrator or the API revoked it
	ReasonRefreshReuse = "refresh_token_reuse" // a used refresh token was replayed
	// The user left the organization the session is for, the organization
	// was deleted, or the user was (EndOwnedIn).
	ReasonMembershipRemoved = "membership_removed"
	ReasonOrgDeleted        = "organization_deleted"
	ReasonUserDeleted       = "user_deleted"
)

// Policy is a session policy: how long a session may stay unused, and how
// long it may live at all. A zero IdleTimeout turns the idle timeout off.
// AccessTokenTTL, when positive, is the life of the access tokens issued
// under the session (zero: the authorization server's default).
type Policy struct {
	IdleTimeout     time.Duration
	AbsoluteTimeout time.Duration
	AccessTokenTTL  time.Duration
}

// DefaultPolicy is the policy used without a PolicySource.
var DefaultPolicy = Policy{IdleTimeout: DefaultIdleTimeout, AbsoluteTimeout: DefaultAbsoluteTimeout}

// PolicySource gives the session policy in force for an organization (""
// for sessions without one). The settings package implements it.
type PolicySource interface {
	EffectivePolicy(ctx context.Context, orgID string) (Policy, error)
	// EffectivePolicyIn reads through q, for callers inside a transaction.
	EffectivePolicyIn(ctx context.Context, q *store.Q, orgID string) (Policy, error)
}

// ErrNoSession is returned when a request carries no live session.
var ErrNoSession = errors.New("no live session")

// Session is a session as the rest of Gatehouse sees it.
type Session = store.Session

// Service runs sessions for one environment.
type Service struct {
	Store    *store.Store
	IDs      *id.Generator
	Now      func() time.Time
	EnvID    string
	Policies PolicySource // nil: DefaultPolicy
	Pages    *pagetoken.Codec
	// Ended, when set, is told about sessions after they were revoked
	// (the authorization server sends back-channel logout tokens).
	Ended func(ctx context.Context, ended []*Session)
}

// Live reports whether s is usable at now: not revoked and within both
// timeouts.
func Live(s *Session, now time.Time) bool {
	return s != nil && s.RevokedAt.IsZero() && now.Before(s.IdleExpiresAt) && now.Before(s.AbsoluteExpiresAt)
}

// Status is the session's state at now as the API shows it: ACTIVE,
// EXPIRED, LOGOUT or REVOKED.
func Status(s *Session, now time.Time) string {
	switch {
	case !s.RevokedAt.IsZero() && s.EndReason == ReasonLogout:
		return "LOGOUT"
	case !s.RevokedAt.IsZero():
		return "REVOKED"
	case !Live(s, now):
		return "EXPIRED"
	}
	return "ACTIVE"
}

// ExpiredAt is when a session that timed out did so (zero if it did not).
func ExpiredAt(s *Session, now time.Time) time.Time {
	if !s.RevokedAt.IsZero() || Live(s, now) {
		return time.Time{}
	}
	if s.IdleExpiresAt.Before(s.AbsoluteExpiresAt) {
		return s.IdleExpiresAt
	}
	return s.AbsoluteExpiresAt
}

// NewSession describes a sign-in.
type NewSession struct {
	UserID    string
	OrgID     string   // the organization the user signed in to; "" for none
	AMR       []string // how the user authenticated (RFC 8176: "pwd", "otp", "mfa", ...)
	UserAgent string
	IP        string
	// Cookie, when true, makes a browser cookie for the session; Create
	// then returns its value for SetCookie.
	Cookie bool
	// Policy is the policy in force for OrgID when the caller read it
	// with something else (the password step reads it with the user);
	// nil reads it from Policies.
	Policy *Policy
}

// Policy returns the session policy in force for an organization ("" for
// none), with defaults filled in.
func (s *Service) Policy(ctx context.Context, orgID string) (Policy, error) {
	return s.PolicyIn(ctx, nil, orgID)
}

// PolicyIn is Policy read through q when q is not nil. Code running inside
// a transaction must pass its q: reading through the pool there can leave
// every connection waiting for another one.
func (s *Service) PolicyIn(ctx context.Context, q *store.Q, orgID string) (Policy, error) {
	if s.Policies == nil {
		return DefaultPolicy, nil
	}
	var p Policy
	var err error
	if q != nil {
		p, err = s.Policies.EffectivePolicyIn(ctx, q, orgID)
	} else {
		p, err = s.Policies.EffectivePolicy(ctx, orgID)
	}
	if err != nil {
		return Policy{}, err
	}
	return p.withDefaults(), nil
}

func (p Policy) withDefaults() Policy {
	if p.AbsoluteTimeout <= 0 {
		p.AbsoluteTimeout = DefaultAbsoluteTimeout
	}
	return p
}

// Create starts a session for a user who has just authenticated, with the
// timeouts of the policy in force for the organization. With n.Cookie it
// also returns the cookie value (shown once, stored hashed).
func (s *Service) Create(ctx context.Context, n NewSession) (*Session, string, error) {
	ses, cookie, ev, err := s.Prepare(ctx, n)
	if err != nil {
		return nil, "", err
	}
	err = s.Store.Tx(ctx, func(q *store.Q) error {
		if err := q.CreateSession(ctx, ses); err != nil {
			return err
		}
		return q.AddEvent(ctx, ev)
	})
	if err != nil {
		return nil, "", err
	}
	return ses, cookie, nil
}

// Prepare is Create without the writes: the session Create would start,
// its cookie value and its session.created event, for a caller that
// writes them with the rest of a sign-in (store.Store.WriteSignIn, which
// the hosted login uses when it completes an authorization request).
func (s *Service) Prepare(ctx context.Context, n NewSession) (*Session, string, *store.Event, error) {
	if n.UserID == "" {
		return nil, "", nil, errors.New("sessions: a session needs a user")
	}
	var p Policy
	var err error
	if n.Policy != nil {
		p = n.Policy.withDefaults()
	} else if p, err = s.Policy(ctx, n.OrgID); err != nil {
		return nil, "", nil, err
	}
	now := s.Now()
	ses := &Session{ID: s.IDs.New(id.Session), EnvID: s.EnvID, UserID: n.UserID, OrgID: n.OrgID, AuthTime: now,
		AMR: n.AMR, UserAgent: truncate(n.UserAgent, 512), IP: truncate(n.IP, 64), CreatedAt: now, UpdatedAt: now, LastSeenAt: now,
		AbsoluteExpiresAt: now.Add(p.AbsoluteTimeout)}
	ses.IdleTimeout, ses.IdleExpiresAt = p.IdleTimeout, now.Add(p.IdleTimeout)
	if p.IdleTimeout <= 0 || ses.IdleExpiresAt.After(ses.AbsoluteExpiresAt) {
		ses.IdleTimeout, ses.IdleExpiresAt = p.AbsoluteTimeout, ses.AbsoluteExpiresAt
	}
	var cookie string
	if n.Cookie {
		if cookie, err = newCookieValue(); err != nil {
			return nil, "", nil, err
		}
		ses.CookieHash = hash(cookie)
	}
	ses.ClientIDs = []string{}
	ev, err := s.event("session.created", ses, "")
	if err != nil {
		return nil, "", nil, err
	}
	return ses, cookie, ev, nil
}

// emit adds a session event to the outbox inside the caller's transaction.
func (s *Service) emit(ctx context.Context, q *store.Q, typ string, ses *Session, reason string) error {
	e, err := s.event(typ, ses, reason)
	if err != nil {
		return err
	}
	return q.AddEvent(ctx, e)
}

// event is the outbox row of a session event.
func (s *Service) event(typ string, ses *Session, reason string) (*store.Event, error) {
	p := map[string]any{"session_id": ses.ID, "user_id": ses.UserID, "organization_id": ses.OrgID}
	if reason != "" {
		p["reason"] = reason
	}
	b, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	return &store.Event{ID: s.IDs.New(id.Event), EnvID: s.EnvID, Type: typ, ObjectID: ses.ID, Payload: string(b),
		CreatedAt: s.Now()}, nil
}

// RevokeIn ends a live session inside the caller's transaction, with its
// event; the caller tells Notify after commit. It returns false when the
// session had already ended.
func (s *Service) RevokeIn(ctx context.Context, q *store.Q, ses *Session, reason string) (bool, error) {
	if !ses.RevokedAt.IsZero() {
		return false, nil
	}
	now := s.Now()
	if err := q.RevokeSession(ctx, s.EnvID, ses.ID, now, reason); err != nil {
		return false, err
	}
	ses.RevokedAt, ses.UpdatedAt, ses.EndReason, ses.CookieHash = now, now, reason, ""
	return true, s.emit(ctx, q, "session.revoked", ses, reason)
}

// Get reads a session, live or not.
func (s *Service) Get(ctx context.Context, sessionID string) (*Session, error) {
	ses, err := s.Store.Q().GetSessionDetails(ctx, s.EnvID, sessionID)
	if err != nil {
		return nil, apierr.FromStore(err, "session", sessionID)
	}
	return ses, nil
}

// Touch records a use of a live session, sliding its idle expiry; a
// session that is not live gives ErrNoSession.
func (s *Service) Touch(ctx context.Context, q *store.Q, sessionID string) error {
	err := q.TouchSession(ctx, s.EnvID, sessionID, s.Now())
	if errors.Is(err, store.ErrNotFound) {
		return ErrNoSession
	}
	return err
}

// Revoke ends one session (reason ReasonRevoked or ReasonLogout) and
// everything issued under it. Revoking an ended session returns it
// unchanged.
func (s *Service) Revoke(ctx context.Context, sessionID, reason string) (*Session, error) {
	var ses *Session
	var ended bool
	err := s.Store.Tx(ctx, func(q *store.Q) error {
		var err error
		if ses, err = q.GetSessionDetails(ctx, s.EnvID, sessionID); err != nil {
			return apierr.FromStore(err, "session", sessionID)
		}
		ended, err = s.RevokeIn(ctx, q, ses, reason)
		return err
	})
	if err != nil {
		return nil, err
	}
	if ended {
		s.notify(ctx, []*Session{ses})
	}
	return ses, nil
}

// RevokeAllForUser ends every live session of a user and returns them.
func (s *Service) RevokeAllForUser(ctx context.Context, userID string) ([]*Session, error) {
	var out []*Session
	err := s.Store.Tx(ctx, func(q *store.Q) error {
		if _, err := q.GetUserProfile(ctx, s.EnvID, userID); err != nil {
			return apierr.FromStore(err, "user", userID)
		}
		now := s.Now()
		live, err := q.ListLiveUserSessions(ctx, s.EnvID, userID, now)
		if err != nil {
			return err
		}
		for _, ses := range live {
			if _, err := s.RevokeIn(ctx, q, ses, ReasonRevoked); err != nil {
				return err
			}
		}
		out = live
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.notify(ctx, out)
	return out, nil
}

// Notify tells the Ended hook about sessions another package revoked
// inside its own transaction (refresh-token reuse).
func (s *Service) Notify(ctx context.Context, ended ...*Session) { s.notify(ctx, ended) }

func (s *Service) notify(ctx context.Context, ended []*Session) {
	if s.Ended != nil && len(ended) > 0 {
		s.Ended(ctx, ended)
	}
}

// Paging limits of ListForUser.
const (
	DefaultPageSize = 10
	MaxPageSize     = 100
)

// maxScan bounds the sessions of one user read for an in-memory filter.
const maxScan = 10000

// ListFilter narrows ListForUser: by status (ACTIVE, EXPIRED, LOGOUT,
// REVOKED; none means all) and by creation time.
type ListFilter struct {
	Statuses      []string
	CreatedAfter  time.Time
	CreatedBefore time.Time
}

// ListForUser returns a page of a user's sessions, oldest first, with the
// token to the next page and the total.
func (s *Service) ListForUser(ctx context.Context, userID string, f ListFilter, size uint32, token string) ([]*Session, string, int, error) {
	var v apierr.Violations
	if size == 0 {
		size = DefaultPageSize
	}
	if size > MaxPageSize {
		v.Add("page_size", "must be at most 100")
	}
	want := map[string]bool{}
	for _, st := range f.Statuses {
		st = strings.ToUpper(strings.TrimSpace(st))
		switch st {
		case "ACTIVE", "EXPIRED", "LOGOUT", "REVOKED":
			want[st] = true
		default:
			v.Add("filter.status", "must be ACTIVE, EXPIRED, LOGOUT or REVOKED")
		}
	}
	filterKey := userID + "|" + f.CreatedAfter.String() + "|" + f.CreatedBefore.String()
	for _, st := range []string{"ACTIVE", "EXPIRED", "LOGOUT", "REVOKED"} {
		if want[st] {
			filterKey += "|" + st
		}
	}
	after, err := s.Pages.Decode(token, "sessions", filterKey)
	if err != nil {
		v.Add("page_token", err.Error())
	}
	if err := v.Err(); err != nil {
		return nil, "", 0, err
	}
	q := s.Store.Q()
	if _, err := q.GetUserProfile(ctx, s.EnvID, userID); err != nil {
		return nil, "", 0, apierr.FromStore(err, "user", userID)
	}
	now := s.Now()
	sf := store.SessionFilter{Now: now, CreatedAfter: f.CreatedAfter, CreatedBefore: f.CreatedBefore}
	if len(want) == 0 || len(want) == 1 && want["ACTIVE"] {
		// All sessions, or only live ones: the database pages.
		if len(want) == 1 {
			live := true
			sf.Live = &live
		}
		res, err := q.ListUserSessions(ctx, s.EnvID, userID, sf, store.Page{AfterID: after, Limit: int(size)})
		if err != nil {
			return nil, "", 0, err
		}
		next := ""
		if res.More && len(res.Items) > 0 {
			next = s.Pages.Encode("sessions", filterKey, res.Items[len(res.Items)-1].ID)
		}
		return res.Items, next, res.Total, nil
	}
	// Ended sessions are told apart by reason and time, which the query
	// does not express: filter one user's sessions in memory.
	all, err := q.ListUserSessions(ctx, s.EnvID, userID, sf, store.Page{AfterID: "", Limit: maxScan})
	if err != nil {
		return nil, "", 0, err
	}
	var kept []*Session
	for _, ses := range all.Items {
		if want[Status(ses, now)] {
			kept = append(kept, ses)
		}
	}
	total := len(kept)
	start := 0
	for start < len(kept) && kept[start].ID <= after {
		start++
	}
	kept = kept[start:]
	next := ""
	if len(kept) > int(size) {
		kept = kept[:size]
		next = s.Pages.Encode("sessions", filterKey, kept[len(kept)-1].ID)
	}
	return kept, next, total, nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
