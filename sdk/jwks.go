package sdk

import (
	"context"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"golang.org/x/sync/singleflight"
)

// minRSABits is the smallest RSA key accepted from a JWKS.
const minRSABits = 2048

// errUnknownKey: the token's kid is not in the JWKS, even after a re-fetch.
var errUnknownKey = errors.New("unknown key id")

// errJWKSUnavailable: the JWKS has never been fetched successfully.
var errJWKSUnavailable = errors.New("gatehouse: the JWKS could not be fetched")

// keySet caches the RS256 keys of a JWKS by key id.
//
// A fetched set is used for maxAge. A token whose kid is not in the cache
// causes a re-fetch, but at most one per minInterval: forged kids cannot
// make the SDK hammer the server. Concurrent misses share one fetch.
type keySet struct {
	url         string
	hc          *http.Client
	now         func() time.Time
	minInterval time.Duration
	maxAge      time.Duration

	mu        sync.RWMutex
	keys      map[string]*rsa.PublicKey
	fetchedAt time.Time // last successful fetch
	triedAt   time.Time // last fetch attempt
	group     singleflight.Group
}

// key returns the public key for kid.
func (k *keySet) key(ctx context.Context, kid string) (*rsa.PublicKey, error) {
	k.mu.RLock()
	pub, ok := k.keys[kid]
	fresh := !k.fetchedAt.IsZero() && k.now().Sub(k.fetchedAt) < k.maxAge
	k.mu.RUnlock()
	if ok && fresh {
		return pub, nil
	}
	// refresh fetches only when the interval allows, and otherwise joins
	// a fetch in flight (so a just-rotated key is found by every request
	// that waited for it) or returns at once.
	err := k.refresh(ctx)
	k.mu.RLock()
	now, found := k.keys[kid]
	fetched := !k.fetchedAt.IsZero()
	k.mu.RUnlock()
	switch {
	case found:
		return now, nil
	case err != nil && ok:
		return pub, nil // keep serving a stale key rather than fail every request
	case err != nil:
		return nil, err
	case !fetched:
		return nil, errJWKSUnavailable
	}
	return nil, errUnknownKey
}

// interval is the least time between fetches: minInterval once a fetch
// has succeeded, and at most unavailableRetry while none has, so a JWKS
// that was down at start is tried again soon.
func (k *keySet) interval(fetchedAt time.Time) time.Duration {
	if fetchedAt.IsZero() {
		return min(k.minInterval, unavailableRetry)
	}
	return k.minInterval
}

// unavailableRetry bounds the wait before trying again a JWKS that never
// answered.
const unavailableRetry = 5 * time.Second

// refresh fetches the JWKS, once for all concurrent callers.
func (k *keySet) refresh(ctx context.Context) error {
	ch := k.group.DoChan("jwks", func() (any, error) {
		k.mu.Lock()
		// Another caller may have fetched while this one waited.
		if !k.triedAt.IsZero() && k.now().Sub(k.triedAt) < k.interval(k.fetchedAt) {
			k.mu.Unlock()
			return nil, nil
		}
		k.triedAt = k.now()
		k.mu.Unlock()
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), DefaultTimeout)
		defer cancel()
		keys, err := k.fetch(fctx)
		if err != nil {
			return nil, err
		}
		k.mu.Lock()
		k.keys, k.fetchedAt = keys, k.now()
		k.mu.Unlock()
		return nil, nil
	})
	select {
	case r := <-ch:
		return r.Err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (k *keySet) fetch(ctx context.Context) (map[string]*rsa.PublicKey, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, k.url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", userAgent)
	resp, err := k.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("gatehouse: fetching the JWKS: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("gatehouse: fetching the JWKS: %s", resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if err != nil {
		return nil, fmt.Errorf("gatehouse: fetching the JWKS: %w", err)
	}
	return ParseRSAKeys(body)
}

// ParseRSAKeys reads the RS256 signing keys of a JWKS document by key id.
// Keys that are not RSA public keys of at least 2048 bits, are for
// encryption (use "enc"), name another algorithm than RS256, or have no
// kid are skipped; a key that cannot be parsed is skipped too, so one odd
// entry does not hide the others.
func ParseRSAKeys(jwks []byte) (map[string]*rsa.PublicKey, error) {
	var doc struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(jwks, &doc); err != nil {
		return nil, fmt.Errorf("gatehouse: the JWKS is not JSON: %w", err)
	}
	out := make(map[string]*rsa.PublicKey, len(doc.Keys))
	for _, raw := range doc.Keys {
		var jwk jose.JSONWebKey
		if err := jwk.UnmarshalJSON(raw); err != nil {
			continue
		}
		pub, ok := jwk.Key.(*rsa.PublicKey)
		if !ok || jwk.KeyID == "" || (jwk.Use != "" && jwk.Use != "sig") ||
			(jwk.Algorithm != "" && jwk.Algorithm != string(jose.RS256)) || pub.N.BitLen() < minRSABits {
			continue
		}
		out[jwk.KeyID] = pub
	}
	return out, nil
}
