// Package settings owns the rules for an environment's settings: the
// redirect URLs the login flow may return to, the hosted login page's
// branding, and the session policy of the environment and of each
// organization. It runs every write in one transaction with its event, so
// a refused or failed update leaves the settings as they were. It knows
// nothing of HTTP or protobuf.
//
// Nothing is cached: every call reads the database, so a change made
// through one node is what every other node sees on its next request.
// The environment's type (development or production), which decides the
// redirect and branding URL rules, is read the same way; each start
// records the type it was configured with (internal/server).
package settings

import (
	"context"
	"encoding/json"
	"time"

	"github.com/gatehouse/gatehouse/internal/id"
	"github.com/gatehouse/gatehouse/internal/redirects"
	"github.com/gatehouse/gatehouse/internal/store"
)

// Service implements the settings rules for one environment.
type Service struct {
	Store *store.Store
	IDs   *id.Generator
	Now   func() time.Time
	EnvID string
}

// EnvironmentType reads the environment's type as stored.
func (s *Service) EnvironmentType(ctx context.Context) (redirects.EnvType, error) {
	return s.envType(ctx, s.Store.Q())
}

func (s *Service) envType(ctx context.Context, q *store.Q) (redirects.EnvType, error) {
	e, err := q.GetEnvironment(ctx, s.EnvID)
	if err != nil {
		return "", err
	}
	if e.Type == string(redirects.Development) {
		return redirects.Development, nil
	}
	return redirects.Production, nil // anything else gets the strict rules
}

// emit appends an event to the outbox inside the caller's transaction.
func (s *Service) emit(ctx context.Context, q *store.Q, typ, objectID string, payload any) error {
	b, err := json.Marshal(payload)
	if err != nil {
		return err
	}
	return q.AddEvent(ctx, &store.Event{ID: s.IDs.New(id.Event), EnvID: s.EnvID, Type: typ, ObjectID: objectID, Payload: string(b), CreatedAt: s.Now()})
}
