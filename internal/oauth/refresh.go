package oauth

import (
	"errors"
	"net/http"
	"strings"

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
	h := secretHash(raw)
	ts := &tokenSet{client: c}
	var reused *store.Session
	err := s.tx(ctx, func(q *store.Q) error {
		now := s.Now()
		bad := refused("invalid_grant", "the refresh token is invalid, expired or revoked")
		rt, err := q.GetRefreshToken(ctx, s.EnvID, h)
		if errors.Is(err, store.ErrNotFound) {
			return bad
		} else if err != nil {
			return err
		}
		if rt.ClientID != c.ID || !rt.RevokedAt.IsZero() {
			return bad
		}
		// Scope can only narrow, and asking for more changes nothing.
		scopes := strings.Fields(rt.Scope)
		if r.PostForm.Get("scope") != "" {
			asked := strings.Fields(r.PostForm.Get("scope"))
			for _, sc := range asked {
				if !hasScope(scopes, sc) {
					return refused("invalid_scope", "scope "+sc+" was not granted")
				}
			}
			scopes = grantableScopes(strings.Join(asked, " "))
		}
		// The session row is locked (touched) first, as revocations lock
		// it first, so a refresh racing a revocation on PostgreSQL waits
		// instead of deadlocking.
		live := true
		if err := s.Sessions.Touch(ctx, q, rt.SessionID); errors.Is(err, sessions.ErrNoSession) {
			live = false
		} else if err != nil {
			return err
		}
		if err := q.UseRefreshToken(ctx, s.EnvID, h, c.ID, now); errors.Is(err, store.ErrNotFound) {
			rt, err = q.GetRefreshToken(ctx, s.EnvID, h)
			if err != nil {
				return err
			}
			switch {
			case !rt.RevokedAt.IsZero():
				return bad
			case !rt.UsedAt.IsZero() && now.Sub(rt.UsedAt) <= s.refreshGrace():
				// A concurrent double submit: answer it too.
			default:
				s.Metrics.RefreshReuse()
				if err := q.RevokeGrant(ctx, s.EnvID, rt.FamilyID, now); err != nil && !errors.Is(err, store.ErrNotFound) {
					return err
				}
				ses, err := q.GetSession(ctx, s.EnvID, rt.SessionID)
				if err == nil {
					ended, err := s.Sessions.RevokeIn(ctx, q, ses, sessions.ReasonRefreshReuse)
					if err != nil {
						return err
					}
					if ended {
						reused = ses
					}
				} else if !errors.Is(err, store.ErrNotFound) {
					return err
				}
				return bad
			}
		} else if err != nil {
			return err
		}
		if !live {
			return bad
		}
		g, err := q.GetGrant(ctx, s.EnvID, rt.FamilyID)
		if err != nil {
			return err
		}
		if !g.RevokedAt.IsZero() {
			return bad
		}
		ses, err := q.GetSession(ctx, s.EnvID, rt.SessionID)
		if errors.Is(err, store.ErrNotFound) {
			return bad
		} else if err != nil {
			return err
		}
		if !sessions.Live(ses, now) {
			return bad
		}
		if ts.user, ts.roles, err = s.subject(ctx, q, ses); err != nil {
			return err
		}
		ts.ses, ts.scopes = ses, scopes
		return s.record(ctx, q, ts, g, true, h)
	})
	var ref *errRefused
	if errors.As(err, &ref) {
		if reused != nil {
			s.Log.WarnContext(ctx, "refresh token reuse: family and session revoked", "request_id", requestID(r),
				"client_id", c.ID, "session_id", reused.ID)
			s.Sessions.Notify(ctx, reused)
		}
		tokenError(w, http.StatusBadRequest, ref.code, ref.desc)
		return
	}
	if err != nil {
		s.serverError(w, r, "refreshing a token", err)
		return
	}
	s.respond(w, r, ts)
}
