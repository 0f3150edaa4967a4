package oauth

import (
	"errors"
	"net/http"
	"strings"

	"github.com/gatehouse/gatehouse/internal/sessions"
	"github.com/gatehouse/gatehouse/internal/signing"
	"github.com/gatehouse/gatehouse/internal/store"
)

// introspect implements token introspection (RFC 7662). The caller must
// authenticate as a confidential client. Any token that is malformed,
// forged, expired or revoked, whose grant or session ended, or whose user
// left the organization, is {"active": false} and nothing more. Access
// tokens are answered for any authenticated client (resource servers
// introspect tokens issued to apps); refresh tokens only for their client.
func (s *Server) introspect(w http.ResponseWriter, r *http.Request) {
	if !parseTokenForm(w, r) {
		return
	}
	c := s.authenticateClient(w, r, false)
	if c == nil {
		return
	}
	ctx := r.Context()
	tok := r.PostForm.Get("token")
	if tok == "" {
		tokenError(w, http.StatusBadRequest, "invalid_request", "token is required")
		return
	}
	inactive := map[string]any{"active": false}
	if strings.HasPrefix(tok, "rt_") {
		if len(tok) > 256 {
			writeJSON(w, http.StatusOK, inactive)
			return
		}
		q := s.Store.Q()
		rt, err := q.GetRefreshToken(ctx, s.EnvID, secretHash(tok))
		if errors.Is(err, store.ErrNotFound) {
			writeJSON(w, http.StatusOK, inactive)
			return
		} else if err != nil {
			s.serverError(w, r, "introspecting a refresh token", err)
			return
		}
		if rt.ClientID != c.ID || !rt.RevokedAt.IsZero() || !rt.UsedAt.IsZero() {
			writeJSON(w, http.StatusOK, inactive)
			return
		}
		ses, err := q.GetSession(ctx, s.EnvID, rt.SessionID)
		if errors.Is(err, store.ErrNotFound) {
			writeJSON(w, http.StatusOK, inactive)
			return
		} else if err != nil {
			s.serverError(w, r, "introspecting a refresh token", err)
			return
		}
		if !sessions.Live(ses, s.Now()) {
			writeJSON(w, http.StatusOK, inactive)
			return
		}
		// Active means a refresh would succeed: the user must still exist
		// and be an active member of the session's organization, as the
		// refresh grant checks.
		var ref *errRefused
		if _, _, err := s.subject(ctx, q, ses); errors.As(err, &ref) {
			writeJSON(w, http.StatusOK, inactive)
			return
		} else if err != nil {
			s.serverError(w, r, "introspecting a refresh token", err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"active": true, "token_type": "refresh_token", "client_id": rt.ClientID,
			"scope": rt.Scope, "sub": ses.UserID, "sid": ses.ID, "iss": s.Issuer, "iat": rt.CreatedAt.Unix(),
			"exp": ses.AbsoluteExpiresAt.Unix()})
		return
	}
	uc, err := s.verifyUserToken(ctx, tok)
	if err == nil {
		out := map[string]any{"active": true, "token_type": "Bearer", "client_id": uc.ClientID, "scope": strings.Join(uc.Scopes, " "),
			"sub": uc.Subject, "aud": uc.Audience, "iss": uc.Issuer, "exp": uc.Expiry, "iat": uc.IssuedAt, "nbf": uc.NotBefore,
			"jti": uc.ID, "sid": uc.SessionID}
		if uc.OrgID != "" {
			out["oid"] = uc.OrgID
		}
		if len(uc.Roles) > 0 {
			out["roles"] = uc.Roles
		}
		if len(uc.Permissions) > 0 {
			out["permissions"] = uc.Permissions
		}
		writeJSON(w, http.StatusOK, out)
		return
	}
	if !errors.Is(err, signing.ErrInvalidToken) {
		s.serverError(w, r, "introspecting an access token", err)
		return
	}
	if mc, err := s.VerifyManagementToken(ctx, tok); err == nil {
		writeJSON(w, http.StatusOK, map[string]any{"active": true, "token_type": "Bearer", "client_id": mc.ClientID,
			"sub": mc.Subject, "aud": []string(mc.Audience), "iss": mc.Issuer, "exp": mc.Expiry.Time().Unix(),
			"iat": mc.IssuedAt.Time().Unix(), "jti": mc.ID})
		return
	}
	writeJSON(w, http.StatusOK, inactive)
}
