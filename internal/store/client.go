package store

import (
	"context"
	"time"
)

// APIClient is a management API client (skc_...), authenticated by one of
// its secrets.
type APIClient struct {
	ID        string
	EnvID     string
	Name      string
	CreatedAt time.Time
}

// ClientSecret is one secret of a client, kept only as a hash.
type ClientSecret struct {
	ID         string
	EnvID      string
	ClientID   string
	SecretHash string
	Hint       string // the last characters, to tell secrets apart
	CreatedAt  time.Time
}

// CreateAPIClient inserts c and its first secret.
func (q *Q) CreateAPIClient(ctx context.Context, c *APIClient, s *ClientSecret) error {
	if _, err := q.exec(ctx, `INSERT INTO api_clients (id, env_id, name, created_at) VALUES ($1, $2, $3, $4)`,
		c.ID, c.EnvID, c.Name, micros(c.CreatedAt)); err != nil {
		return mapErr(err)
	}
	_, err := q.exec(ctx, `INSERT INTO client_secrets (id, env_id, client_id, secret_hash, hint, created_at)
		VALUES ($1, $2, $3, $4, $5, $6)`, s.ID, s.EnvID, s.ClientID, s.SecretHash, s.Hint, micros(s.CreatedAt))
	return mapErr(err)
}

// CountAPIClients counts the environment's clients.
func (q *Q) CountAPIClients(ctx context.Context, envID string) (int, error) {
	var n int
	err := q.queryRow(ctx, `SELECT COUNT(*) FROM api_clients WHERE env_id = $1`, envID).Scan(&n)
	return n, mapErr(err)
}

// ClientSecretHashes returns the hashes of a client's secrets; ErrNotFound
// if the client has none (or does not exist).
func (q *Q) ClientSecretHashes(ctx context.Context, envID, clientID string) ([]string, error) {
	rows, err := q.query(ctx, `SELECT secret_hash FROM client_secrets WHERE env_id = $1 AND client_id = $2`, envID, clientID)
	if err != nil {
		return nil, mapErr(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var h string
		if err := rows.Scan(&h); err != nil {
			return nil, mapErr(err)
		}
		out = append(out, h)
	}
	if err := rows.Err(); err != nil {
		return nil, mapErr(err)
	}
	if len(out) == 0 {
		return nil, ErrNotFound
	}
	return out, nil
}
