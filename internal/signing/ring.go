package signing

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/gatehouse/gatehouse/internal/store"
)

// State is where a key is in its life.
type State string

// The states of a key, in order. Only next, active and retiring keys are
// in the JWKS and verify tokens.
const (
	StateNext     State = "next"     // published, not signing yet
	StateActive   State = "active"   // signs new tokens
	StateRetiring State = "retiring" // published and verifies, no longer signs
	StateRemoved  State = "removed"  // gone from the JWKS; its tokens fail
)

var errNoSigner = errors.New("no active signing key")

// key is one parsed signing key.
type key struct {
	id   string
	row  *store.SigningKey
	jwk  jose.JSONWebKey // public
	pub  *rsa.PublicKey
	priv *rsa.PrivateKey
	// sk is what go-jose signs with: the private key as this build's
	// engine holds it (engine.go), made once when the key is unsealed.
	sk any
	// signers holds one signer per token type (typed.go's Type*), made
	// once when the key is unsealed: go-jose's NewSigner allocates and
	// copies the key on every call, which every token grant would pay.
	signers map[string]jose.Signer
}

// window is the key's own state at t, from its times alone. A ring may
// still report an active key as retiring when a newer one is active too.
func (k *key) window(t time.Time) State {
	r := k.row
	switch {
	case !r.RemovedAt.IsZero() && !t.Before(r.RemovedAt):
		return StateRemoved
	case t.Before(r.ActiveAt):
		return StateNext
	case !r.RetiredAt.IsZero() && !t.Before(r.RetiredAt):
		return StateRetiring
	}
	return StateActive
}

// ring is the environment's keys as read from the database, newest first.
type ring struct {
	keys        []*key
	fingerprint string // ids and times, to tell whether a reload changed anything
}

// newRing parses rows and decrypts the private keys of those not removed
// at now (a removed key never signs again, so its private half stays
// sealed; a removal is final, so it never needs it again).
func newRing(rows []*store.SigningKey, masterKey []byte, now time.Time) (*ring, error) {
	r := &ring{fingerprint: fingerprint(rows)}
	for _, row := range rows {
		k := &key{id: row.ID, row: row}
		if err := json.Unmarshal([]byte(row.PublicJWK), &k.jwk); err != nil {
			return nil, fmt.Errorf("signing key %s: %w", row.ID, err)
		}
		pub, ok := k.jwk.Key.(*rsa.PublicKey)
		if !ok {
			return nil, fmt.Errorf("signing key %s is not RSA", row.ID)
		}
		k.pub = pub
		if k.window(now) != StateRemoved {
			if err := k.unseal(masterKey); err != nil {
				return nil, err
			}
		}
		r.keys = append(r.keys, k)
	}
	return r, nil
}

func (k *key) unseal(masterKey []byte) error {
	der, err := open(masterKey, k.row.PrivateEnc)
	if err != nil {
		return fmt.Errorf("signing key %s cannot be decrypted with this secret key: %w", k.id, err)
	}
	if k.priv, err = x509.ParsePKCS1PrivateKey(der); err != nil {
		return fmt.Errorf("signing key %s: %w", k.id, err)
	}
	if k.sk, err = newJoseKey(k.priv, k.id); err != nil {
		return fmt.Errorf("signing key %s: %w", k.id, err)
	}
	k.signers = make(map[string]jose.Signer, len(tokenTypes))
	for _, typ := range tokenTypes {
		sg, err := newTypedSigner(k.sk, typ)
		if err != nil {
			return err
		}
		k.signers[typ] = sg
	}
	return nil
}

func fingerprint(rows []*store.SigningKey) string {
	var b strings.Builder
	for _, r := range rows {
		fmt.Fprintf(&b, "%s/%d/%d/%d/%d;", r.ID, r.CreatedAt.UnixMicro(), r.ActiveAt.UnixMicro(),
			r.RetiredAt.UnixMicro(), r.RemovedAt.UnixMicro())
	}
	return b.String()
}

// states returns every key's state at t and the signer: the active key
// that became active last. Other keys still inside their active window
// (possible only in data written before rotation existed) are retiring.
func (r *ring) states(t time.Time) (map[string]State, *key) {
	out := make(map[string]State, len(r.keys))
	var signer *key
	for _, k := range r.keys {
		s := k.window(t)
		if s == StateActive && (signer == nil || k.row.ActiveAt.After(signer.row.ActiveAt)) {
			signer = k
		}
		out[k.id] = s
	}
	for id, s := range out {
		if s == StateActive && (signer == nil || id != signer.id) {
			out[id] = StateRetiring
		}
	}
	return out, signer
}

// usable reports whether rows hold a key that is active or next at t, so
// the environment will have a signer without creating one.
func usable(rows []*store.SigningKey, t time.Time) bool {
	for _, row := range rows {
		if s := (&key{row: row}).window(t); s == StateActive || s == StateNext {
			return true
		}
	}
	return false
}

// view is what a ring means during [from, until): the signer, the keys
// that verify and the JWKS. It is rebuilt when the clock leaves the
// interval or the ring is replaced, so requests pay only a time compare.
type view struct {
	ring        *ring
	from, until time.Time // until zero: no later change
	signer      *key
	public      map[string]*rsa.PublicKey
	jwks        []byte
	gen         uint64
}

func (v *view) covers(r *ring, t time.Time) bool {
	return v.ring == r && !t.Before(v.from) && (v.until.IsZero() || t.Before(v.until))
}

// current returns the view for the keyring's clock now.
func (k *Keyring) current() *view {
	r, t := k.ring.Load(), k.o.Now()
	if v := k.view.Load(); v != nil && v.covers(r, t) {
		return v
	}
	v := r.view(t)
	v.gen = k.gen.Add(1)
	k.view.Store(v)
	return v
}

// view builds the view at t. The JWKS lists the signer first, then the
// other published keys newest first.
func (r *ring) view(t time.Time) *view {
	states, signer := r.states(t)
	v := &view{ring: r, signer: signer, public: map[string]*rsa.PublicKey{}}
	var set jose.JSONWebKeySet
	if signer != nil {
		set.Keys = append(set.Keys, signer.jwk)
	}
	for _, k := range r.keys {
		if states[k.id] == StateRemoved {
			continue
		}
		v.public[k.id] = k.pub
		if k != signer {
			set.Keys = append(set.Keys, k.jwk)
		}
	}
	v.jwks, _ = json.Marshal(set) // public RSA keys always marshal
	for _, k := range r.keys {
		for _, at := range []time.Time{k.row.ActiveAt, k.row.RetiredAt, k.row.RemovedAt} {
			switch {
			case at.IsZero():
			case !t.Before(at) && at.After(v.from):
				v.from = at
			case t.Before(at) && (v.until.IsZero() || at.Before(v.until)):
				v.until = at
			}
		}
	}
	return v
}
