package oauth

import (
	"crypto/subtle"
	"net/http"
	"time"
)

// The sign-out confirmation form carries a CSRF token (SECURITY-BAR S05).
// http.CrossOriginProtection alone lets through a POST with neither Origin
// nor Sec-Fetch-Site (an old browser, a non-browser client), so the form
// also holds a random token that must equal the one in a __Host- cookie
// set with the page: another site can neither read that cookie nor make a
// browser send it with a cross-site POST (SameSite=Strict), and the
// __Host- prefix keeps subdomains from planting one. The token needs no
// storage and works without a browser session, which a confirmation with
// an expired id_token_hint may not have.

// LogoutCSRFCookie holds the token of the sign-out confirmation form.
const LogoutCSRFCookie = "__Host-gatehouse_logout"

// logoutCSRFTTL is how long a confirmation page stays usable.
const logoutCSRFTTL = 10 * time.Minute

// newLogoutCSRF sets a fresh token cookie and returns the token for the
// form.
func newLogoutCSRF(w http.ResponseWriter) (string, error) {
	tok, err := randomToken("")
	if err != nil {
		return "", err
	}
	http.SetCookie(w, &http.Cookie{Name: LogoutCSRFCookie, Value: tok, Path: "/", MaxAge: int(logoutCSRFTTL / time.Second),
		Secure: true, HttpOnly: true, SameSite: http.SameSiteStrictMode})
	return tok, nil
}

// validLogoutCSRF reports whether the form's token is the cookie's,
// compared in constant time; a missing one on either side is not.
func validLogoutCSRF(r *http.Request, formToken string) bool {
	c, err := r.Cookie(LogoutCSRFCookie)
	if err != nil || c.Value == "" || formToken == "" {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(c.Value), []byte(formToken)) == 1
}

// clearLogoutCSRF removes the token cookie once the sign-out is done.
func clearLogoutCSRF(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: LogoutCSRFCookie, Value: "", Path: "/", MaxAge: -1,
		Secure: true, HttpOnly: true, SameSite: http.SameSiteStrictMode})
}
