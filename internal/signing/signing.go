// Package signing holds the environment's JWT signing keys: it makes them,
// stores the private half encrypted, signs tokens with the newest, and
// verifies tokens against any key still published in the JWKS.
//
// The algorithm is fixed to RS256 and never read from a token's header, so
// alg=none and HS256-with-the-public-key tokens are refused.
package signing

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/gatehouse/gatehouse/internal/id"
	"github.com/gatehouse/gatehouse/internal/store"
)

// Alg is the one signature algorithm Gatehouse issues and accepts.
const Alg = jose.RS256

// ErrInvalidToken covers every reason a token is refused; callers answer
// 401 without saying which, so probing learns nothing.
var ErrInvalidToken = errors.New("invalid token")

// Keyring signs with the active key and verifies with every published key.
type Keyring struct {
	signer jose.Signer
	priv   *rsa.PrivateKey // the active key, for SignAs
	kid    string
	public map[string]*rsa.PublicKey
	jwks   []byte
}

// Load reads the environment's keys, creating the first one if there is
// none. masterKey (32 bytes) encrypts private keys at rest.
func Load(ctx context.Context, st *store.Store, ids *id.Generator, now time.Time, envID string, masterKey []byte) (*Keyring, error) {
	keys, err := st.Q().ListSigningKeys(ctx, envID)
	if err != nil {
		return nil, err
	}
	if len(keys) == 0 {
		// Nodes starting together on an empty database must agree on one
		// first key: under the bootstrap lock, only the first creates it.
		err = st.Tx(ctx, func(q *store.Q) error {
			if err := q.LockBootstrap(ctx); err != nil {
				return err
			}
			if keys, err = q.ListSigningKeys(ctx, envID); err != nil || len(keys) > 0 {
				return err
			}
			k, err := newKey(ids, now, envID, masterKey)
			if err != nil {
				return err
			}
			keys = []*store.SigningKey{k}
			return q.CreateSigningKey(ctx, k)
		})
		if err != nil {
			return nil, err
		}
	}
	return build(keys, masterKey)
}

func newKey(ids *id.Generator, now time.Time, envID string, masterKey []byte) (*store.SigningKey, error) {
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	kid := ids.New(id.Key)
	pub, err := json.Marshal(jose.JSONWebKey{Key: &priv.PublicKey, KeyID: kid, Algorithm: string(Alg), Use: "sig"})
	if err != nil {
		return nil, err
	}
	enc, err := seal(masterKey, x509.MarshalPKCS1PrivateKey(priv))
	if err != nil {
		return nil, err
	}
	return &store.SigningKey{ID: kid, EnvID: envID, Alg: string(Alg), PrivateEnc: enc, PublicJWK: string(pub), CreatedAt: now}, nil
}

func build(keys []*store.SigningKey, masterKey []byte) (*Keyring, error) {
	kr := &Keyring{public: map[string]*rsa.PublicKey{}}
	var set jose.JSONWebKeySet
	for _, k := range keys {
		var jwk jose.JSONWebKey
		if err := json.Unmarshal([]byte(k.PublicJWK), &jwk); err != nil {
			return nil, fmt.Errorf("signing key %s: %w", k.ID, err)
		}
		pub, ok := jwk.Key.(*rsa.PublicKey)
		if !ok {
			return nil, fmt.Errorf("signing key %s is not RSA", k.ID)
		}
		kr.public[k.ID] = pub
		set.Keys = append(set.Keys, jwk)
		if kr.signer != nil || !k.RetiredAt.IsZero() {
			continue
		}
		der, err := open(masterKey, k.PrivateEnc)
		if err != nil {
			return nil, fmt.Errorf("signing key %s cannot be decrypted with this secret key: %w", k.ID, err)
		}
		priv, err := x509.ParsePKCS1PrivateKey(der)
		if err != nil {
			return nil, err
		}
		kr.signer, err = jose.NewSigner(jose.SigningKey{Algorithm: Alg, Key: jose.JSONWebKey{Key: priv, KeyID: k.ID}},
			(&jose.SignerOptions{}).WithType("JWT"))
		if err != nil {
			return nil, err
		}
		kr.kid, kr.priv = k.ID, priv
	}
	if kr.signer == nil {
		return nil, errors.New("no active signing key")
	}
	var err error
	kr.jwks, err = json.Marshal(set)
	return kr, err
}

// JWKS returns the public key set as served at /keys.
func (k *Keyring) JWKS() []byte { return k.jwks }

// KeyID returns the id of the key new tokens are signed with.
func (k *Keyring) KeyID() string { return k.kid }

// Sign serializes claims as a signed JWT.
func (k *Keyring) Sign(claims any) (string, error) {
	return jwt.Signed(k.signer).Claims(claims).Serialize()
}

// MaxTokenBytes bounds the tokens Verify parses. Gatehouse's own tokens are
// well under 2 KiB; parsing a megabyte header costs go-jose over 100 ms, so
// oversized input is refused before any decoding (SECURITY-BAR J07).
const MaxTokenBytes = 16 << 10

// Verify checks the signature of token and decodes its claims into out.
// It does not check expiry or audience: that is the caller's policy.
func (k *Keyring) Verify(token string, out ...any) error {
	if len(token) > MaxTokenBytes {
		return ErrInvalidToken
	}
	tok, err := jwt.ParseSigned(token, []jose.SignatureAlgorithm{Alg})
	if err != nil || len(tok.Headers) != 1 {
		return ErrInvalidToken
	}
	pub, ok := k.public[tok.Headers[0].KeyID]
	if !ok {
		return ErrInvalidToken
	}
	if err := tok.Claims(pub, out...); err != nil {
		return ErrInvalidToken
	}
	return nil
}

// seal encrypts plain with AES-256-GCM under key; the nonce leads the output.
func seal(key, plain []byte) (string, error) {
	aead, err := gcm(key)
	if err != nil {
		return "", err
	}
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(aead.Seal(nonce, nonce, plain, nil)), nil
}

func open(key []byte, sealed string) ([]byte, error) {
	aead, err := gcm(key)
	if err != nil {
		return nil, err
	}
	raw, err := base64.StdEncoding.DecodeString(sealed)
	if err != nil || len(raw) < aead.NonceSize() {
		return nil, errors.New("malformed ciphertext")
	}
	return aead.Open(nil, raw[:aead.NonceSize()], raw[aead.NonceSize():], nil)
}

func gcm(key []byte) (cipher.AEAD, error) {
	if len(key) != 32 {
		return nil, errors.New("the secret key must be 32 bytes")
	}
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(b)
}
