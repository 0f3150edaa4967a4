package store

import (
	"context"
	"database/sql"
	"time"
)

// OAuthClient is the OAuth side of a client: whether it is public and
// where the authorization server may send browsers for it. A confidential
// client's secrets are those of the API client with the same id.
type OAuthClient struct {
	ID                     string
	EnvID                  string
	Name                   string
	Public                 bool
	RedirectURIs           []string
	PostLogoutRedirectURIs []string
	BackChannelLogoutURI   string
	CreatedAt              time.Time
	UpdatedAt              time.Time
}

// PutOAuthClient inserts c, or replaces the settings of the client with its
// id. An id taken in another environment is a conflict on "id".
func (q *Q) PutOAuthClient(ctx context.Context, c *OAuthClient) error {
	res, err := q.exec(ctx, `INSERT INTO oauth_clients (id, env_id, name, public, redirect_uris, post_logout_redirect_uris,
		backchannel_logout_uri, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
		ON CONFLICT (id) DO UPDATE SET name = excluded.name, public = excluded.public, redirect_uris = excluded.redirect_uris,
		post_logout_redirect_uris = excluded.post_logout_redirect_uris, backchannel_logout_uri = excluded.backchannel_logout_uri,
		updated_at = excluded.updated_at
		WHERE oauth_clients.env_id = excluded.env_id`,
		c.ID, c.EnvID, c.Name, c.Public, encodeJSON(nonNilList(c.RedirectURIs)), encodeJSON(nonNilList(c.PostLogoutRedirectURIs)),
		c.BackChannelLogoutURI, micros(c.CreatedAt), micros(c.UpdatedAt))
	if err := mustAffect(res, err); err == ErrNotFound {
		return &ErrConflict{Field: "id"}
	} else if err != nil {
		return err
	}
	return nil
}

// GetOAuthClient reads the OAuth settings of a client. A confidential API
// client without settings comes back as such (nothing registered); an id
// that is neither is ErrNotFound.
func (q *Q) GetOAuthClient(ctx context.Context, envID, id string) (*OAuthClient, error) {
	c := &OAuthClient{EnvID: envID}
	var redirects, postLogout string
	var created, updated int64
	err := q.queryRow(ctx, `SELECT id, name, public, redirect_uris, post_logout_redirect_uris, backchannel_logout_uri,
		created_at, updated_at FROM oauth_clients WHERE env_id = $1 AND id = $2`, envID, id).
		Scan(&c.ID, &c.Name, &c.Public, &redirects, &postLogout, &c.BackChannelLogoutURI, &created, &updated)
	if err == nil {
		c.RedirectURIs, c.PostLogoutRedirectURIs = decodeList(redirects), decodeList(postLogout)
		c.CreatedAt, c.UpdatedAt = fromMicros(created), fromMicros(updated)
		return c, nil
	}
	if err = mapErr(err); err != ErrNotFound {
		return nil, err
	}
	err = q.queryRow(ctx, `SELECT id, name, created_at FROM api_clients WHERE env_id = $1 AND id = $2`, envID, id).
		Scan(&c.ID, &c.Name, &created)
	if err != nil {
		return nil, mapErr(err)
	}
	c.CreatedAt, c.UpdatedAt = fromMicros(created), fromMicros(created)
	return c, nil
}

func nonNilList(l []string) []string {
	if l == nil {
		return []string{}
	}
	return l
}

// GetClientCredentials reads, in one statement, what authenticating a
// client at the token, revocation and introspection endpoints needs: the
// client as GetOAuthClient returns it and the hashes of its secrets (none
// for a public client, or a confidential one whose API client is gone).
// It stands in for GetOAuthClient followed by ClientSecretHashes, which
// were two or three round trips on every token request. An id that is
// neither an OAuth nor an API client of envID is ErrNotFound.
func (q *Q) GetClientCredentials(ctx context.Context, envID, id string) (*OAuthClient, []string, error) {
	rows, err := q.query(ctx, clientCredentialsQuery, envID, id)
	if err != nil {
		return nil, nil, mapErr(err)
	}
	defer rows.Close()
	var c *OAuthClient
	var hashes []string
	for rows.Next() {
		row, hash, err := scanClientCredentials(rows, envID)
		if err != nil {
			return nil, nil, err
		}
		if c == nil {
			c = row
		}
		if hash != "" {
			hashes = append(hashes, hash)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, nil, mapErr(err)
	}
	if c == nil {
		return nil, nil, ErrNotFound
	}
	return c, hashes, nil
}

// clientCredentialsQuery is GetClientCredentials' query: the id as a
// one-row table, joined by key to its OAuth settings, its API client and
// that client's secrets (one row per secret, one row without any). Both
// sides of each join are the id and the environment, so every table is
// read by its primary key or client_secrets_client.
const clientCredentialsQuery = `SELECT o.id, o.name, o.public, o.redirect_uris, o.post_logout_redirect_uris,
	o.backchannel_logout_uri, o.created_at, o.updated_at, a.id, a.name, a.created_at, s.secret_hash
	FROM (SELECT CAST($2 AS TEXT) AS id) k
	LEFT JOIN oauth_clients o ON o.env_id = $1 AND o.id = k.id
	LEFT JOIN api_clients a ON a.env_id = $1 AND a.id = k.id
	LEFT JOIN client_secrets s ON s.env_id = $1 AND s.client_id = a.id`

// scanClientCredentials scans one row of clientCredentialsQuery: the
// client (nil when neither table has it) and the row's secret hash, ""
// when it has none.
func scanClientCredentials(rows interface{ Scan(...any) error }, envID string) (*OAuthClient, string, error) {
	var oID, oName, redirects, postLogout, bcl, aID, aName, hash sql.NullString
	var public sql.NullBool
	var oCreated, oUpdated, aCreated sql.NullInt64
	if err := rows.Scan(&oID, &oName, &public, &redirects, &postLogout, &bcl, &oCreated, &oUpdated,
		&aID, &aName, &aCreated, &hash); err != nil {
		return nil, "", mapErr(err)
	}
	switch {
	case oID.Valid:
		return &OAuthClient{ID: oID.String, EnvID: envID, Name: oName.String, Public: public.Bool,
			RedirectURIs: decodeList(redirects.String), PostLogoutRedirectURIs: decodeList(postLogout.String),
			BackChannelLogoutURI: bcl.String, CreatedAt: fromMicros(oCreated.Int64), UpdatedAt: fromMicros(oUpdated.Int64)}, hash.String, nil
	case aID.Valid:
		created := fromMicros(aCreated.Int64)
		return &OAuthClient{ID: aID.String, EnvID: envID, Name: aName.String, CreatedAt: created, UpdatedAt: created}, hash.String, nil
	}
	return nil, "", nil
}
