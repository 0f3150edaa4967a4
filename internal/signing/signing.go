// Package signing holds the environment's JWT signing keys: it makes them,
// stores the private half encrypted, signs tokens with the active key, and
// verifies tokens against any key published in the JWKS. Keys rotate
// (rotate.go): a new key is published as next before it signs, the old one
// stays published while the tokens it signed may live, then leaves.
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
	"sync/atomic"
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
// The keys and their states come from the database: Reload (run every
// ReloadInterval by Run, and at once after a local Rotate) picks up what
// other nodes sharing the database did, and the states follow the clock,
// so a next key starts signing at its activation time on every node
// without anyone writing a row then.
type Keyring struct {
	o    Options
	ring atomic.Pointer[ring] // the keys as last read from the database
	view atomic.Pointer[view] // what they mean at the current time
	gen  atomic.Uint64        // numbers views, for Generation
}

// Options are a Keyring's dependencies.
type Options struct {
	Store *store.Store
	IDs   *id.Generator
	Now   func() time.Time
	EnvID string
	// MasterKey (32 bytes) encrypts private keys at rest.
	MasterKey []byte
	// MaxTokenLifetime is the longest a token signed by these keys may
	// live (the longest of the access and ID token lifetimes the server may
	// issue); a retiring key stays published that long plus RemovalMargin
	// after it stops signing. Zero means DefaultMaxTokenLifetime.
	MaxTokenLifetime time.Duration
}

// Load reads the environment's keys at the fixed time now, creating the
// first one if there is none: the form for tools and tests that sign or
// verify at one moment. Servers use New with their clock.
func Load(ctx context.Context, st *store.Store, ids *id.Generator, now time.Time, envID string, masterKey []byte) (*Keyring, error) {
	return New(ctx, Options{Store: st, IDs: ids, Now: func() time.Time { return now }, EnvID: envID, MasterKey: masterKey})
}

// New reads the environment's keys, creating the first one if none is
// active or waiting to be.
func New(ctx context.Context, o Options) (*Keyring, error) {
	if o.MaxTokenLifetime <= 0 {
		o.MaxTokenLifetime = DefaultMaxTokenLifetime
	}
	if _, err := gcm(o.MasterKey); err != nil {
		return nil, err
	}
	k := &Keyring{o: o}
	keys, err := o.Store.Q().ListSigningKeys(ctx, o.EnvID)
	if err != nil {
		return nil, err
	}
	if !usable(keys, o.Now()) {
		if keys, err = k.createFirst(ctx); err != nil {
			return nil, err
		}
	}
	r, err := newRing(keys, o.MasterKey, o.Now())
	if err != nil {
		return nil, err
	}
	k.ring.Store(r)
	return k, nil
}

// createFirst makes the environment's first key. Nodes starting together
// on an empty database must agree on one first key: under the bootstrap
// lock, only the first creates it.
func (k *Keyring) createFirst(ctx context.Context) ([]*store.SigningKey, error) {
	var keys []*store.SigningKey
	err := k.o.Store.Tx(ctx, func(q *store.Q) error {
		if err := q.LockBootstrap(ctx); err != nil {
			return err
		}
		var err error
		now := k.o.Now()
		if keys, err = q.ListSigningKeys(ctx, k.o.EnvID); err != nil || usable(keys, now) {
			return err
		}
		nk, err := newKey(k.o.IDs, now, now, k.o.EnvID, k.o.MasterKey)
		if err != nil {
			return err
		}
		keys = append([]*store.SigningKey{nk}, keys...)
		return q.CreateSigningKey(ctx, nk)
	})
	return keys, err
}

func newKey(ids *id.Generator, now, activeAt time.Time, envID string, masterKey []byte) (*store.SigningKey, error) {
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
	return &store.SigningKey{ID: kid, EnvID: envID, Alg: string(Alg), PrivateEnc: enc, PublicJWK: string(pub),
		CreatedAt: now, ActiveAt: activeAt}, nil
}

// JWKS returns the public key set as served at /keys: every key that is
// next, active or retiring now.
func (k *Keyring) JWKS() []byte { return k.current().jwks }

// KeyID returns the id of the key new tokens are signed with now, or ""
// when no key is active.
func (k *Keyring) KeyID() string {
	if s := k.current().signer; s != nil {
		return s.id
	}
	return ""
}

// Generation changes whenever the set of keys that verify may have
// changed (a reload that found changes, or a key changing state), so
// callers caching verification results can drop them.
func (k *Keyring) Generation() uint64 { return k.current().gen }

// Sign serializes claims as a signed JWT.
func (k *Keyring) Sign(claims any) (string, error) { return k.SignAs(TypeJWT, claims) }

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
	pub, ok := k.current().public[tok.Headers[0].KeyID]
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
