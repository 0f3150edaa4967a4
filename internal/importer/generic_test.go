package importer

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/passwords"
)

// rejected lists "source field:rule" of a dataset's rejections.
func rejected(d *Dataset) []string {
	var out []string
	for _, r := range d.Rejected {
		out = append(out, r.Source+" "+r.Field+":"+r.Rule)
	}
	return out
}

func userByEmail(t *testing.T, d *Dataset, email string) User {
	t.Helper()
	for _, u := range d.Users {
		if u.Email == email {
			return u
		}
	}
	t.Fatalf("no user %s in %+v", email, d.Users)
	return User{}
}

func verifies(t *testing.T, hash, password string) {
	t.Helper()
	if ok, _, err := passwords.Verify(hash, password); !ok || err != nil {
		t.Errorf("%s does not verify %q: %v", hash, password, err)
	}
}

func TestGenericJSONL(t *testing.T) {
	d, err := Read("generic", []string{"testdata/generic/export.jsonl"}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Organizations) != 2 || d.Organizations[0].Metadata["seats"] != "40" || d.Organizations[1].DisplayName != "Acme Corp" {
		t.Errorf("organizations: %+v", d.Organizations)
	}
	john := userByEmail(t, d, "john@example.com")
	if john.ExternalID != "usr_987" || john.FirstName != "John" || john.EmailVerified == nil || !*john.EmailVerified ||
		john.Metadata["department"] != "engineering" || len(john.Memberships) != 2 ||
		!slices.Equal(john.Memberships[0].Roles, []string{"admin"}) || john.Memberships[0].Metadata["title"] != "CTO" {
		t.Errorf("john: %+v", john)
	}
	verifies(t, john.PasswordHash, "rasmuslerdorf") // the PHP manual's password_verify example
	// custom_password_hash in Auth0's shape: salted SHA-256 and HMAC.
	verifies(t, userByEmail(t, d, "jane@example.com").PasswordHash, "password")
	verifies(t, userByEmail(t, d, "hmac@example.com").PasswordHash, "password")
	want := []string{
		"export.jsonl:7 custom_password_hash:unsupported_hash", // md4
		"export.jsonl:8 custom_password_hash:unsupported_hash", // passwords hashed as UTF-16
		"export.jsonl:10 line:json",                            // unknown field emial_verified
		"export.jsonl:11 type:required",                        // type group
		"export.jsonl:12 line:json",                            // not JSON
		"export.jsonl:9 email:duplicate_in_file",               // JOHN@ repeats john@
	}
	if got := rejected(d); !slices.Equal(got, want) {
		t.Errorf("rejections:\n got %v\nwant %v", got, want)
	}
	if r := d.Rejected[2].Reason; !strings.Contains(r, "emial_verified") {
		t.Errorf("the unknown field is not named: %q", r)
	}
}

// TestGenericCSV: one membership per row; a user's rows merge.
func TestGenericCSV(t *testing.T) {
	d, err := Read("generic", []string{"testdata/generic/users.csv"}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Users) != 3 {
		t.Fatalf("users: %+v", d.Users)
	}
	ann := userByEmail(t, d, "ann@example.com")
	if ann.ExternalID != "u1" || ann.FirstName != "Ann" || ann.Metadata["department"] != "sales" || len(ann.Memberships) != 2 ||
		!slices.Equal(ann.Memberships[0].Roles, []string{"admin", "member"}) || ann.Memberships[0].Metadata["title"] != "VP" ||
		ann.Memberships[1].OrganizationExternalID != "org_2" {
		t.Errorf("ann: %+v", ann)
	}
	verifies(t, ann.PasswordHash, "rasmuslerdorf")
	if len(d.Organizations) != 2 || d.Organizations[1].DisplayName != "Second Org" {
		t.Errorf("organizations: %+v", d.Organizations)
	}
	bob := userByEmail(t, d, "bob@example.com")
	if bob.EmailVerified == nil || *bob.EmailVerified || len(bob.Memberships) != 1 {
		t.Errorf("bob: %+v", bob)
	}
	if got := rejected(d); !slices.Equal(got, []string{"users.csv:5 first_name:conflict"}) {
		t.Errorf("rejections: %v", got)
	}
	if _, err := Read("generic", []string{"testdata/generic/bad-header.csv"}, Options{}); err == nil || !strings.Contains(err.Error(), `"emails"`) {
		t.Errorf("an unknown column: %v", err)
	}
}

func TestGenericCSVProfileConflict(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "u.csv")
	csv := "email,phone_number,groups,custom_attributes,organization_external_id\n" +
		"a@example.com,+1555,x;y,\"{\"\"k\"\":1}\",o1\n" +
		"a@example.com,,,,o2\n" +
		"a@example.com,+1666,,,o3\n"
	if err := os.WriteFile(file, []byte(csv), 0o600); err != nil {
		t.Fatal(err)
	}
	d, err := Read("generic", []string{file}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Users) != 1 {
		t.Fatalf("users %+v", d.Users)
	}
	u := d.Users[0]
	if u.PhoneNumber != "+1555" || !slices.Equal(u.Groups, []string{"x", "y"}) || u.CustomAttributes["k"] != "1" || len(u.Memberships) != 2 {
		t.Errorf("user %+v", u)
	}
	if got := rejected(d); !slices.Equal(got, []string{"u.csv:4 phone_number:conflict"}) {
		t.Errorf("rejections %v", got)
	}
}
