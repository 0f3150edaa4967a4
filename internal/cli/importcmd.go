package cli

import (
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
	"golang.org/x/time/rate"

	"github.com/gatehouse/gatehouse/internal/importer"
)

func newImportCmd(stdout, stderr io.Writer) *cobra.Command {
	var (
		cfg      importer.Config
		rateFlag float64
	)
	cmd := &cobra.Command{
		Use:   "import --from FORMAT FILE...",
		Short: "Import organizations, users, memberships, roles and password hashes from another auth system",
		Long: `Read an export of another auth system (or Gatehouse's generic JSONL or CSV)
and write it into a running Gatehouse through its bulk import API, in
parallel batches, within the server's rate limits. Organizations and users
are matched by external_id (users then by email), so importing the same
export again changes nothing, and a run that is killed can simply be started
again: the state file records the batches already written.

Formats: ` + strings.Join(importer.Formats(), ", ") + `. docs/migrating.md describes each,
the flags, dry runs, resumability and the password hash formats.

With --dry-run the server checks every row and writes nothing; the summary
and the report say what would be created, updated or rejected, and why.
With --compat only Scalekit-compatible calls are made (one user per call),
so the tool also serves a plain Scalekit-compatible server; password hashes
are then not imported.

The summary goes to stdout, progress to stderr, and failed rows (file:line,
external_id, field, rule, reason) to the --report CSV. The command fails
when any row failed.`,
		Args: cobra.ArbitraryArgs,
	}
	api := bindAPIFlags(cmd)
	fs := cmd.Flags()
	fs.StringVar(&cfg.Format, "from", "", "the source's format: "+strings.Join(importer.Formats(), ", "))
	fs.BoolVar(&cfg.DryRun, "dry-run", false, "check every row on the server and write nothing")
	fs.BoolVar(&cfg.Compat, "compat", false, "use only the Scalekit-compatible API (one user per call; no password hashes)")
	fs.IntVar(&cfg.BatchSize, "batch-size", importer.MaxBatchSize, "rows per batch (at most 1000)")
	fs.IntVar(&cfg.Concurrency, "concurrency", importer.DefaultConcurrency, "batches in flight at once")
	fs.Float64Var(&rateFlag, "rate", 0, "at most this many API calls per second (0: no limit but the server's)")
	fs.StringVar(&cfg.StatePath, "state", "gatehouse-import.state", "the state file that makes a run resumable; removed when the run finishes")
	fs.StringVar(&cfg.ReportPath, "report", "gatehouse-import-failures.csv", "where failed rows are written, as CSV")
	fs.StringVar(&cfg.Options.Firebase.SignerKey, "hash-key", "", "firebase: the project's base64_signer_key")
	fs.StringVar(&cfg.Options.Firebase.SaltSeparator, "salt-separator", "", "firebase: the project's base64_salt_separator")
	fs.IntVar(&cfg.Options.Firebase.Rounds, "rounds", 0, "firebase: the project's rounds")
	fs.IntVar(&cfg.Options.Firebase.MemCost, "mem-cost", 0, "firebase: the project's mem_cost")
	fs.StringVar(&cfg.Options.Mapping, "mapping", "", "a CSV file giving users organizations and roles (match,organization_external_id,organization_name,roles; docs/migrate-from/mapping.md)")

	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if cfg.Format == "" {
			return fmt.Errorf("--from is required: one of %s", strings.Join(importer.Formats(), ", "))
		}
		if len(args) == 0 {
			return fmt.Errorf("name the export file(s) to import")
		}
		cfg.Files = args
		ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGTERM, os.Interrupt)
		defer stop()
		// Check the flags and credentials before reading anything.
		conn, err := api.importerConn(ctx)
		if err != nil {
			return err
		}
		cfg.Conn = conn
		if rateFlag > 0 {
			cfg.Conn.Rate = rate.NewLimiter(rate.Limit(rateFlag), 1)
		}
		cfg.Progress = stderr
		if f, ok := stderr.(*os.File); ok {
			if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
				cfg.Terminal = true
			}
		}
		sum, err := importer.Run(ctx, cfg)
		if sum != nil {
			printSummary(stdout, sum)
		}
		if err != nil {
			if sum != nil && !cfg.DryRun {
				return fmt.Errorf("%w; run the same command again to carry on (the state file %s records what was written)", err, cfg.StatePath)
			}
			return err
		}
		if failed := sum.Organizations.Failed + sum.Users.Failed; failed > 0 {
			return fmt.Errorf("%d rows failed; see %s", failed, sum.ReportPath)
		}
		return nil
	}
	return cmd
}

func printSummary(w io.Writer, s *importer.Summary) {
	if s.DryRun {
		fmt.Fprintln(w, "Dry run: nothing was written. Had it been a real run:")
	}
	for _, c := range []struct {
		name string
		c    importer.Counts
	}{{"Organizations", s.Organizations}, {"Users", s.Users}} {
		fmt.Fprintf(w, "%-14s %d created, %d updated, %d unchanged, %d failed\n", c.name+":", c.c.Created, c.c.Updated, c.c.Unchanged, c.c.Failed)
	}
	if s.ResumedBatches > 0 {
		fmt.Fprintf(w, "Resumed: %d batches were written by an earlier run.\n", s.ResumedBatches)
	}
	if s.HashesSkipped > 0 {
		fmt.Fprintf(w, "Password hashes: %d not imported: --compat uses only the Scalekit API, which takes none; those users sign in with an email code or magic link, or reset their password. Import without --compat to keep them.\n", s.HashesSkipped)
	}
	if s.EmailsVerified > 0 {
		fmt.Fprintf(w, "Verified emails: %d users created with their email verified although the export does not say it is: --compat adds users without an invitation, which the Scalekit API takes as verified. Import without --compat to keep email_verified.\n", s.EmailsVerified)
	}
	for _, n := range s.Notes {
		fmt.Fprintln(w, "Note: "+n)
	}
	if s.ReportPath != "" {
		fmt.Fprintf(w, "Failed rows: %s\n", s.ReportPath)
	}
}
