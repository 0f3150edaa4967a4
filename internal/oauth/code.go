package oauth

import (
	"context"
	"crypto/subtle"
	"errors"
	"net/http"
	"strings"

	"github.com/gatehouse/gatehouse/internal/sessions"
	"github.com/gatehouse/gatehouse/internal/store"
)

// authorizationCode redeems a code (RFC 6749 section 4.1.3, RFC 7636
// section 4.6). The code is marked used before anything else is checked,
// in one atomic update, so of any number of concurrent redemptions exactly
// one proceeds, and a redemption that fails a check burns the code. A
// replayed code revokes everything its first redemption produced
// (SECURITY-BAR C08, O07).
func (s *Server) authorizationCode(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	c := s.authenticateClient(w, r, true)
	if c == nil {
		return
	}
	code, redirectURI, verifier := r.PostForm.Get("code"), r.PostForm.Get("redirect_uri"), r.PostForm.Get("code_verifier")
	if code == "" {
		tokenError(w, http.StatusBadRequest, "invalid_request", "code is required")
		return
	}
	if len(code) > 512 {
		tokenError(w, http.StatusBadRequest, "invalid_grant", "the code is invalid, expired or already used")
		return
	}
	h := secretHash(code)
	ts := &tokenSet{client: c, code: code}
	var replayed bool
	err := s.tx(ctx, func(q *store.Q) error {
		now := s.Now()
		if err := q.UseAuthCode(ctx, s.EnvID, h, now); errors.Is(err, store.ErrNotFound) {
			ac, err := q.GetAuthCode(ctx, s.EnvID, h)
			if errors.Is(err, store.ErrNotFound) {
				return refused("invalid_grant", "the code is invalid, expired or already used")
			} else if err != nil {
				return err
			}
			if ac.GrantID != "" {
				replayed = true
				if err := q.RevokeGrant(ctx, s.EnvID, ac.GrantID, now); err != nil && !errors.Is(err, store.ErrNotFound) {
					return err
				}
			}
			return refused("invalid_grant", "the code is invalid, expired or already used")
		} else if err != nil {
			return err
		}
		ac, err := q.GetAuthCode(ctx, s.EnvID, h)
		if err != nil {
			return err
		}
		switch {
		case !now.Before(ac.ExpiresAt):
			return refused("invalid_grant", "the code is invalid, expired or already used")
		case ac.ClientID != c.ID:
			return refused("invalid_grant", "the code was issued to another client")
		case ac.RedirectURI != redirectURI:
			return refused("invalid_grant", "redirect_uri does not match the authorization request")
		case ac.CodeChallenge == "" && verifier != "":
			return refused("invalid_grant", "code_verifier sent for a request without code_challenge")
		case ac.CodeChallenge != "" && (!validVerifier(verifier) ||
			subtle.ConstantTimeCompare([]byte(s256(verifier)), []byte(ac.CodeChallenge)) != 1):
			return refused("invalid_grant", "code_verifier does not match the code_challenge")
		}
		ses, err := q.GetSession(ctx, s.EnvID, ac.SessionID)
		if errors.Is(err, store.ErrNotFound) {
			return refused("invalid_grant", "the session has ended")
		} else if err != nil {
			return err
		}
		if !sessions.Live(ses, now) {
			return refused("invalid_grant", "the session has ended")
		}
		if ts.user, ts.roles, err = s.subject(ctx, q, ses); err != nil {
			return err
		}
		if err := s.Sessions.Touch(ctx, q, ses.ID); errors.Is(err, sessions.ErrNoSession) {
			return refused("invalid_grant", "the session has ended")
		} else if err != nil {
			return err
		}
		ts.ses, ts.scopes, ts.nonce = ses, strings.Fields(ac.Scope), ac.Nonce
		g := &store.Grant{ID: s.IDs.New(GrantPrefix), EnvID: s.EnvID, SessionID: ses.ID, ClientID: c.ID, UserID: ses.UserID,
			Scope: ac.Scope, CreatedAt: now}
		if err := q.CreateGrant(ctx, g); err != nil {
			return err
		}
		if err := q.SetAuthCodeGrant(ctx, s.EnvID, h, g.ID); err != nil {
			return err
		}
		return s.record(ctx, q, ts, g, hasScope(ts.scopes, ScopeOfflineAccess), "")
	})
	var ref *errRefused
	if errors.As(err, &ref) {
		if replayed {
			s.Log.WarnContext(ctx, "authorization code replayed: tokens of its first redemption revoked",
				"request_id", requestID(r), "client_id", c.ID)
		}
		tokenError(w, http.StatusBadRequest, ref.code, ref.desc)
		return
	}
	if err != nil {
		s.serverError(w, r, "redeeming a code", err)
		return
	}
	s.respond(w, r, ts)
}

// tx runs fn in one transaction that commits when fn succeeds or refuses
// (an *errRefused: what it wrote, a burned code or a revoked family, must
// stick) and rolls back on any other error.
func (s *Server) tx(ctx context.Context, fn func(q *store.Q) error) error {
	var ref *errRefused
	err := s.Store.Tx(ctx, func(q *store.Q) error {
		err := fn(q)
		if errors.As(err, &ref) {
			return nil
		}
		ref = nil
		return err
	})
	if err != nil {
		return err
	}
	if ref != nil {
		return ref
	}
	return nil
}

// GrantPrefix starts the ids of grants (refresh-token families).
const GrantPrefix = "grt"
