package signing

import (
	"crypto/rsa"

	"github.com/go-jose/go-jose/v4"
)

// Engine names the RSA implementation this build signs with: "go" for
// crypto/rsa (the default, pure Go), or "openssl" for the system's
// libcrypto, chosen at build time with -tags openssl (engine_openssl.go;
// docs/adr/0004-openssl-signing-engine.md says why it exists). Both sign
// the same RS256 signatures with the same keys. Verification is always
// Go's: it is cheap, and one implementation keeps SECURITY-BAR's J rows
// in one place.
const Engine = engineName

// SignDigest signs a SHA-256 digest with RSASSA-PKCS1-v1_5 (RS256).
type SignDigest func(digest []byte) ([]byte, error)

// NewDigestSigner returns this build's engine signing with priv: the raw
// operation a token's signature costs, for benchmarks that measure the
// token endpoint as a share of it.
func NewDigestSigner(priv *rsa.PrivateKey) (SignDigest, error) {
	return newDigestSigner(priv)
}

// newTypedSigner makes a go-jose signer for one token type (typ header)
// from what newJoseKey made of a private key.
func newTypedSigner(sk any, typ string) (jose.Signer, error) {
	return jose.NewSigner(jose.SigningKey{Algorithm: Alg, Key: sk}, (&jose.SignerOptions{}).WithType(jose.ContentType(typ)))
}
