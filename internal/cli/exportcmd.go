package cli

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/gatehouse/gatehouse/internal/exporter"
)

func newExportCmd(stdout, stderr io.Writer) *cobra.Command {
	var (
		output   string
		hashes   bool
		pageSize int
	)
	cmd := &cobra.Command{
		Use:   "export [--output FILE|-] [--include-password-hashes]",
		Short: "Export the whole environment as JSONL that `gatehouse import --from gatehouse` reads back",
		Long: `Read a running Gatehouse's whole environment (permissions, roles with their
permissions, base roles and defaults, organizations with their own roles,
users with their memberships, roles and metadata) page by page through its
export API, and write it as JSON Lines. Importing the file into a fresh
server with ` + "`gatehouse import --from gatehouse FILE`" + ` gives the same environment.

Password hashes are written only with --include-password-hashes, exactly as
stored; the server records an event for every page of hashes it hands out.
The file is then as sensitive as the database: it is created readable by its
owner only.

The file is written to a temporary file beside it and renamed into place
when the export is complete, so a failed export never leaves a truncated
file behind. --output - writes to stdout instead. Progress and the summary
go to stderr. docs/export.md describes the format.`,
		Args: cobra.NoArgs,
	}
	api := bindAPIFlags(cmd)
	fs := cmd.Flags()
	fs.StringVarP(&output, "output", "o", "gatehouse-export.jsonl", "the file to write, or - for stdout")
	fs.BoolVar(&hashes, "include-password-hashes", false, "include every user's password hash as stored (the file must then be guarded like the database)")
	fs.IntVar(&pageSize, "page-size", exporter.MaxPageSize, "rows per API call (at most 1000)")

	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGTERM, os.Interrupt)
		defer stop()
		conn, err := api.importerConn(ctx)
		if err != nil {
			return err
		}
		conn.Notice = func(s string) { fmt.Fprintln(stderr, "export: "+s) }
		cfg := exporter.Config{Conn: conn, IncludePasswordHashes: hashes, PageSize: pageSize, Progress: stderr}
		var sum *exporter.Summary
		if output == "-" {
			bw := bufio.NewWriter(stdout)
			if sum, err = exporter.Export(ctx, bw, cfg); err == nil {
				err = bw.Flush()
			}
		} else {
			err = writeAtomically(output, func(w io.Writer) error {
				var err error
				sum, err = exporter.Export(ctx, w, cfg)
				return err
			})
		}
		if err != nil {
			return fmt.Errorf("export failed: %w", err)
		}
		where := output
		if output == "-" {
			where = "stdout"
		}
		fmt.Fprintf(stderr, "Exported %d permissions, %d roles, %d organizations, %d users, %d memberships, %d password hashes to %s\n",
			sum.Permissions, sum.Roles, sum.Organizations, sum.Users, sum.Memberships, sum.PasswordHashes, where)
		if sum.Invitations > 0 {
			fmt.Fprintf(stderr, "Of the memberships, %d are not active (pending or expired invitations, inactive members); the import writes them back without sending any email.\n", sum.Invitations)
		}
		return nil
	}
	return cmd
}

// writeAtomically runs write on a temporary file beside path (mode 0600),
// syncs it and renames it to path, so path is either absent, as it was,
// or complete. On any error the temporary file is removed.
func writeAtomically(path string, write func(io.Writer) error) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	bw := bufio.NewWriterSize(f, 1<<20)
	if err = write(bw); err != nil {
		return err
	}
	if err = bw.Flush(); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(f.Name(), path); err != nil {
		return err
	}
	if d, derr := os.Open(dir); derr == nil { // make the rename itself durable
		_ = d.Sync()
		d.Close()
	}
	return nil
}
