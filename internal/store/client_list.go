package store

import (
	"context"
	"sort"
	"time"
)

// ClientSummary is one client as `gatehouse clients list` shows it: an API
// client (confidential, with secrets; it can call the management API), a
// public OAuth client, or both views of one confidential client.
type ClientSummary struct {
	ID        string
	Name      string
	Public    bool
	CreatedAt time.Time
}

// ListClients returns every client of the environment, oldest first.
func (q *Q) ListClients(ctx context.Context, envID string) ([]ClientSummary, error) {
	byID := map[string]*ClientSummary{}
	for _, sql := range []string{
		`SELECT id, name, FALSE, created_at FROM api_clients WHERE env_id = $1`,
		`SELECT id, name, public, created_at FROM oauth_clients WHERE env_id = $1`,
	} {
		rows, err := q.query(ctx, sql, envID)
		if err != nil {
			return nil, mapErr(err)
		}
		for rows.Next() {
			var c ClientSummary
			var created int64
			if err := rows.Scan(&c.ID, &c.Name, &c.Public, &created); err != nil {
				rows.Close()
				return nil, mapErr(err)
			}
			c.CreatedAt = fromMicros(created)
			if _, seen := byID[c.ID]; !seen {
				byID[c.ID] = &c
			}
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, mapErr(err)
		}
	}
	out := make([]ClientSummary, 0, len(byID))
	for _, c := range byID {
		out = append(out, *c)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].CreatedAt.Equal(out[j].CreatedAt) {
			return out[i].CreatedAt.Before(out[j].CreatedAt)
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

// APIClientExists reports whether an API client (one that may call the
// management API) exists.
func (q *Q) APIClientExists(ctx context.Context, envID, id string) (bool, error) {
	var n int
	err := q.queryRow(ctx, `SELECT COUNT(*) FROM api_clients WHERE env_id = $1 AND id = $2`, envID, id).Scan(&n)
	return n > 0, mapErr(err)
}

// DeleteClient removes a client, API and OAuth sides, with its secrets and
// unused authorization codes, and revokes at now every grant issued to it
// with their refresh and access tokens. ErrNotFound when there is no such
// client.
func (q *Q) DeleteClient(ctx context.Context, envID, id string, now time.Time) error {
	found := false
	for _, stmt := range []struct {
		sql   string
		names bool // a row deleted here means the client existed
	}{
		{`DELETE FROM client_secrets WHERE env_id = $1 AND client_id = $2`, false},
		{`DELETE FROM api_clients WHERE env_id = $1 AND id = $2`, true},
		{`DELETE FROM oauth_clients WHERE env_id = $1 AND id = $2`, true},
		{`DELETE FROM oauth_codes WHERE env_id = $1 AND client_id = $2 AND used_at IS NULL`, false},
	} {
		res, err := q.exec(ctx, stmt.sql, envID, id)
		if err != nil {
			return mapErr(err)
		}
		if n, err := res.RowsAffected(); err == nil && n > 0 && stmt.names {
			found = true
		}
	}
	if !found {
		return ErrNotFound
	}
	// The order RevokeGrant and revokeSessionTokens lock in: grants,
	// refresh tokens, access tokens.
	for _, sql := range []string{
		`UPDATE oauth_grants SET revoked_at = $3 WHERE env_id = $1 AND client_id = $2 AND revoked_at IS NULL`,
		`UPDATE refresh_tokens SET revoked_at = $3 WHERE env_id = $1 AND client_id = $2 AND revoked_at IS NULL`,
		`UPDATE access_tokens SET revoked_at = $3 WHERE env_id = $1 AND revoked_at IS NULL
			AND grant_id IN (SELECT id FROM oauth_grants WHERE env_id = $1 AND client_id = $2)`,
	} {
		if _, err := q.exec(ctx, sql, envID, id, micros(now)); err != nil {
			return mapErr(err)
		}
	}
	return nil
}
