package store_test

// GetClientCredentials (oauth_client.go) on SQLite and PostgreSQL: it must
// return what GetOAuthClient and ClientSecretHashes return, in one
// statement, for every kind of client.

import (
	"sort"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/id"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/testdb"
)

func TestClientCredentials(t *testing.T) {
	testdb.Each(t, testClientCredentials)
}

func testClientCredentials(t *testing.T, dsn string) {
	f := open(t, dsn)
	e, other := f.env(t), f.env(t)
	secret := func(envID, clientID, hash string) *store.ClientSecret {
		return &store.ClientSecret{ID: f.ids.New(id.ClientSecret), EnvID: envID, ClientID: clientID, SecretHash: hash,
			Hint: hash[len(hash)-4:], CreatedAt: t0}
	}
	// A public client: OAuth settings, no API client, no secrets.
	must(t, f.q.PutOAuthClient(f.ctx, &store.OAuthClient{ID: "skc_spa", EnvID: e.ID, Name: "SPA", Public: true,
		RedirectURIs: []string{"https://a/cb"}, CreatedAt: t0, UpdatedAt: t0}), "PutOAuthClient public")
	// A confidential client with OAuth settings and two secrets.
	must(t, f.q.CreateAPIClient(f.ctx, &store.APIClient{ID: "skc_app", EnvID: e.ID, Name: "App API", CreatedAt: t0},
		secret(e.ID, "skc_app", "hash-app-one")), "CreateAPIClient app")
	must(t, f.q.PutOAuthClient(f.ctx, &store.OAuthClient{ID: "skc_app", EnvID: e.ID, Name: "App", RedirectURIs: []string{"https://app/cb"},
		PostLogoutRedirectURIs: []string{"https://app/bye"}, BackChannelLogoutURI: "https://app/bcl", CreatedAt: t0,
		UpdatedAt: at(time.Minute)}), "PutOAuthClient app")
	_, err := f.s.DB().ExecContext(f.ctx, `INSERT INTO client_secrets (id, env_id, client_id, secret_hash, hint, created_at)
		VALUES ($1, $2, 'skc_app', 'hash-app-two', 'xtwo', 0)`, f.ids.New(id.ClientSecret), e.ID)
	must(t, err, "second secret")
	// An API client without OAuth settings.
	must(t, f.q.CreateAPIClient(f.ctx, &store.APIClient{ID: "skc_api", EnvID: e.ID, Name: "API", CreatedAt: t0},
		secret(e.ID, "skc_api", "hash-api-one")), "CreateAPIClient api")
	// The same ids in another environment, with other secrets.
	must(t, f.q.CreateAPIClient(f.ctx, &store.APIClient{ID: "skc_oth", EnvID: other.ID, Name: "Other", CreatedAt: t0},
		secret(other.ID, "skc_oth", "hash-oth-one")), "CreateAPIClient other")

	for _, tc := range []struct {
		env, client string
		hashes      []string
	}{
		{e.ID, "skc_spa", nil},
		{e.ID, "skc_app", []string{"hash-app-one", "hash-app-two"}},
		{e.ID, "skc_api", []string{"hash-api-one"}},
		{other.ID, "skc_oth", []string{"hash-oth-one"}},
	} {
		c, hashes, err := f.q.GetClientCredentials(f.ctx, tc.env, tc.client)
		must(t, err, "GetClientCredentials "+tc.client)
		want, err := f.q.GetOAuthClient(f.ctx, tc.env, tc.client)
		must(t, err, "GetOAuthClient "+tc.client)
		wantEqual(t, "client "+tc.client, c, want)
		sort.Strings(hashes)
		wantEqual(t, "hashes of "+tc.client, hashes, tc.hashes)
	}

	for _, tc := range []struct{ env, client, what string }{
		{e.ID, "skc_none", "an unknown client"},
		{other.ID, "skc_app", "another environment's confidential client"},
		{other.ID, "skc_spa", "another environment's public client"},
		{e.ID, "skc_oth", "a client of the other environment"},
		{e.ID, "", "an empty id"},
	} {
		c, hashes, err := f.q.GetClientCredentials(f.ctx, tc.env, tc.client)
		wantNotFound(t, err, tc.what)
		if c != nil || hashes != nil {
			t.Errorf("%s: client %+v, hashes %v", tc.what, c, hashes)
		}
	}

	// OAuth settings left behind a deleted API client: the client reads,
	// without secrets, so a secret can never match.
	_, err = f.s.DB().ExecContext(f.ctx, `DELETE FROM api_clients WHERE env_id = $1 AND id = 'skc_app'`, e.ID)
	must(t, err, "deleting the API client alone")
	c, hashes, err := f.q.GetClientCredentials(f.ctx, e.ID, "skc_app")
	must(t, err, "GetClientCredentials after the API client went")
	if c.ID != "skc_app" || c.Public || len(hashes) != 0 {
		t.Errorf("settings without an API client: %+v, hashes %v", c, hashes)
	}
	// DeleteClient takes both: not found.
	must(t, f.q.DeleteClient(f.ctx, e.ID, "skc_app", t0), "DeleteClient")
	_, _, err = f.q.GetClientCredentials(f.ctx, e.ID, "skc_app")
	wantNotFound(t, err, "a deleted client")
}
