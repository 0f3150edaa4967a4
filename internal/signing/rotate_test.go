package signing

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/go-jose/go-jose/v4"

	"github.com/gatehouse/gatehouse/internal/apierr"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/testdb"
)

// clock is a fake clock tests move by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time)     { c.mu.Lock(); defer c.mu.Unlock(); c.t = t }
func (c *clock) Add(d time.Duration) { c.Set(c.Now().Add(d)) }

const lifetime = time.Hour

// node opens a keyring on its own connection pool to dsn, as a separate
// server sharing the database would.
func (e *env) node(t *testing.T, dsn string, clk *clock) *Keyring {
	t.Helper()
	st, err := store.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	kr, err := New(context.Background(), Options{Store: st, IDs: e.ids, Now: clk.Now, EnvID: e.envID, MasterKey: e.mk,
		MaxTokenLifetime: lifetime})
	if err != nil {
		t.Fatal(err)
	}
	return kr
}

func jwksKids(t *testing.T, kr *Keyring) []string {
	t.Helper()
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(kr.JWKS(), &set); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, k := range set.Keys {
		out = append(out, k.KeyID)
	}
	return out
}

func states(t *testing.T, kr *Keyring) map[string]State {
	t.Helper()
	keys, err := kr.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]State{}
	for _, k := range keys {
		out[k.ID] = k.State
	}
	return out
}

func signedBy(t *testing.T, kr *Keyring) (tok, kid string) {
	t.Helper()
	tok, err := kr.Sign(claims())
	if err != nil {
		t.Fatal(err)
	}
	h, err := jose.ParseSigned(tok, []jose.SignatureAlgorithm{Alg})
	if err != nil {
		t.Fatal(err)
	}
	return tok, h.Signatures[0].Header.KeyID
}

func sameKids(got []string, want ...string) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if got[i] != want[i] {
			return false
		}
	}
	return true
}

// TestRotationLifecycle walks one rotation through its states with a fake
// clock: next (published, not signing) for the publication delay, then
// active while the old key is retiring (both published, old tokens
// verify), then the old key removed (its tokens fail, even unexpired).
func TestRotationLifecycle(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dsn string) {
		e := newEnv(t, dsn)
		clk := &clock{t: t0}
		kr := e.node(t, dsn, clk)
		oldTok, oldKid := signedBy(t, kr)
		gen := kr.Generation()

		nk, err := kr.Rotate(context.Background(), Rotation{})
		if err != nil {
			t.Fatal(err)
		}
		activeAt := t0.Add(DefaultPublishFor)
		if nk.State != StateNext || !nk.ActiveAt.Equal(activeAt) {
			t.Fatalf("new key = %+v, want next, active at %s", nk, activeAt)
		}
		if got := jwksKids(t, kr); !sameKids(got, oldKid, nk.ID) {
			t.Errorf("JWKS after the rotation = %v, want the active %s then the next %s", got, oldKid, nk.ID)
		}
		if s := states(t, kr); s[oldKid] != StateActive || s[nk.ID] != StateNext {
			t.Errorf("states after the rotation = %v", s)
		}

		// Until the publication delay has passed, the old key signs.
		clk.Set(activeAt.Add(-time.Second))
		if _, kid := signedBy(t, kr); kid != oldKid {
			t.Errorf("a second before activation, signed by %s, want the old key %s", kid, oldKid)
		}
		clk.Set(activeAt)
		newTok, kid := signedBy(t, kr)
		if kid != nk.ID {
			t.Errorf("at activation, signed by %s, want the new key %s", kid, nk.ID)
		}
		if kr.Generation() == gen {
			t.Error("Generation did not change when the keys changed")
		}
		if got := jwksKids(t, kr); !sameKids(got, nk.ID, oldKid) {
			t.Errorf("JWKS during the overlap = %v, want the new key then the old", got)
		}
		if s := states(t, kr); s[oldKid] != StateRetiring || s[nk.ID] != StateActive {
			t.Errorf("states during the overlap = %v", s)
		}
		if err := kr.Verify(oldTok); err != nil {
			t.Errorf("an old-key token during the overlap: %v", err)
		}

		// The old key leaves after the longest token lifetime and the margin.
		removeAt := activeAt.Add(lifetime + RemovalMargin)
		clk.Set(removeAt.Add(-time.Second))
		if err := kr.Verify(oldTok); err != nil {
			t.Errorf("an old-key token a second before removal: %v", err)
		}
		clk.Set(removeAt)
		if err := kr.Verify(oldTok); !errors.Is(err, ErrInvalidToken) {
			t.Errorf("an old-key token after removal: %v, want ErrInvalidToken", err)
		}
		if err := kr.VerifyAs(oldTok, TypeJWT); !errors.Is(err, ErrInvalidToken) {
			t.Errorf("VerifyAs of an old-key token after removal: %v", err)
		}
		if err := kr.Verify(newTok); err != nil {
			t.Errorf("a new-key token after removal of the old: %v", err)
		}
		if got := jwksKids(t, kr); !sameKids(got, nk.ID) {
			t.Errorf("JWKS after removal = %v, want only %s", got, nk.ID)
		}
		if s := states(t, kr); s[oldKid] != StateRemoved || s[nk.ID] != StateActive {
			t.Errorf("states after removal = %v", s)
		}

		// The rotation is an event.
		evs, err := e.st.Q().ListEvents(context.Background(), e.envID, store.Page{Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		var ev rotatedEvent
		if len(evs) != 1 || evs[0].Type != "signing_key.rotated" || json.Unmarshal([]byte(evs[0].Payload), &ev) != nil ||
			ev.Key != nk.ID || !sameKids(ev.Retiring, oldKid) || !ev.RemovedAt.Equal(removeAt) {
			t.Errorf("events = %+v", evs)
		}

		// A restart after removal signs with the new key and creates none.
		again, err := Load(context.Background(), e.st, e.ids, removeAt, e.envID, e.mk)
		if err != nil {
			t.Fatal(err)
		}
		if again.KeyID() != nk.ID || len(e.rows(t)) != 2 {
			t.Errorf("after a restart: signer %s with %d keys", again.KeyID(), len(e.rows(t)))
		}
	})
}

// TestSecondNodeSeesRotation: a node sharing the database keeps its keys
// until it reloads, then publishes the next key, and signs with it at the
// same activation time as the node that rotated.
func TestSecondNodeSeesRotation(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dsn string) {
		e := newEnv(t, dsn)
		clk := &clock{t: t0}
		a := e.node(t, dsn, clk)
		b := e.node(t, dsn, clk)
		oldKid := a.KeyID()
		if b.KeyID() != oldKid {
			t.Fatalf("two nodes on one database sign with %s and %s", oldKid, b.KeyID())
		}
		nk, err := a.Rotate(context.Background(), Rotation{PublishFor: JWKSMaxAge})
		if err != nil {
			t.Fatal(err)
		}
		if got := jwksKids(t, b); !sameKids(got, oldKid) {
			t.Fatalf("the other node's JWKS before its reload = %v, want only the old key", got)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); b.Run(ctx, 20*time.Millisecond, slog.New(slog.DiscardHandler)) }()
		defer func() { cancel(); <-done }()
		deadline := time.Now().Add(5 * time.Second)
		for !sameKids(jwksKids(t, b), oldKid, nk.ID) {
			if time.Now().After(deadline) {
				t.Fatalf("the other node's JWKS after reloads = %v, want %s and %s", jwksKids(t, b), oldKid, nk.ID)
			}
			time.Sleep(10 * time.Millisecond)
		}
		if b.KeyID() != oldKid {
			t.Errorf("the other node signs with %s before activation", b.KeyID())
		}
		clk.Add(JWKSMaxAge)
		if b.KeyID() != nk.ID || a.KeyID() != nk.ID {
			t.Errorf("at activation the nodes sign with %s and %s, want %s", a.KeyID(), b.KeyID(), nk.ID)
		}
	})
}

func TestRotationRules(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dsn string) {
		e := newEnv(t, dsn)
		clk := &clock{t: t0}
		kr := e.node(t, dsn, clk)
		ctx := context.Background()
		for name, r := range map[string]Rotation{
			"a delay under the JWKS max-age":     {PublishFor: JWKSMaxAge - time.Second},
			"a negative delay":                   {PublishFor: -time.Minute},
			"remove_previous without immediate":  {RemovePrevious: true},
			"immediate with a publication delay": {Immediate: true, PublishFor: time.Hour},
		} {
			_, err := kr.Rotate(ctx, r)
			var ae *apierr.Error
			if !errors.As(err, &ae) || ae.Code != connect.CodeInvalidArgument {
				t.Errorf("%s: %v, want InvalidArgument", name, err)
			}
		}
		if n := len(e.rows(t)); n != 1 {
			t.Fatalf("refused rotations left %d keys", n)
		}
		if _, err := kr.Rotate(ctx, Rotation{}); err != nil {
			t.Fatal(err)
		}
		_, err := kr.Rotate(ctx, Rotation{Immediate: true})
		var ae *apierr.Error
		if !errors.As(err, &ae) || ae.Code != connect.CodeFailedPrecondition {
			t.Errorf("a rotation while a next key waits: %v, want FailedPrecondition", err)
		}
		if n := len(e.rows(t)); n != 2 {
			t.Errorf("a refused rotation left %d keys, want 2", n)
		}
	})
}

// TestEmergencyRotation: immediate signs with the new key at once;
// remove_previous also makes every token of the old keys fail at once.
func TestEmergencyRotation(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dsn string) {
		e := newEnv(t, dsn)
		clk := &clock{t: t0}
		kr := e.node(t, dsn, clk)
		ctx := context.Background()
		tok1, kid1 := signedBy(t, kr)
		k2, err := kr.Rotate(ctx, Rotation{Immediate: true})
		if err != nil {
			t.Fatal(err)
		}
		tok2, kid := signedBy(t, kr)
		if kid != k2.ID || k2.State != StateActive {
			t.Fatalf("after an immediate rotation signed by %s (new key %+v)", kid, k2)
		}
		if err := kr.Verify(tok1); err != nil {
			t.Errorf("immediate keeps the old key verifying: %v", err)
		}
		clk.Add(time.Minute)
		k3, err := kr.Rotate(ctx, Rotation{Immediate: true, RemovePrevious: true})
		if err != nil {
			t.Fatal(err)
		}
		for _, tok := range []string{tok1, tok2} {
			if err := kr.Verify(tok); !errors.Is(err, ErrInvalidToken) {
				t.Errorf("a token of a removed key: %v, want ErrInvalidToken", err)
			}
		}
		if got := jwksKids(t, kr); !sameKids(got, k3.ID) {
			t.Errorf("JWKS after remove_previous = %v, want only %s", got, k3.ID)
		}
		if s := states(t, kr); s[kid1] != StateRemoved || s[k2.ID] != StateRemoved || s[k3.ID] != StateActive {
			t.Errorf("states after remove_previous = %v", s)
		}
	})
}

func TestJWKSCacheControlMatchesMaxAge(t *testing.T) {
	if want := fmt.Sprintf("public, max-age=%d", int(JWKSMaxAge/time.Second)); JWKSCacheControl != want {
		t.Errorf("JWKSCacheControl = %q, want %q", JWKSCacheControl, want)
	}
	if DefaultPublishFor < JWKSMaxAge {
		t.Errorf("DefaultPublishFor %s is shorter than the JWKS max-age %s", DefaultPublishFor, JWKSMaxAge)
	}
}
