package oauth

import (
	"errors"
	"mime"
	"net/http"
	"strings"

	"github.com/gatehouse/gatehouse/internal/signing"
	"github.com/gatehouse/gatehouse/internal/store"
)

// parseTokenForm reads the form body of the revocation and introspection
// endpoints, refusing repeated parameters; on failure it has answered.
func parseTokenForm(w http.ResponseWriter, r *http.Request) bool {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/x-www-form-urlencoded" {
		tokenError(w, http.StatusBadRequest, "invalid_request", "the body must be application/x-www-form-urlencoded")
		return false
	}
	if err := r.ParseForm(); err != nil {
		tokenError(w, http.StatusBadRequest, "invalid_request", "the form body cannot be parsed")
		return false
	}
	for k, v := range r.PostForm {
		if len(v) > 1 {
			tokenError(w, http.StatusBadRequest, "invalid_request", "parameter "+k+" is repeated")
			return false
		}
	}
	return true
}

// revoke implements token revocation (RFC 7009). Revoking a refresh token
// revokes its grant: the whole family and every access token issued with
// it. Revoking an access token revokes that token. A token of another
// client, or one that is not a token at all, changes nothing and still
// gets 200 (section 2.2). A database failure is never reported as success.
func (s *Server) revoke(w http.ResponseWriter, r *http.Request) {
	if !parseTokenForm(w, r) {
		return
	}
	c := s.authenticateClient(w, r, true)
	if c == nil {
		return
	}
	ctx := r.Context()
	tok := r.PostForm.Get("token")
	if tok == "" {
		tokenError(w, http.StatusBadRequest, "invalid_request", "token is required")
		return
	}
	now := s.Now()
	if strings.HasPrefix(tok, "rt_") && len(tok) <= 256 {
		err := s.Store.Tx(ctx, func(q *store.Q) error {
			rt, err := q.GetRefreshToken(ctx, s.EnvID, secretHash(tok))
			if errors.Is(err, store.ErrNotFound) {
				return nil
			} else if err != nil {
				return err
			}
			if rt.ClientID != c.ID {
				return nil
			}
			if err := q.RevokeGrant(ctx, s.EnvID, rt.FamilyID, now); err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
			}
			return nil
		})
		if err != nil {
			s.serverError(w, r, "revoking a refresh token", err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{})
		return
	}
	var uc UserClaims
	if err := s.Keys.VerifyAs(tok, signing.TypeAccessToken, &uc); err == nil && uc.Issuer == s.Issuer && uc.ClientID == c.ID && uc.ID != "" {
		if err := s.Store.Q().RevokeAccessToken(ctx, s.EnvID, uc.ID, now); err != nil && !errors.Is(err, store.ErrNotFound) {
			s.serverError(w, r, "revoking an access token", err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{})
		return
	}
	if mc, err := s.VerifyManagementToken(ctx, tok); err == nil && mc.ClientID == c.ID {
		// Client-credentials tokens are not stored, so they cannot be revoked.
		tokenError(w, http.StatusBadRequest, "unsupported_token_type", "client-credentials tokens cannot be revoked; they expire")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{})
}
