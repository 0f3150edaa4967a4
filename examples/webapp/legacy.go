package main

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// LegacyUser is an account of the legacy system the app is migrating
// from. ID is what Gatehouse knows as the user's external_id (the import
// step of the migration kept it).
type LegacyUser struct {
	ID    string
	Email string
	Roles []string
}

// legacySystem stands in for the old auth system: it signs users in with
// an email (no password, it is a demo), issues RS256 JWTs, and publishes
// its JWKS, as Auth0, Cognito or a home-grown service would. In a real
// migration this is the existing system, untouched.
type legacySystem struct {
	issuer   string
	audience string
	key      *rsa.PrivateKey
	signer   jose.Signer
	users    map[string]LegacyUser // by lower-case email
	now      func() time.Time
	insecure bool
}

// legacyCookie holds the legacy session token in the browser.
const legacyCookie = "legacy_session"

// legacyAudience is the audience of the legacy tokens.
const legacyAudience = "legacy-webapp"

func newLegacySystem(issuer string, users []LegacyUser, now func() time.Time, insecure bool) (*legacySystem, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", "legacy-1"))
	if err != nil {
		return nil, err
	}
	l := &legacySystem{issuer: issuer, audience: legacyAudience, key: key, signer: signer, users: map[string]LegacyUser{},
		now: now, insecure: insecure}
	for _, u := range users {
		l.users[strings.ToLower(u.Email)] = u
	}
	return l, nil
}

// token issues a legacy session token for u.
func (l *legacySystem) token(u LegacyUser) (string, error) {
	now := l.now()
	return jwt.Signed(l.signer).Claims(map[string]any{"iss": l.issuer, "sub": u.ID, "aud": l.audience, "email": u.Email,
		"roles": u.Roles, "iat": now.Unix(), "exp": now.Add(8 * time.Hour).Unix()}).Serialize()
}

func (l *legacySystem) jwks(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{
		{Key: &l.key.PublicKey, KeyID: "legacy-1", Algorithm: "RS256", Use: "sig"}}})
}

// loginPage shows the legacy login form.
func (l *legacySystem) loginPage(w http.ResponseWriter, r *http.Request) {
	render(w, http.StatusOK, "legacy", map[string]string{"Email": r.URL.Query().Get("email"),
		"ReturnTo": localPath(r.URL.Query().Get("return_to"))})
}

// login signs a legacy user in: the old system's session cookie.
func (l *legacySystem) login(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	u, ok := l.users[strings.ToLower(strings.TrimSpace(r.PostForm.Get("email")))]
	if !ok {
		render(w, http.StatusUnauthorized, "legacy", map[string]string{"Email": r.PostForm.Get("email"),
			"Error": "No such account in the old system.", "ReturnTo": localPath(r.PostForm.Get("return_to"))})
		return
	}
	tok, err := l.token(u)
	if err != nil {
		http.Error(w, "cannot sign in", http.StatusInternalServerError)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: legacyCookie, Value: tok, Path: "/", MaxAge: 8 * 3600, HttpOnly: true,
		Secure: !l.insecure, SameSite: http.SameSiteLaxMode})
	http.Redirect(w, r, localPath(r.PostForm.Get("return_to")), http.StatusSeeOther)
}

func (l *legacySystem) clear(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: legacyCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true,
		Secure: !l.insecure, SameSite: http.SameSiteLaxMode})
}

// tokenFrom reads the legacy session token of a request.
func tokenFrom(r *http.Request) string {
	if c, err := r.Cookie(legacyCookie); err == nil {
		return c.Value
	}
	return ""
}

// localPath keeps p only if it is a path on this site.
func localPath(p string) string {
	if p == "" || p[0] != '/' || strings.HasPrefix(p, "//") || strings.HasPrefix(p, "/\\") {
		return "/dashboard"
	}
	return p
}
