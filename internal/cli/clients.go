package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/gatehouse/gatehouse/internal/clients"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/id"
	"github.com/gatehouse/gatehouse/internal/redirects"
	"github.com/gatehouse/gatehouse/internal/settings"
	"github.com/gatehouse/gatehouse/internal/store"
)

// newClientsCmd manages OAuth clients directly in the database, with the
// same --data-dir and --database-url as serve: the server need not run,
// and a client's secret never crosses the network.
func newClientsCmd(stdout io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "clients",
		Short: "Create, list and delete OAuth clients (confidential apps, or public SPAs and mobile apps)",
		Args:  cobra.NoArgs,
	}
	cfg := config.Defaults()
	var name string
	var public, asJSON bool
	var redirectURIs, postLogout []string
	create := &cobra.Command{
		Use:   "create",
		Short: "Create an OAuth client and print its id (and, once, its secret)",
		Long: `Create an OAuth client in the environment of the database named by
--data-dir or --database-url (the same flags as serve).

A confidential client (the default) gets a secret, printed once and stored
hashed; it authenticates at /oauth/token like the environment's API client,
and can also call the management API. A --public client (a single-page or
mobile app) has no secret, must use PKCE (S256) and never gets
client_credentials. Redirect URIs registered here are accepted beside the
environment's callback URLs, under the environment type's rules.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if name == "" {
				return errors.New("--name is required")
			}
			ctx := cmd.Context()
			if ctx == nil {
				ctx = context.Background()
			}
			out, err := createClient(ctx, cfg.DSN(), name, public, redirectURIs, postLogout)
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(stdout, out)
			}
			fmt.Fprintf(stdout, "client_id: %s\n", out.ClientID)
			if out.ClientSecret != "" {
				fmt.Fprintf(stdout, "client_secret: %s\n(shown once: it is stored hashed)\n", out.ClientSecret)
			} else {
				fmt.Fprintln(stdout, "public client: no secret; PKCE with S256 is required")
			}
			return nil
		},
	}
	fs := create.Flags()
	fs.StringVar(&name, "name", "", "the client's name (required)")
	fs.BoolVar(&public, "public", false, "a public client (SPA, mobile): no secret, PKCE required")
	fs.StringArrayVar(&redirectURIs, "redirect-uri", nil, "a redirect URI of the client (repeatable)")
	fs.StringArrayVar(&postLogout, "post-logout-redirect-uri", nil, "a post-logout redirect URI (repeatable)")
	fs.BoolVar(&asJSON, "json", false, "print JSON")
	bindDBFlags(create, &cfg)
	cmd.AddCommand(create, newClientsListCmd(stdout), newClientsDeleteCmd(stdout))
	return cmd
}

// bindDBFlags adds the database flags of serve (and their variables) to a
// clients subcommand.
func bindDBFlags(cmd *cobra.Command, cfg *config.Config) {
	fs := cmd.Flags()
	fs.StringVar(&cfg.DataDir, "data-dir", cfg.DataDir, "directory of the SQLite database (as for serve)")
	fs.StringVar(&cfg.DatabaseURL, "database-url", "", "postgres://... when the server uses PostgreSQL (as for serve)")
	env := &envFlags{fs: fs}
	env.bind("data-dir", "GATEHOUSE_DATA_DIR")
	env.bind("database-url", "GATEHOUSE_DATABASE_URL")
	cmd.PreRunE = func(*cobra.Command, []string) error { return env.apply() }
}

// openEnvironment opens the database of dsn and the clients service of
// its environment; close the store when done.
func openEnvironment(ctx context.Context, dsn string) (*store.Store, *clients.Service, error) {
	st, err := store.Open(ctx, dsn)
	if err != nil {
		return nil, nil, err
	}
	env, err := st.Q().FirstEnvironment(ctx)
	if err != nil {
		st.Close()
		if errors.Is(err, store.ErrNotFound) {
			return nil, nil, errors.New("no environment in this database yet: run gatehouse serve once first")
		}
		return nil, nil, err
	}
	now := func() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }
	return st, &clients.Service{Store: st, IDs: id.NewGenerator(now), Now: now, EnvID: env.ID}, nil
}

// createdClient is what clients create prints.
type createdClient struct {
	ClientID     string   `json:"client_id"`
	ClientSecret string   `json:"client_secret,omitempty"`
	Name         string   `json:"name"`
	Public       bool     `json:"public"`
	RedirectURIs []string `json:"redirect_uris"`
}

func createClient(ctx context.Context, dsn, name string, public bool, redirectURIs, postLogout []string) (*createdClient, error) {
	st, cs, err := openEnvironment(ctx, dsn)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	now, ids := cs.Now, cs.IDs
	envType, err := (&settings.Service{Store: st, IDs: ids, Now: now, EnvID: cs.EnvID}).EnvironmentType(ctx)
	if err != nil {
		return nil, err
	}
	for _, u := range redirectURIs {
		if err := redirects.Validate(u, envType, redirects.Callback); err != nil {
			return nil, fmt.Errorf("--redirect-uri %q: %w", u, err)
		}
	}
	for _, u := range postLogout {
		if err := redirects.Validate(u, envType, redirects.PostLogout); err != nil {
			return nil, fmt.Errorf("--post-logout-redirect-uri %q: %w", u, err)
		}
	}
	out := &createdClient{Name: name, Public: public, RedirectURIs: append([]string{}, redirectURIs...)}
	err = st.Tx(ctx, func(q *store.Q) error {
		t := now()
		if public {
			out.ClientID = ids.New(id.Client)
		} else {
			if out.ClientID, out.ClientSecret, err = cs.Create(ctx, q, name, "", ""); err != nil {
				return err
			}
		}
		return q.PutOAuthClient(ctx, &store.OAuthClient{ID: out.ClientID, EnvID: cs.EnvID, Name: name, Public: public,
			RedirectURIs: redirectURIs, PostLogoutRedirectURIs: postLogout, CreatedAt: t, UpdatedAt: t})
	})
	if err != nil {
		return nil, fmt.Errorf("creating the client: %w", err)
	}
	return out, nil
}
