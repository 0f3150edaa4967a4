package signing

import (
	"strings"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// Token types (the JWS typ header) that tell Gatehouse's token kinds apart,
// so one kind can never be accepted where another is expected (RFC 8725
// section 3.11). ID tokens keep the plain JWT type every OIDC library
// expects.
const (
	TypeJWT         = "JWT"
	TypeAccessToken = "at+jwt"     // RFC 9068
	TypeLogoutToken = "logout+jwt" // OIDC Back-Channel Logout 1.0 section 2.4
)

// tokenTypes are the types a key makes a signer for when it is unsealed.
var tokenTypes = [...]string{TypeJWT, TypeAccessToken, TypeLogoutToken}

// SignAs serializes claims as a JWT signed with the active key, with the
// typ header set to typ.
func (k *Keyring) SignAs(typ string, claims any) (string, error) {
	active := k.current().signer
	if active == nil || active.priv == nil { // removed when loaded, and the clock went back
		return "", errNoSigner
	}
	s, ok := active.signers[typ]
	if !ok {
		var err error
		if s, err = newTypedSigner(active.sk, typ); err != nil {
			return "", err
		}
	}
	return jwt.Signed(s).Claims(claims).Serialize()
}

// VerifyAs is Verify for a token whose typ header must be typ (compared
// case-insensitively, as media types are; an "application/" prefix is
// allowed, RFC 7515 section 4.1.9).
func (k *Keyring) VerifyAs(token, typ string, out ...any) error {
	if len(token) > MaxTokenBytes {
		return ErrInvalidToken
	}
	tok, err := jwt.ParseSigned(token, []jose.SignatureAlgorithm{Alg})
	if err != nil || len(tok.Headers) != 1 {
		return ErrInvalidToken
	}
	got, _ := tok.Headers[0].ExtraHeaders[jose.HeaderType].(string)
	got = strings.TrimPrefix(strings.ToLower(got), "application/")
	if got != strings.ToLower(typ) {
		return ErrInvalidToken
	}
	pub, ok := k.current().public[tok.Headers[0].KeyID]
	if !ok {
		return ErrInvalidToken
	}
	if err := tok.Claims(pub, out...); err != nil {
		return ErrInvalidToken
	}
	return nil
}
