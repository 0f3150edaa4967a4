package sessions

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"

	"github.com/gatehouse/gatehouse/internal/store"
)

// CookieName is the browser session cookie. The __Host- prefix makes
// browsers insist on Secure, Path=/ and no Domain, so no subdomain can set
// or read it (SECURITY-BAR S02).
const CookieName = "__Host-gatehouse_session"

// newCookieValue returns 256 random bits, URL-safe.
func newCookieValue() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// hash is the stored form of a cookie value: the value is 256 random bits,
// so one SHA-256 is enough.
func hash(v string) string {
	sum := sha256.Sum256([]byte(v))
	return hex.EncodeToString(sum[:])
}

// SetCookie sends the session cookie for a session made by Create: Secure,
// HttpOnly, SameSite=Lax, and expiring with the session's absolute timeout.
func SetCookie(w http.ResponseWriter, value string, s *Session) {
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: value, Path: "/", Expires: s.AbsoluteExpiresAt,
		Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode})
}

// ClearCookie removes the session cookie from the browser.
func ClearCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: "", Path: "/", MaxAge: -1,
		Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode})
}

// FromRequest returns the live session whose cookie the request carries,
// or ErrNoSession. It does not touch the session.
func (s *Service) FromRequest(r *http.Request) (*Session, error) {
	c, err := r.Cookie(CookieName)
	if err != nil || len(c.Value) != 43 {
		return nil, ErrNoSession
	}
	ses, err := s.Store.Q().GetSessionByCookie(r.Context(), s.EnvID, hash(c.Value))
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrNoSession
	}
	if err != nil {
		return nil, err
	}
	if !Live(ses, s.Now()) {
		return nil, ErrNoSession
	}
	return ses, nil
}
