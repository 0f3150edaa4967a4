package cli

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"
)

const (
	lazyMigrationPath   = "/api/v1/settings/lazy-migration"
	migrationStatusPath = "/api/v1/migration/status"
)

// lazyMigrationDoc is the JSON of GET and PUT /api/v1/settings/lazy-migration.
type lazyMigrationDoc struct {
	Enabled            bool   `json:"enabled"`
	URL                string `json:"url"`
	Secret             string `json:"secret,omitempty"` // sent only, never answered
	SecretSet          bool   `json:"secret_set"`
	TimeoutMS          int    `json:"timeout_ms"`
	CreateUnknownUsers bool   `json:"create_unknown_users"`
}

// putDoc is what PUT takes: the output-only fields left out.
func (d lazyMigrationDoc) putDoc() map[string]any {
	m := map[string]any{"url": d.URL, "timeout_ms": d.TimeoutMS, "create_unknown_users": d.CreateUnknownUsers}
	if d.Secret != "" {
		m["secret"] = d.Secret
	}
	return m
}

func newLazyMigrationCmd(stdout io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "lazy-migration",
		Short: "Show, set and disable the legacy endpoint that checks passwords Gatehouse does not have",
		Long: `Manage lazy migration on a running server (docs/lazy-migration.md): when a
user without a password (or, with --create-unknown-users, an unknown email)
signs in with a password, Gatehouse asks the legacy system's verification
endpoint, signed with the secret, and keeps the password as argon2id when the
endpoint says it is right. The secret is never shown again after it is set.`,
		Args: cobra.NoArgs,
	}
	api := bindAPIFlags(cmd)

	var asJSON bool
	get := &cobra.Command{
		Use:   "get",
		Short: "Show the lazy migration setting",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := api.connect(cmd.Context())
			if err != nil {
				return err
			}
			var d lazyMigrationDoc
			if err := c.do(cmd.Context(), "GET", lazyMigrationPath, nil, &d); err != nil {
				return err
			}
			if asJSON {
				return writeJSON(stdout, d)
			}
			printLazyMigration(stdout, &d)
			return nil
		},
	}
	get.Flags().BoolVar(&asJSON, "json", false, "print the JSON the API answers")

	var (
		url, secret   string
		genSecret     bool
		timeout       time.Duration
		createUnknown bool
	)
	set := &cobra.Command{
		Use:   "set",
		Short: "Turn lazy migration on, or change its setting (flags not given keep their value)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fl := cmd.Flags()
			if fl.Changed("secret") && genSecret {
				return fmt.Errorf("--secret and --generate-secret cannot be used together")
			}
			if !fl.Changed("secret") {
				secret = os.Getenv("GATEHOUSE_LAZY_MIGRATION_SECRET")
			}
			c, err := api.connect(cmd.Context())
			if err != nil {
				return err
			}
			var d lazyMigrationDoc
			if err := c.do(cmd.Context(), "GET", lazyMigrationPath, nil, &d); err != nil {
				return err
			}
			if fl.Changed("url") {
				d.URL = url
			}
			if fl.Changed("timeout") {
				d.TimeoutMS = int(timeout.Milliseconds())
			}
			if fl.Changed("create-unknown-users") {
				d.CreateUnknownUsers = createUnknown
			}
			if genSecret {
				if secret, err = newLegacySecret(); err != nil {
					return err
				}
			}
			d.Secret = secret
			var out lazyMigrationDoc
			if err := c.do(cmd.Context(), "PUT", lazyMigrationPath, d.putDoc(), &out); err != nil {
				return err
			}
			if genSecret {
				fmt.Fprintf(stdout, "Secret (shown once; give it to the legacy endpoint): %s\n", secret)
			}
			printLazyMigration(stdout, &out)
			return nil
		},
	}
	set.Flags().StringVar(&url, "url", "", "the legacy verification endpoint (https; http only for loopback in development)")
	set.Flags().StringVar(&secret, "secret", "", "the HMAC secret, whsec_ and base64 of 24 to 64 random bytes (or env GATEHOUSE_LAZY_MIGRATION_SECRET)")
	set.Flags().BoolVar(&genSecret, "generate-secret", false, "make a new random secret and print it once")
	set.Flags().DurationVar(&timeout, "timeout", 0, "how long to wait for the endpoint, 100ms to 10s (0: the default, 3s)")
	set.Flags().BoolVar(&createUnknown, "create-unknown-users", false, "also ask about unknown emails, creating the user when the endpoint says yes")

	disable := &cobra.Command{
		Use:   "disable",
		Short: "Turn lazy migration off and forget the endpoint and its secret",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := api.connect(cmd.Context())
			if err != nil {
				return err
			}
			if err := c.do(cmd.Context(), "DELETE", lazyMigrationPath, nil, nil); err != nil {
				return err
			}
			fmt.Fprintln(stdout, "Lazy migration is off.")
			return nil
		},
	}
	cmd.AddCommand(get, set, disable)
	return cmd
}

// newLegacySecret makes a Standard Webhooks secret of 32 random bytes.
func newLegacySecret() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return "whsec_" + base64.StdEncoding.EncodeToString(b), nil
}

func printLazyMigration(w io.Writer, d *lazyMigrationDoc) {
	if !d.Enabled {
		fmt.Fprintln(w, "Lazy migration is off.")
		return
	}
	secret := "not set"
	if d.SecretSet {
		secret = "set (never shown)"
	}
	fmt.Fprintf(w, "Lazy migration is on.\n%-21s %s\n%-21s %s\n%-21s %s\n%-21s %s\n",
		"URL:", d.URL, "Secret:", secret, "Timeout:", (time.Duration(d.TimeoutMS) * time.Millisecond).String(),
		"Create unknown users:", yesNo(d.CreateUnknownUsers))
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// migrationStatusDoc is the JSON of GET /api/v1/migration/status.
type migrationStatusDoc struct {
	TotalUsers        int64            `json:"total_users,string"`
	Origins           []originDoc      `json:"origins"`
	DependingOnLegacy int64            `json:"depending_on_legacy,string"`
	LazyMigration     lazyMigrationDoc `json:"lazy_migration"`
}

type originDoc struct {
	Origin                    string `json:"origin"`
	Users                     int64  `json:"users,string"`
	SignedInSinceMigration    int64  `json:"signed_in_since_migration,string"`
	NotSignedInSinceMigration int64  `json:"not_signed_in_since_migration,string"`
	WithoutPassword           int64  `json:"without_password,string"`
}

func newMigrationCmd(stdout io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "migration",
		Short: "Report how far the migration from the old auth system has come",
		Args:  cobra.NoArgs,
	}
	api := bindAPIFlags(cmd)
	var asJSON bool
	status := &cobra.Command{
		Use:   "status",
		Short: "Count users by how they arrived and whether they signed in since, and say whether the old system is still needed",
		Long: `Count the environment's users by how they arrived (native, imported with a
password hash, imported without, lazily migrated) and whether they have signed
in since, and end with a verdict: whether the old auth system can be switched
off (docs/lazy-migration.md).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := api.connect(cmd.Context())
			if err != nil {
				return err
			}
			var d migrationStatusDoc
			if err := c.do(cmd.Context(), "GET", migrationStatusPath, nil, &d); err != nil {
				return err
			}
			if asJSON {
				return writeJSON(stdout, d)
			}
			printMigrationStatus(stdout, &d)
			return nil
		},
	}
	status.Flags().BoolVar(&asJSON, "json", false, "print the JSON the API answers")
	cmd.AddCommand(status)
	return cmd
}

// originLabels say what each origin means, for the table.
var originLabels = map[string]string{
	"native":         "created natively or through the API",
	"import_hash":    "imported with a password hash",
	"import_no_hash": "imported without a password hash",
	"lazy":           "migrated at sign-in by the legacy endpoint",
}

func printMigrationStatus(w io.Writer, d *migrationStatusDoc) {
	fmt.Fprintf(w, "Users: %d\n\n", d.TotalUsers)
	fmt.Fprintf(w, "%-15s %8s %14s %10s %12s  %s\n", "ORIGIN", "USERS", "SIGNED IN", "NOT YET", "NO PASSWORD", "")
	var native originDoc
	for _, o := range d.Origins {
		fmt.Fprintf(w, "%-15s %8d %14d %10d %12d  %s\n", o.Origin, o.Users, o.SignedInSinceMigration,
			o.NotSignedInSinceMigration, o.WithoutPassword, originLabels[o.Origin])
		if o.Origin == "native" {
			native = o
		}
	}
	fmt.Fprintln(w, "\n(SIGNED IN: since their import or migration; NO PASSWORD: not signed in since and no password stored)")
	fmt.Fprintln(w)
	if d.LazyMigration.Enabled {
		unknown := "unknown emails are not sent to it"
		if d.LazyMigration.CreateUnknownUsers {
			unknown = "unknown emails are sent to it too, and become users"
		}
		fmt.Fprintf(w, "Lazy migration: on (%s); %s.\n", d.LazyMigration.URL, unknown)
	} else {
		fmt.Fprintln(w, "Lazy migration: off.")
	}
	if native.WithoutPassword > 0 {
		fmt.Fprintf(w, "Note: %d native users have no password and have never signed in; if they came from an import with --compat (which cannot record how users arrived), they depend on the legacy system too.\n",
			native.WithoutPassword)
	}
	fmt.Fprintln(w, migrationVerdict(d))
}

// migrationVerdict is the one-line answer to "can the old system go?".
func migrationVerdict(d *migrationStatusDoc) string {
	n := d.DependingOnLegacy
	switch {
	case n == 0:
		return "Verdict: the legacy system can be switched off: every imported user has a usable password or has signed in since the import."
	case d.LazyMigration.Enabled:
		return fmt.Sprintf("Verdict: %d users still depend on the legacy system (imported without a password hash, no password yet, not signed in since); keep it and lazy migration running, or have them reset their passwords.", n)
	default:
		return fmt.Sprintf("Verdict: %d users still depend on the legacy system (imported without a password hash, no password yet, not signed in since); turn lazy migration on (gatehouse lazy-migration set) or have them reset their passwords.", n)
	}
}
