// Package cli is the gatehouse command line: a root command and one
// constructor per subcommand.
package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// Version is set at build time with -ldflags "-X .../internal/cli.Version=v1.2.3".
var Version = "dev"

// Main runs the command line and returns the process exit code.
func Main(args []string, stdout, stderr io.Writer) int {
	root := &cobra.Command{
		Use:           "gatehouse",
		Short:         "Gatehouse: a self-hosted, Scalekit-compatible auth server for B2B SaaS",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.AddCommand(newServeCmd(stdout, stderr), newVersionCmd(stdout))
	root.AddCommand(newRedirectsCmd(stdout))
	root.AddCommand(newBrandingCmd(stdout))
	root.AddCommand(newClientsCmd(stdout))
	root.AddCommand(newImportCmd(stdout, stderr))
	root.AddCommand(newLazyMigrationCmd(stdout), newMigrationCmd(stdout))
	root.AddCommand(newExportCmd(stdout, stderr))
	root.AddCommand(newKeysCmd(stdout))
	if err := root.Execute(); err != nil {
		// One line, whatever the error: joined errors would otherwise spill
		// over several lines.
		fmt.Fprintln(stderr, "gatehouse: "+strings.ReplaceAll(err.Error(), "\n", "; "))
		return 1
	}
	return 0
}

func newVersionCmd(stdout io.Writer) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		Run:   func(*cobra.Command, []string) { fmt.Fprintln(stdout, "gatehouse "+Version) },
	}
}

// envFlags binds flags to GATEHOUSE_* variables: a flag given on the command
// line wins; otherwise a set variable replaces the default. Bad values in
// variables are reported like bad flags.
type envFlags struct {
	fs   *pflag.FlagSet
	vars [][2]string // flag name, env var; in binding order so reports are stable
}

func (e *envFlags) bind(flag, env string) {
	e.vars = append(e.vars, [2]string{flag, env})
	f := e.fs.Lookup(flag)
	f.Usage += " (env " + env + ")"
}

// apply reports every bad variable at once, in binding order.
func (e *envFlags) apply() error {
	var errs []string
	for _, b := range e.vars {
		flag, env := b[0], b[1]
		v, ok := os.LookupEnv(env)
		if !ok || e.fs.Changed(flag) {
			continue
		}
		if err := e.fs.Set(flag, v); err != nil {
			errs = append(errs, fmt.Sprintf("%s=%q: %v", env, v, err))
		}
	}
	if len(errs) > 0 {
		return errors.New(strings.Join(errs, "; "))
	}
	return nil
}

// envString reads an env-only setting (no flag).
func envString(name string) string { return os.Getenv(name) }
