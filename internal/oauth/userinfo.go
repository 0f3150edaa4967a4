package oauth

import (
	"context"
	"errors"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/id"
	"github.com/gatehouse/gatehouse/internal/sessions"
	"github.com/gatehouse/gatehouse/internal/signing"
	"github.com/gatehouse/gatehouse/internal/store"
)

// skew is the clock skew allowed on nbf and iat of tokens Gatehouse reads
// (SECURITY-BAR J05: at most 60 s). exp of its own access tokens is exact.
const skew = 30 * time.Second

// verifyUserToken checks a user access token and that it is still live:
// signature, typ at+jwt, issuer, times, and its record (not revoked, grant
// and session live, membership active). Any refusal is
// signing.ErrInvalidToken; other errors are the database's.
func (s *Server) verifyUserToken(ctx context.Context, raw string) (*UserClaims, error) {
	var c UserClaims
	if err := s.Keys.VerifyAs(raw, signing.TypeAccessToken, &c); err != nil {
		return nil, signing.ErrInvalidToken
	}
	now := s.Now()
	if c.Issuer != s.Issuer || !id.HasPrefix(c.ID, id.Token) || c.Subject == "" || c.SessionID == "" ||
		len(c.Audience) == 0 || c.Audience[0] != c.ClientID || c.Expiry == 0 || now.Unix() >= c.Expiry ||
		c.NotBefore > now.Add(skew).Unix() || c.IssuedAt > now.Add(skew).Unix() {
		return nil, signing.ErrInvalidToken
	}
	st, err := s.Store.Q().GetAccessTokenState(ctx, s.EnvID, c.ID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, signing.ErrInvalidToken
	} else if err != nil {
		return nil, err
	}
	if !st.Token.RevokedAt.IsZero() || !now.Before(st.Token.ExpiresAt) || !st.Grant.RevokedAt.IsZero() ||
		!sessions.Live(&st.Session, now) || !st.MemberOK || st.Session.ID != c.SessionID ||
		st.Grant.UserID != c.Subject || st.Grant.ClientID != c.ClientID {
		return nil, signing.ErrInvalidToken
	}
	return &c, nil
}

// userinfo implements the UserInfo endpoint (OIDC Core 5.3) for GET and
// POST. The access token comes in the Authorization header, or in a POST
// form body (RFC 6750 section 2.2); never in the query string.
func (s *Server) userinfo(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	deny := func(status int, code, desc string) {
		w.Header().Set("WWW-Authenticate", `Bearer error="`+code+`", error_description="`+cleanDescription(desc)+`"`)
		writeJSON(w, status, map[string]string{"error": code, "error_description": cleanDescription(desc)})
	}
	if r.URL.Query().Has("access_token") {
		deny(http.StatusBadRequest, "invalid_request", "access tokens are not accepted in the query string")
		return
	}
	raw, fromHeader := bearerToken(r.Header.Get("Authorization"))
	if r.Method == http.MethodPost {
		if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "application/x-www-form-urlencoded" {
			r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
			if err := r.ParseForm(); err != nil {
				deny(http.StatusBadRequest, "invalid_request", "the form body cannot be parsed")
				return
			}
			if v := r.PostForm["access_token"]; len(v) > 0 {
				if fromHeader || len(v) > 1 {
					deny(http.StatusBadRequest, "invalid_request", "send the access token once")
					return
				}
				raw = v[0]
			}
		}
	}
	raw = strings.TrimSpace(raw)
	if raw == "" {
		deny(http.StatusUnauthorized, "invalid_token", "an access token is required")
		return
	}
	c, err := s.verifyUserToken(ctx, raw)
	if errors.Is(err, signing.ErrInvalidToken) {
		deny(http.StatusUnauthorized, "invalid_token", "the access token is invalid, expired or revoked")
		return
	} else if err != nil {
		s.serverError(w, r, "userinfo", err)
		return
	}
	u, err := s.Store.Q().GetUserProfile(ctx, s.EnvID, c.Subject)
	if errors.Is(err, store.ErrNotFound) {
		deny(http.StatusUnauthorized, "invalid_token", "the access token is invalid, expired or revoked")
		return
	} else if err != nil {
		s.serverError(w, r, "userinfo", err)
		return
	}
	var claims IDClaims
	releaseClaims(&claims, u, c.Scopes)
	out := map[string]any{"sub": u.ID}
	for k, v := range map[string]string{"email": claims.Email, "name": claims.Name, "given_name": claims.GivenName,
		"family_name": claims.FamilyName, "locale": claims.Locale, "picture": claims.Picture} {
		if v != "" {
			out[k] = v
		}
	}
	if claims.EmailVerified != nil {
		out["email_verified"] = *claims.EmailVerified
	}
	if c.OrgID != "" {
		out["oid"] = c.OrgID
	}
	writeJSON(w, http.StatusOK, out)
}

// bearerToken takes the token out of an Authorization header; the scheme
// is case-insensitive (RFC 9110 section 11.1).
func bearerToken(h string) (string, bool) {
	if len(h) < 7 || !strings.EqualFold(h[:7], "Bearer ") {
		return "", false
	}
	return h[7:], true
}
