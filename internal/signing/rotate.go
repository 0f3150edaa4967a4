package signing

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/gatehouse/gatehouse/internal/apierr"
	"github.com/gatehouse/gatehouse/internal/id"
	"github.com/gatehouse/gatehouse/internal/store"
)

// Timing of a rotation (docs/oauth.md, "Signing keys").
const (
	// JWKSMaxAge is the Cache-Control max-age of /keys: how long a client
	// may use a JWKS without asking again.
	JWKSMaxAge = 300 * time.Second
	// JWKSCacheControl is the header /keys sends, with JWKSMaxAge.
	JWKSCacheControl = "public, max-age=300"
	// DefaultPublishFor is how long a new key is published as next before
	// it signs: the JWKS max-age, plus as much again for caches in front
	// of the server and clients that fetched just before the rotation.
	DefaultPublishFor = 2 * JWKSMaxAge
	// MaxPublishFor bounds the publication delay a rotation may ask for.
	MaxPublishFor = 7 * 24 * time.Hour
	// DefaultMaxTokenLifetime is used when Options leave it unset: the
	// longest access token a session policy may set (24 h).
	DefaultMaxTokenLifetime = 24 * time.Hour
	// RemovalMargin is added to the longest token lifetime before a
	// retiring key leaves the JWKS: the 60 s clock skew verifiers allow
	// (SECURITY-BAR J05) and 5 minutes for nodes that have not reloaded
	// yet and still sign with it.
	RemovalMargin = 6 * time.Minute
	// DefaultReloadInterval is how often Run rereads the keys.
	DefaultReloadInterval = 30 * time.Second
)

// Key describes one signing key for listing.
type Key struct {
	ID        string
	State     State
	Alg       string
	CreatedAt time.Time
	ActiveAt  time.Time // when it started (or starts) signing
	RetiredAt time.Time // when it stopped (or stops) signing; zero: not scheduled
	RemovedAt time.Time // when it left (or leaves) the JWKS; zero: not scheduled
}

// Rotation says how to rotate.
type Rotation struct {
	// PublishFor is how long the new key is published before it signs;
	// zero means DefaultPublishFor. Less than JWKSMaxAge is refused unless
	// Immediate.
	PublishFor time.Duration
	// Immediate makes the new key sign at once. Clients holding a cached
	// JWKS without it refuse its tokens until they fetch again (at most
	// JWKSMaxAge): for emergencies only.
	Immediate bool
	// RemovePrevious (only with Immediate) takes every older key out of
	// the JWKS at once, so every token they signed fails: for a leaked key.
	RemovePrevious bool
}

// List returns the environment's keys as stored, newest first, with their
// states now. It reads the database, so it shows rotations other nodes
// made that this node has not reloaded yet.
func (k *Keyring) List(ctx context.Context) ([]Key, error) {
	rows, err := k.o.Store.Q().ListSigningKeys(ctx, k.o.EnvID)
	if err != nil {
		return nil, err
	}
	return describe(rows, k.o.Now()), nil
}

func describe(rows []*store.SigningKey, t time.Time) []Key {
	r := &ring{}
	for _, row := range rows {
		r.keys = append(r.keys, &key{id: row.ID, row: row})
	}
	states, _ := r.states(t)
	out := make([]Key, len(rows))
	for i, row := range rows {
		out[i] = Key{ID: row.ID, State: states[row.ID], Alg: row.Alg, CreatedAt: row.CreatedAt, ActiveAt: row.ActiveAt,
			RetiredAt: row.RetiredAt, RemovedAt: row.RemovedAt}
	}
	return out
}

// Rotate creates a new key, published as next, that becomes active after
// r.PublishFor; the active key stops signing then and stays published for
// the longest token lifetime plus RemovalMargin. Keys already retiring
// keep their schedule. A rotation while a next key waits is refused. The
// change is recorded as a signing_key.rotated event, and this node
// reloads at once (others within their reload interval).
func (k *Keyring) Rotate(ctx context.Context, r Rotation) (Key, error) {
	if err := r.check(); err != nil {
		return Key{}, err
	}
	now := k.o.Now()
	activeAt := now.Add(r.publishFor())
	nk, err := newKey(k.o.IDs, now, activeAt, k.o.EnvID, k.o.MasterKey)
	if err != nil {
		return Key{}, err
	}
	err = k.o.Store.Tx(ctx, func(q *store.Q) error {
		// One rotation at a time across nodes.
		if err := q.LockBootstrap(ctx); err != nil {
			return err
		}
		rows, err := q.ListSigningKeys(ctx, k.o.EnvID)
		if err != nil {
			return err
		}
		ev := rotatedEvent{Key: nk.ID, ActiveAt: activeAt}
		for _, old := range describe(rows, now) {
			if err := k.retire(ctx, q, old, r, activeAt, &ev); err != nil {
				return err
			}
		}
		if err := q.CreateSigningKey(ctx, nk); err != nil {
			return err
		}
		return k.emit(ctx, q, now, ev)
	})
	if err != nil {
		return Key{}, err
	}
	if err := k.Reload(ctx); err != nil {
		return Key{}, fmt.Errorf("the rotation is stored, but reloading the keys failed: %w", err)
	}
	return describe([]*store.SigningKey{nk}, now)[0], nil
}

func (r Rotation) check() error {
	var v apierr.Violations
	if r.PublishFor < 0 || (!r.Immediate && r.PublishFor > 0 && r.PublishFor < JWKSMaxAge) {
		v = append(v, apierr.Violation{Field: "publication_delay_seconds", Constraint: "min",
			Description: fmt.Sprintf("must be at least %d (the JWKS max-age), or 0 for the default %d; set immediate for an emergency",
				int(JWKSMaxAge/time.Second), int(DefaultPublishFor/time.Second))})
	}
	if r.PublishFor > MaxPublishFor {
		v = append(v, apierr.Violation{Field: "publication_delay_seconds", Constraint: "max",
			Description: fmt.Sprintf("must be at most %d (7 days)", int(MaxPublishFor/time.Second))})
	}
	if r.Immediate && r.PublishFor > 0 {
		v = append(v, apierr.Violation{Field: "publication_delay_seconds", Constraint: "immediate",
			Description: "must be 0 with immediate"})
	}
	if r.RemovePrevious && !r.Immediate {
		v = append(v, apierr.Violation{Field: "remove_previous", Constraint: "immediate",
			Description: "needs immediate: without a new active key at once, nothing could sign"})
	}
	return v.Err()
}

func (r Rotation) publishFor() time.Duration {
	switch {
	case r.Immediate:
		return 0
	case r.PublishFor > 0:
		return r.PublishFor
	}
	return DefaultPublishFor
}

// retire schedules the end of one existing key for a rotation whose new
// key activates at activeAt.
func (k *Keyring) retire(ctx context.Context, q *store.Q, old Key, r Rotation, activeAt time.Time, ev *rotatedEvent) error {
	now := k.o.Now()
	switch {
	case old.State == StateRemoved:
		return nil
	case old.State == StateNext:
		return apierr.FailedPrecondition(fmt.Sprintf("key %s is already waiting to become active at %s; rotate again after that",
			old.ID, old.ActiveAt.Format(time.RFC3339)))
	case r.RemovePrevious:
		retired := old.RetiredAt
		if retired.IsZero() || retired.After(now) {
			retired = now
		}
		ev.Removed = append(ev.Removed, old.ID)
		return q.ScheduleSigningKey(ctx, k.o.EnvID, old.ID, retired, now)
	case old.State == StateActive:
		removedAt := activeAt.Add(k.o.MaxTokenLifetime + RemovalMargin)
		ev.Retiring = append(ev.Retiring, old.ID)
		ev.RemovedAt = removedAt
		return q.ScheduleSigningKey(ctx, k.o.EnvID, old.ID, activeAt, removedAt)
	}
	return nil // retiring: its removal is already scheduled
}

// rotatedEvent is the payload of signing_key.rotated.
type rotatedEvent struct {
	Key       string    `json:"key_id"`
	ActiveAt  time.Time `json:"active_at"`
	Retiring  []string  `json:"retiring_key_ids,omitempty"`
	RemovedAt time.Time `json:"retiring_removed_at,omitzero"`
	Removed   []string  `json:"removed_key_ids,omitempty"`
}

func (k *Keyring) emit(ctx context.Context, q *store.Q, now time.Time, ev rotatedEvent) error {
	b, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	return q.AddEvent(ctx, &store.Event{ID: k.o.IDs.New(id.Event), EnvID: k.o.EnvID, Type: "signing_key.rotated",
		ObjectID: ev.Key, Payload: string(b), CreatedAt: now})
}

// Reload rereads the keys, keeping what it has when nothing changed. On an
// error (the database unreachable, a key this node's secret key cannot
// decrypt) the keys in use stay as they were.
func (k *Keyring) Reload(ctx context.Context) error {
	rows, err := k.o.Store.Q().ListSigningKeys(ctx, k.o.EnvID)
	if err != nil {
		return err
	}
	if fingerprint(rows) == k.ring.Load().fingerprint {
		return nil
	}
	r, err := newRing(rows, k.o.MasterKey, k.o.Now())
	if err != nil {
		return err
	}
	k.ring.Store(r)
	return nil
}

// Run reloads the keys every interval (DefaultReloadInterval when zero)
// until ctx ends, so nodes sharing a database see each other's rotations.
func (k *Keyring) Run(ctx context.Context, interval time.Duration, log *slog.Logger) {
	if interval <= 0 {
		interval = DefaultReloadInterval
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := k.Reload(ctx); err != nil && ctx.Err() == nil {
			log.WarnContext(ctx, "reloading the signing keys failed; keeping the ones in use", "err", err)
		}
	}
}
