package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/store"
)

// listedClient is one line of clients list.
type listedClient struct {
	ClientID  string    `json:"client_id"`
	Name      string    `json:"name"`
	Public    bool      `json:"public"`
	CreatedAt time.Time `json:"created_at"`
}

func newClientsListCmd(stdout io.Writer) *cobra.Command {
	cfg := config.Defaults()
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the environment's clients (never their secrets)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmdContext(cmd)
			st, cs, err := openEnvironment(ctx, cfg.DSN())
			if err != nil {
				return err
			}
			defer st.Close()
			list, err := cs.List(ctx)
			if err != nil {
				return err
			}
			out := make([]listedClient, 0, len(list))
			for _, c := range list {
				out = append(out, listedClient{ClientID: c.ID, Name: c.Name, Public: c.Public, CreatedAt: c.CreatedAt})
			}
			if asJSON {
				return writeJSON(stdout, out)
			}
			tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "CLIENT ID\tTYPE\tCREATED\tNAME")
			for _, c := range out {
				kind := "confidential"
				if c.Public {
					kind = "public"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", c.ClientID, kind, c.CreatedAt.Format(time.RFC3339), c.Name)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	bindDBFlags(cmd, &cfg)
	return cmd
}

func newClientsDeleteCmd(stdout io.Writer) *cobra.Command {
	cfg := config.Defaults()
	cmd := &cobra.Command{
		Use:   "delete CLIENT_ID",
		Short: "Delete a client; its tokens, refresh tokens and grants stop working at once",
		Long: `Delete a client from the environment of the database named by --data-dir or
--database-url. Its secrets go, every grant issued to it is revoked with its
refresh and access tokens, and its management API tokens are refused from
the next call on, by every running server. The environment's last API
client cannot be deleted: create another first.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmdContext(cmd)
			st, cs, err := openEnvironment(ctx, cfg.DSN())
			if err != nil {
				return err
			}
			defer st.Close()
			if err := cs.Delete(ctx, args[0]); errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("no client %q in this environment (see gatehouse clients list)", args[0])
			} else if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "deleted %s\n", args[0])
			return nil
		},
	}
	bindDBFlags(cmd, &cfg)
	return cmd
}

// cmdContext is the command's context, or a background one.
func cmdContext(cmd *cobra.Command) context.Context {
	if ctx := cmd.Context(); ctx != nil {
		return ctx
	}
	return context.Background()
}
