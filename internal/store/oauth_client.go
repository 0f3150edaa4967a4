package store

import (
	"context"
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
