//go:build !openssl

package signing

import (
	"crypto"
	"crypto/rsa"

	"github.com/go-jose/go-jose/v4"
)

const engineName = "go"

// newJoseKey returns what go-jose signs with for priv, the header
// carrying kid: for the Go engine, the key itself.
func newJoseKey(priv *rsa.PrivateKey, kid string) (any, error) {
	return jose.JSONWebKey{Key: priv, KeyID: kid}, nil
}

func newDigestSigner(priv *rsa.PrivateKey) (SignDigest, error) {
	return func(digest []byte) ([]byte, error) {
		return rsa.SignPKCS1v15(nil, priv, crypto.SHA256, digest)
	}, nil
}
