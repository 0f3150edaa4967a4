package oauth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"slices"
	"strings"
)

// Scopes Gatehouse understands. Others are ignored at the authorization
// endpoint (and so never granted), as OIDC asks.
const (
	ScopeOpenID        = "openid"
	ScopeProfile       = "profile"
	ScopeEmail         = "email"
	ScopeOfflineAccess = "offline_access"
)

var supportedScopes = []string{ScopeOpenID, ScopeProfile, ScopeEmail, ScopeOfflineAccess}

// DefaultScope is what a request without scope gets, as the SDKs default.
const DefaultScope = "openid profile email"

// grantableScopes keeps the known scopes of a space-separated list, once
// each, in the order Gatehouse lists them.
func grantableScopes(raw string) []string {
	asked := strings.Fields(raw)
	out := []string{}
	for _, s := range supportedScopes {
		if slices.Contains(asked, s) {
			out = append(out, s)
		}
	}
	return out
}

func hasScope(scopes []string, s string) bool { return slices.Contains(scopes, s) }

// ManagementScopes are the scopes an API client may ask for with
// client_credentials: only "openid", which Scalekit's token endpoint
// answers for every management token. A management token's power is the
// management API as a whole, so there is nothing finer to grant, and a
// request for anything else must fail rather than be silently narrowed
// (SECURITY-BAR O14).
var ManagementScopes = []string{ScopeOpenID}

// managementScope is the scope a client_credentials request gets: all of
// ManagementScopes without a scope parameter, else the asked ones, each of
// which must be one of them (ok false: invalid_scope).
func managementScope(raw string) (granted string, ok bool) {
	asked := strings.Fields(raw)
	if len(asked) == 0 {
		return strings.Join(ManagementScopes, " "), true
	}
	var out []string
	for _, sc := range asked {
		if !slices.Contains(ManagementScopes, sc) {
			return "", false
		}
		if !slices.Contains(out, sc) {
			out = append(out, sc)
		}
	}
	return strings.Join(out, " "), true
}

// secretHash is the stored form of codes and refresh tokens: 256 random
// bits each, so one SHA-256 is a sound way to keep them.
func secretHash(v string) string {
	sum := sha256.Sum256([]byte(v))
	return hex.EncodeToString(sum[:])
}

// randomToken returns prefix followed by 256 random bits, URL-safe.
func randomToken(prefix string) (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return prefix + base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// halfHash is at_hash and c_hash (OIDC Core 3.1.3.6, 3.3.2.11): the left
// half of the SHA-256 of the value, base64url, for RS256.
func halfHash(v string) string {
	sum := sha256.Sum256([]byte(v))
	return base64.RawURLEncoding.EncodeToString(sum[:len(sum)/2])
}

// validVerifier checks a PKCE code_verifier (RFC 7636 section 4.1): 43 to
// 128 characters of [A-Za-z0-9-._~].
func validVerifier(v string) bool {
	if len(v) < 43 || len(v) > 128 {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~') {
			return false
		}
	}
	return true
}

// validChallenge checks an S256 code_challenge: the base64url SHA-256 of a
// verifier, 43 characters.
func validChallenge(c string) bool {
	if len(c) != 43 {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(c)
	return err == nil
}

func s256(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}
