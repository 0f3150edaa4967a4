package importer

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// memberships lists a user's memberships as "org:role+role" ("org:" for
// the default role), in order.
func memberships(u User) []string {
	var out []string
	for _, m := range u.Memberships {
		out = append(out, m.OrganizationExternalID+":"+strings.Join(m.Roles, "+"))
	}
	return out
}

func orgNames(d *Dataset) map[string]string {
	out := map[string]string{}
	for _, o := range d.Organizations {
		out[o.ExternalID] = o.DisplayName
	}
	return out
}

func hasNote(d *Dataset, part string) bool {
	return slices.ContainsFunc(d.Notes, func(n string) bool { return strings.Contains(n, part) })
}

// TestMappingCognito: Cognito has no organizations; the mapping gives
// Carla two by her sub, Dan one by his domain (in another case), and a row
// for a domain nobody has is reported.
func TestMappingCognito(t *testing.T) {
	d, err := Read("cognito", []string{"testdata/cognito/users.csv"}, Options{Mapping: "testdata/mapping/cognito.csv"})
	if err != nil {
		t.Fatal(err)
	}
	if got := memberships(userByEmail(t, d, "carla@example.com")); !slices.Equal(got, []string{"acme:admin", "example:member"}) {
		t.Errorf("carla (by sub, own rows beat the domain's): %v", got)
	}
	if got := memberships(userByEmail(t, d, "dan@example.com")); !slices.Equal(got, []string{"example:"}) {
		t.Errorf("dan (by domain, default role): %v", got)
	}
	want := map[string]string{"acme": "Acme Corp", "example": "Example Inc", "ghost": "Ghost Ltd"}
	if got := orgNames(d); len(got) != len(want) || got["acme"] != want["acme"] || got["example"] != want["example"] || got["ghost"] != want["ghost"] {
		t.Errorf("organizations: %v, want %v", got, want)
	}
	if !hasNote(d, "Mapping cognito.csv: 1 rows match no user in the export: cognito.csv:8 (@nowhere.example)") {
		t.Errorf("no note about the unused row: %v", d.Notes)
	}
	if hasNote(d, "Cognito has no organizations") || !hasNote(d, "no password hashes") {
		t.Errorf("notes: %v", d.Notes)
	}
	if !hasNote(d, "2 users given 3 memberships") {
		t.Errorf("no count of mapped users: %v", d.Notes)
	}
}

// TestMappingFirebase: a user matched by email in another case; a user
// matching no row stays without an organization, and the notes say so.
func TestMappingFirebase(t *testing.T) {
	d, err := Read("firebase", []string{"testdata/firebase/users.json"}, Options{Firebase: firebaseSample, Mapping: "testdata/mapping/firebase.csv"})
	if err != nil {
		t.Fatal(err)
	}
	if got := memberships(userByEmail(t, d, "user1@example.com")); !slices.Equal(got, []string{"acme:admin+member"}) {
		t.Errorf("user1: %v", got)
	}
	if s := userByEmail(t, d, "social@example.com"); len(s.Memberships) != 0 {
		t.Errorf("social matched nothing but has %v", memberships(s))
	}
	if !hasNote(d, "1 users match no row and are imported without an organization: social@example.com (users.json users[1])") {
		t.Errorf("no note about the unmatched user: %v", d.Notes)
	}
	if hasNote(d, "Firebase has no organizations") {
		t.Errorf("the no-organizations note stayed: %v", d.Notes)
	}
}

// TestMappingLevels: own rows beat domain rows beat the default; roles
// add to a membership the source gave; the source's own organization keeps
// its name; an organization without a name is left to the server.
func TestMappingLevels(t *testing.T) {
	dir := t.TempDir()
	export := filepath.Join(dir, "export.jsonl")
	os.WriteFile(export, []byte(`{"type": "organization", "external_id": "acme", "display_name": "Acme (source)"}
{"type": "user", "email": "ann@acme.com", "external_id": "u1", "memberships": [{"organization_external_id": "acme", "roles": ["member"]}]}
{"type": "user", "email": "bob@acme.com", "external_id": "u2"}
{"type": "user", "email": "cy@eu.acme.com", "external_id": "u3"}
{"type": "user", "email": "dee@other.com", "external_id": "u4"}
`), 0o600)
	mapFile := filepath.Join(dir, "map.csv")
	os.WriteFile(mapFile, []byte("\ufeffMatch,Organization_External_ID,Organization_Name,Roles\n"+
		"u1,acme,Acme Corp,admin\n"+
		"@acme.com,acme,Acme Corp,member\n"+
		"@acme.com,stored_org,,\n"+
		"*,everyone,Everyone,member\n"), 0o600)
	d, err := Read("generic", []string{export}, Options{Mapping: mapFile})
	if err != nil {
		t.Fatal(err)
	}
	for email, want := range map[string][]string{
		"ann@acme.com":   {"acme:member+admin"},          // own row; roles added to the source's membership
		"bob@acme.com":   {"acme:member", "stored_org:"}, // both domain rows
		"cy@eu.acme.com": {"everyone:member"},            // a subdomain is another domain
		"dee@other.com":  {"everyone:member"},            // the default
	} {
		if got := memberships(userByEmail(t, d, email)); !slices.Equal(got, want) {
			t.Errorf("%s: %v, want %v", email, got, want)
		}
	}
	if got := orgNames(d); len(got) != 2 || got["acme"] != "Acme (source)" || got["everyone"] != "Everyone" {
		t.Errorf("organizations: %v", got)
	}
}

// TestMappingMalformed: a malformed file stops the run before anything is
// read, naming every bad row as file:line, column and rule.
func TestMappingMalformed(t *testing.T) {
	for file, want := range map[string][]string{
		"bad-header.csv": {
			`bad-header.csv:1: header: unknown_column: column "email"`,
			`bad-header.csv:1: header: unknown_column: column "organisation"`,
			"bad-header.csv:1: header: missing_column: the header needs a match column",
			"bad-header.csv:1: header: missing_column: the header needs a organization_external_id column",
		},
		"bad-rows.csv": {
			"bad-rows.csv:3: match: required",
			`bad-rows.csv:4: match: format: "@" is not an email domain`,
			"bad-rows.csv:5: organization_external_id: required",
			`bad-rows.csv:6: organization_name: conflict: bad-rows.csv:2 names organization acme "Acme Corp", this row "ACME Corporation"`,
			"bad-rows.csv:7: match: duplicate: bad-rows.csv:2 already maps ann@example.com to acme",
			"bad-rows.csv:8: line: columns: 5 fields, the header has 4",
		},
		"missing.csv": {"--mapping: open testdata/mapping/missing.csv"},
	} {
		_, err := Read("cognito", []string{"testdata/cognito/users.csv"}, Options{Mapping: "testdata/mapping/" + file})
		if err == nil {
			t.Errorf("%s: accepted", file)
			continue
		}
		lines := strings.Split(err.Error(), "\n")
		if len(lines) != len(want) {
			t.Errorf("%s: %d errors, want %d:\n%v", file, len(lines), len(want), err)
			continue
		}
		for i, w := range want {
			if !strings.HasPrefix(lines[i], w) {
				t.Errorf("%s: error %d is %q, want it to start %q", file, i, lines[i], w)
			}
		}
	}
}
