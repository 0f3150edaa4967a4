package oauth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/id"
	"github.com/gatehouse/gatehouse/internal/sessions"
	"github.com/gatehouse/gatehouse/internal/store"
)

// refreshToken rotates a refresh token (RFC 6749 section 6, RFC 9700
// section 4.14.2). Every use returns a new refresh token and marks the old
// one used, atomically. A used token presented again within the grace
// (at most 2 s: a client that sent the same refresh twice at once) gets a
// sibling; later, it is reuse: the whole family is revoked, and the session
// with it. The new access token carries the user's roles as they are now;
// the session must be live and the membership active.
//
// A rotation is mostly round trips to the database, so the common case (a
// live token of this client, unused, holding the scopes asked for, its
// session live) is one write (rotateFast). Anything else goes the slow way
// (claimSlow, issueRefreshed), which reads one thing at a time to tell the
// cases apart.
func (s *Server) refreshToken(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	c := s.authenticateClient(w, r, true)
	if c == nil {
		return
	}
	raw := r.PostForm.Get("refresh_token")
	if raw == "" {
		tokenError(w, http.StatusBadRequest, "invalid_request", "refresh_token is required")
		return
	}
	if !strings.HasPrefix(raw, "rt_") || len(raw) > 256 {
		tokenError(w, http.StatusBadRequest, "invalid_grant", "the refresh token is invalid, expired or revoked")
		return
	}
	h, asked := secretHash(raw), r.PostForm.Get("scope")
	ts := &tokenSet{client: c}
	var reused *store.Session
	done, err := s.rotateFast(ctx, ts, h, asked)
	if err == nil && !done {
		err = s.tx(ctx, func(q *store.Q) error {
			now := s.Now()
			rt, ses, err := s.claimSlow(ctx, q, c, h, asked, now, &reused)
			if err != nil {
				return err
			}
			if ts.scopes, err = narrowScopes(rt.Scope, asked); err != nil {
				return err
			}
			if !sessions.Live(ses, now) {
				return refused("invalid_grant", "the refresh token is invalid, expired or revoked")
			}
			ts.ses = ses
			return s.issueRefreshed(ctx, q, ts, rt.FamilyID, h)
		})
	}
	var ref *errRefused
	var undone *errUndone
	switch {
	case errors.As(err, &ref):
		if reused != nil {
			s.Log.WarnContext(ctx, "refresh token reuse: family and session revoked", "request_id", requestID(r),
				"client_id", c.ID, "session_id", reused.ID)
			s.Sessions.Notify(ctx, reused)
		}
		tokenError(w, http.StatusBadRequest, ref.code, ref.desc)
	case errors.As(err, &undone):
		tokenError(w, http.StatusBadRequest, undone.code, undone.desc)
	case err != nil:
		s.serverError(w, r, "refreshing a token", err)
	default:
		s.respond(w, r, ts)
	}
}

// rotateFast is the rotation's common case as one write
// (store.RotateRefresh: the session touched, the token claimed, the state
// read and the new tokens recorded; one statement on PostgreSQL). done is
// false when it did not apply, with nothing claimed: the slow path
// answers. Once the token is claimed, a refusal (a revoked grant, a
// membership not active) stands, as on the slow path, whose transaction
// commits on one. It needs the access token's life from the stored
// session policy alone; a policy source that cannot give it that way
// takes the slow path.
func (s *Server) rotateFast(ctx context.Context, ts *tokenSet, h, asked string) (done bool, err error) {
	src, ok := s.Sessions.Policies.(storedPolicyTTL)
	if !ok {
		return false, nil
	}
	next, err := randomToken("rt_")
	if err != nil {
		return false, err
	}
	now, jti := s.Now().Truncate(time.Microsecond), s.IDs.New(id.Token)
	rot, err := s.Store.RotateRefresh(ctx, &store.Rotate{EnvID: s.EnvID, TokenHash: h, ClientID: ts.client.ID,
		Scopes: strings.Fields(asked), Now: now, JTI: jti, NewTokenHash: secretHash(next),
		NoPolicyExpiry: now.Add(s.userTokenTTL(src.AccessTokenTTLOf(nil))), ZeroTTLExpiry: now.Add(s.userTokenTTL(0))})
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	if ts.scopes, err = narrowScopes(rot.Token.Scope, asked); err != nil {
		return true, err // not reached: the token holds every scope asked for
	}
	ts.ses = rot.Session
	if !sessions.Live(ts.ses, now) {
		return true, refused("invalid_grant", "the refresh token is invalid, expired or revoked")
	}
	if err := s.fromState(ts, rot.State); err != nil {
		return true, err
	}
	ttl := s.userTokenTTL(src.AccessTokenTTLOf(rot.State.SessionPolicy))
	if !rot.AccessExpiresAt.Equal(now.Add(ttl)) {
		return true, fmt.Errorf("the rotation recorded an access token expiring at %s, want %s", rot.AccessExpiresAt, now.Add(ttl))
	}
	ts.jti, ts.issued, ts.ttl, ts.refresh = jti, now, ttl, next
	return true, nil
}

// errUndone is a refusal whose transaction rolls back (s.tx commits on an
// *errRefused, which it does not unwrap to): a refresh asking for a scope
// that was not granted changes nothing, the token stays unused.
type errUndone struct{ code, desc string }

func (e *errUndone) Error() string { return e.code + ": " + e.desc }

// narrowScopes is the scope of the new access token: the token's, or the
// narrower set asked for. Asking for more is invalid_scope.
func narrowScopes(granted, asked string) ([]string, error) {
	scopes := strings.Fields(granted)
	if asked == "" {
		return scopes, nil
	}
	for _, sc := range strings.Fields(asked) {
		if !hasScope(scopes, sc) {
			return nil, &errUndone{"invalid_scope", "scope " + sc + " was not granted"}
		}
	}
	return grantableScopes(asked), nil
}

// claimSlow is the rotation's first step when the common case did not
// apply (the token unknown, another client's, revoked or used, or its
// session not live), one read at a time: it refuses, answers a concurrent
// double submit within the grace, or, on reuse, revokes the family and the
// session (set in *reused so the caller can log and notify after commit).
func (s *Server) claimSlow(ctx context.Context, q *store.Q, c *Client, h, asked string, now time.Time,
	reused **store.Session) (*store.RefreshToken, *store.Session, error) {
	bad := refused("invalid_grant", "the refresh token is invalid, expired or revoked")
	rt, err := q.GetRefreshToken(ctx, s.EnvID, h)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil, bad
	} else if err != nil {
		return nil, nil, err
	}
	if rt.ClientID != c.ID || !rt.RevokedAt.IsZero() {
		return nil, nil, bad
	}
	// Scope can only narrow; checked before anything is changed.
	if _, err := narrowScopes(rt.Scope, asked); err != nil {
		return nil, nil, err
	}
	// The session row is locked (touched) first, as revocations lock it
	// first, so a refresh racing a revocation on PostgreSQL waits instead
	// of deadlocking.
	live := true
	if err := s.Sessions.Touch(ctx, q, rt.SessionID); errors.Is(err, sessions.ErrNoSession) {
		live = false
	} else if err != nil {
		return nil, nil, err
	}
	if err := q.UseRefreshToken(ctx, s.EnvID, h, c.ID, now); errors.Is(err, store.ErrNotFound) {
		rt, err = q.GetRefreshToken(ctx, s.EnvID, h)
		if err != nil {
			return nil, nil, err
		}
		switch {
		case !rt.RevokedAt.IsZero():
			return nil, nil, bad
		case !rt.UsedAt.IsZero() && now.Sub(rt.UsedAt) <= s.refreshGrace():
			// A concurrent double submit: answer it too.
		default:
			return nil, nil, s.refreshReused(ctx, q, rt, now, reused)
		}
	} else if err != nil {
		return nil, nil, err
	}
	if !live {
		return nil, nil, bad
	}
	ses, err := q.GetSession(ctx, s.EnvID, rt.SessionID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil, bad
	} else if err != nil {
		return nil, nil, err
	}
	return rt, ses, nil
}

// refreshReused handles a used token presented after the grace: the
// family is revoked, and the session with it. It returns the refusal.
func (s *Server) refreshReused(ctx context.Context, q *store.Q, rt *store.RefreshToken, now time.Time, reused **store.Session) error {
	s.Metrics.RefreshReuse()
	if err := q.RevokeGrant(ctx, s.EnvID, rt.FamilyID, now); err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	ses, err := q.GetSession(ctx, s.EnvID, rt.SessionID)
	if errors.Is(err, store.ErrNotFound) {
		return refused("invalid_grant", "the refresh token is invalid, expired or revoked")
	} else if err != nil {
		return err
	}
	ended, err := s.Sessions.RevokeIn(ctx, q, ses, sessions.ReasonRefreshReuse)
	if err != nil {
		return err
	}
	if ended {
		*reused = ses
	}
	return refused("invalid_grant", "the refresh token is invalid, expired or revoked")
}

// issueRefreshed records the new access and refresh tokens of ts (its
// session set) in the family grantID, with the user and the membership's
// roles as they are now. The grant, the user, the membership with its
// roles and their permissions, and the session policy come from one joined
// read, inside the transaction like every other read here; when it finds
// nothing (the grant or the user is gone) issueSlow reads them one at a
// time to answer as precisely.
func (s *Server) issueRefreshed(ctx context.Context, q *store.Q, ts *tokenSet, grantID, parentHash string) error {
	st, err := q.GetRefreshState(ctx, s.EnvID, grantID, ts.ses.UserID, ts.ses.OrgID)
	if errors.Is(err, store.ErrNotFound) {
		return s.issueSlow(ctx, q, ts, grantID, parentHash)
	} else if err != nil {
		return err
	}
	if err := s.fromState(ts, st); err != nil {
		return err
	}
	ttl, err := s.accessTTLFrom(ctx, q, ts.ses.OrgID, st.SessionPolicy)
	if err != nil {
		return err
	}
	return s.recordTTL(ctx, q, ts, st.Grant, ttl, true, parentHash)
}

// fromState fills ts (its session set) from the state a refresh read: the
// user and, for a session in an organization, the membership's roles and
// their permissions. A revoked grant, or a membership gone or not active,
// refuses.
func (s *Server) fromState(ts *tokenSet, st *store.RefreshState) error {
	if !st.Grant.RevokedAt.IsZero() {
		return refused("invalid_grant", "the refresh token is invalid, expired or revoked")
	}
	ts.user = st.User
	if ts.ses.OrgID == "" {
		return nil
	}
	if !st.Member || st.MemberStatus != store.MembershipActive {
		return notMember()
	}
	ts.roles = st.Roles
	// The permissions came with the roles, read as StorePermissions reads
	// them; another resolver is asked after commit as usual.
	if sp, ok := s.Permissions.(StorePermissions); ok && sp.Store == s.Store && sp.EnvID == s.EnvID {
		ts.perms, ts.permsRead = st.Permissions, true
	}
	return nil
}

// issueSlow is issueRefreshed one read at a time.
func (s *Server) issueSlow(ctx context.Context, q *store.Q, ts *tokenSet, grantID, parentHash string) error {
	g, err := q.GetGrant(ctx, s.EnvID, grantID)
	if err != nil {
		return err
	}
	if !g.RevokedAt.IsZero() {
		return refused("invalid_grant", "the refresh token is invalid, expired or revoked")
	}
	if ts.user, ts.roles, err = s.subject(ctx, q, ts.ses); err != nil {
		return err
	}
	return s.record(ctx, q, ts, g, true, parentHash)
}
