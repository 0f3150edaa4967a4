package clients

import (
	"context"
	"errors"

	"github.com/gatehouse/gatehouse/internal/store"
)

// ErrLastManager refuses to delete the environment's last API client: the
// management API would be locked for good (only `gatehouse clients create`
// on the database could open it again).
var ErrLastManager = errors.New("this is the environment's last API client, the only one that can call the management API: create another (gatehouse clients create) before deleting it")

// List returns every client of the environment, oldest first.
func (s *Service) List(ctx context.Context) ([]store.ClientSummary, error) {
	return s.Store.Q().ListClients(ctx, s.EnvID)
}

// Delete removes a client and stops its use at once: its secrets go (so
// /oauth/token answers invalid_client), every grant issued to it is
// revoked with its refresh and access tokens (invalid_grant, inactive at
// introspection), and its management tokens fail because Exists turns
// false. store.ErrNotFound for an unknown client; ErrLastManager for the
// last API client.
func (s *Service) Delete(ctx context.Context, clientID string) error {
	return s.Store.Tx(ctx, func(q *store.Q) error {
		api, err := q.APIClientExists(ctx, s.EnvID, clientID)
		if err != nil {
			return err
		}
		if api {
			n, err := q.CountAPIClients(ctx, s.EnvID)
			if err != nil {
				return err
			}
			if n <= 1 {
				return ErrLastManager
			}
		}
		return q.DeleteClient(ctx, s.EnvID, clientID, s.Now())
	})
}

// Exists reports whether an API client still exists: management tokens
// are checked against it on every call, so a deleted client's tokens stop
// working at once, on every node.
func (s *Service) Exists(ctx context.Context, clientID string) (bool, error) {
	return s.Store.Q().APIClientExists(ctx, s.EnvID, clientID)
}
