package cli

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
)

const (
	signingKeysPath = "/api/v1/signing-keys"
	rotateKeyPath   = "/api/v1/signing-keys/rotate"
)

// signingKeyDoc is one key as the KeysService REST routes answer it.
type signingKeyDoc struct {
	ID         string    `json:"id"`
	State      string    `json:"state"`
	Algorithm  string    `json:"algorithm"`
	CreateTime time.Time `json:"create_time"`
	ActiveTime time.Time `json:"active_time"`
	RetireTime time.Time `json:"retire_time,omitzero"`
	RemoveTime time.Time `json:"remove_time,omitzero"`
}

func newKeysCmd(stdout io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "keys",
		Short: "List and rotate the signing keys of a running server",
		Long: `Manage the RS256 keys that sign tokens and are published at /keys
(docs/oauth.md, "Signing keys"). A rotation publishes a new key as next,
makes it active after the publication delay, keeps the old one published
(retiring) while tokens it signed may live, then removes it.`,
		Args: cobra.NoArgs,
	}
	api := bindAPIFlags(cmd)
	cmd.AddCommand(newKeysListCmd(stdout, api), newKeysRotateCmd(stdout, api))
	return cmd
}

func newKeysListCmd(stdout io.Writer, api *apiFlags) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the signing keys with their states, newest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := api.connect(cmd.Context())
			if err != nil {
				return err
			}
			var out struct {
				Keys []signingKeyDoc `json:"keys"`
			}
			if err := c.do(cmd.Context(), "GET", signingKeysPath, nil, &out); err != nil {
				return err
			}
			if asJSON {
				return writeJSON(stdout, out.Keys)
			}
			return printKeys(stdout, out.Keys)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func newKeysRotateCmd(stdout io.Writer, api *apiFlags) *cobra.Command {
	var (
		delay          time.Duration
		now, removeOld bool
		asJSON         bool
	)
	cmd := &cobra.Command{
		Use:   "rotate",
		Short: "Publish a new signing key that becomes active after the publication delay",
		Long: `Create a new signing key. It is published at /keys at once and signs only
after --delay (default 10m: twice the 5-minute max-age of /keys, so every
client caching the JWKS has it before its first token). The active key then
retires: it stops signing but stays published, and tokens it signed still
verify, for the longest token lifetime the server issues plus 6 minutes;
then it is removed and its tokens fail.

--now makes the new key sign at once. Clients holding a cached JWKS without
it refuse its tokens until they fetch /keys again (up to 5 minutes): use it
in an emergency only. --now --remove-previous also removes every older key
at once, so every token they signed fails: for a leaked key.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if delay < 0 || delay%time.Second != 0 {
				return fmt.Errorf("--delay %s: must be a whole number of seconds", delay)
			}
			if now && cmd.Flags().Changed("delay") {
				return fmt.Errorf("--delay and --now cannot be used together")
			}
			if removeOld && !now {
				return fmt.Errorf("--remove-previous needs --now: without a new active key at once, nothing could sign")
			}
			c, err := api.connect(cmd.Context())
			if err != nil {
				return err
			}
			in := map[string]any{"immediate": now, "remove_previous": removeOld}
			if !now {
				in["publication_delay_seconds"] = int64(delay / time.Second)
			}
			var out struct {
				Key  signingKeyDoc   `json:"key"`
				Keys []signingKeyDoc `json:"keys"`
			}
			if err := c.do(cmd.Context(), "POST", rotateKeyPath, in, &out); err != nil {
				return err
			}
			if asJSON {
				return writeJSON(stdout, out)
			}
			if out.Key.State == "active" {
				fmt.Fprintf(stdout, "New key %s signs now.\n", out.Key.ID)
			} else {
				fmt.Fprintf(stdout, "New key %s is published and signs from %s.\n", out.Key.ID, out.Key.ActiveTime.Format(time.RFC3339))
			}
			return printKeys(stdout, out.Keys)
		},
	}
	fl := cmd.Flags()
	fl.DurationVar(&delay, "delay", 0, "how long the new key is published before it signs, at least 5m (default 10m)")
	fl.BoolVar(&now, "now", false, "emergency: the new key signs at once (breaks clients with a cached JWKS for up to 5m)")
	fl.BoolVar(&removeOld, "remove-previous", false, "with --now: remove every older key at once; all tokens they signed fail")
	fl.BoolVar(&asJSON, "json", false, "print the JSON the API answers")
	return cmd
}

// printKeys writes one line per key: id, state and its times.
func printKeys(w io.Writer, keys []signingKeyDoc) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KEY ID\tSTATE\tACTIVE FROM\tRETIRES\tREMOVED")
	for _, k := range keys {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", k.ID, k.State, when(k.ActiveTime), when(k.RetireTime), when(k.RemoveTime))
	}
	return tw.Flush()
}

func when(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}
