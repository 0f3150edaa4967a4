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
	// Mapping names a mapping file (mapping.go) giving users organizations
	// and roles, for sources without organizations of their own.
	Mapping string
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

// Read reads the files of a source in the named format, applies the
// mapping file if there is one, and removes repeated rows
// (Dataset.Dedupe). A malformed mapping file stops the run before the
// source is read.
func Read(format string, paths []string, opts Options) (*Dataset, error) {
	r, ok := formats[format]
	if !ok {
		return nil, fmt.Errorf("--from %q: unknown format; one of %s", format, strings.Join(Formats(), ", "))
	}
	if len(paths) == 0 {
		return nil, fmt.Errorf("name the export file(s) to read")
	}
	var m *mapping
	if opts.Mapping != "" {
		var err error
		if m, err = readMapping(opts.Mapping); err != nil {
			return nil, err
		}
	}
	d, err := r(paths, opts)
	if err != nil {
		return nil, err
	}
	if m != nil {
		m.apply(d)
	}
	d.Dedupe()
	return d, nil
}
