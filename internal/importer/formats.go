package importer

import (
	"fmt"
	"sort"
	"strings"

	"github.com/gatehouse/gatehouse/internal/passwords"
)

// Options carry what a source's files do not say themselves.
type Options struct {
	// Firebase holds the project's password hash parameters (--hash-key,
	// --salt-separator, --rounds, --mem-cost), which auth:export leaves out.
	Firebase passwords.FirebaseParams
}

// reader reads a source's files into a Dataset. Rows it cannot map go to
// Dataset.Rejected; an error means the files as a whole are unreadable.
type reader func(paths []string, opts Options) (*Dataset, error)

// formats are the sources `gatehouse import --from` knows, each in its own
// file.
var formats = map[string]reader{
	"generic":   readGeneric,
	"auth0":     readAuth0,
	"firebase":  readFirebase,
	"supabase":  readSupabase,
	"clerk":     readClerk,
	"cognito":   readCognito,
	"keycloak":  readKeycloak,
	"gatehouse": readGatehouse,
}

// Formats lists the format names, sorted.
func Formats() []string {
	out := make([]string, 0, len(formats))
	for f := range formats {
		out = append(out, f)
	}
	sort.Strings(out)
	return out
}

// Read reads the files of a source in the named format and removes
// repeated rows (Dataset.Dedupe).
func Read(format string, paths []string, opts Options) (*Dataset, error) {
	r, ok := formats[format]
	if !ok {
		return nil, fmt.Errorf("--from %q: unknown format; one of %s", format, strings.Join(Formats(), ", "))
	}
	if len(paths) == 0 {
		return nil, fmt.Errorf("name the export file(s) to read")
	}
	d, err := r(paths, opts)
	if err != nil {
		return nil, err
	}
	d.Dedupe()
	return d, nil
}
