package importer

import (
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestAuth0: the user export, the support-provided hash export, a
// bulk-import file and organizations with members and roles, read
// together.
func TestAuth0(t *testing.T) {
	dir := "testdata/auth0/"
	d, err := Read("auth0", []string{dir + "users-export.json", dir + "password-hashes.json", dir + "bulk-import.json", dir + "organizations.json"}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ada := userByEmail(t, d, "ada@example.com")
	if ada.ExternalID != "auth0|64f1a2b3c4d5e6f708192a3b" || ada.FirstName != "Ada" || ada.LastName != "Lovelace" ||
		ada.Metadata["plan"] != "pro" || ada.Metadata["theme"] != "light" || !*ada.EmailVerified {
		t.Errorf("ada: %+v", ada)
	}
	verifies(t, ada.PasswordHash, "rasmuslerdorf") // joined from the hash export by $oid
	if len(ada.Memberships) != 1 || ada.Memberships[0].OrganizationExternalID != "org_W9qRfQvTBvU3b2Fq" ||
		!slices.Equal(ada.Memberships[0].Roles, []string{"admin"}) {
		t.Errorf("ada's memberships: %+v", ada.Memberships)
	}
	if grace := userByEmail(t, d, "grace@example.com"); grace.PasswordHash != "" || len(grace.Memberships) != 1 || grace.Memberships[0].Roles != nil {
		t.Errorf("grace (social login, member without roles): %+v", grace)
	}
	if alan := userByEmail(t, d, "alan@example.com"); alan.Memberships[0].OrganizationExternalID != "org_Ux8sPqLm2NcVb7Zr" || *alan.EmailVerified {
		t.Errorf("alan: %+v", alan)
	}
	hashOnly := userByEmail(t, d, "hash-only@example.com")
	if hashOnly.ExternalID != "auth0|64f1a2b3c4d5e6f708192a3d" || hashOnly.PasswordHash == "" {
		t.Errorf("a user only in the hash export: %+v", hashOnly)
	}
	k := userByEmail(t, d, "katherine@example.com")
	verifies(t, k.PasswordHash, "password")
	if k.ExternalID != "kj-1918" || k.Metadata["roles"] != `["admin"]` {
		t.Errorf("katherine: %+v", k)
	}
	if len(d.Organizations) != 2 || d.Organizations[0].DisplayName != "Analytical Engines Ltd" || d.Organizations[0].Metadata["tier"] != "gold" ||
		d.Organizations[1].DisplayName != "bletchley" {
		t.Errorf("organizations: %+v", d.Organizations)
	}
	want := []string{"bulk-import.json[1] custom_password_hash:unsupported_hash", "organizations.json[1] members:unknown_user"}
	if got := rejected(d); !slices.Equal(got, want) {
		t.Errorf("rejections: %v, want %v", got, want)
	}
}

// TestAuth0Gzip: the export job's download is gzipped (tenant.json.gz)
// and is read as it comes; its CSV form is refused with the way out.
func TestAuth0Gzip(t *testing.T) {
	raw, err := os.ReadFile("testdata/auth0/users-export.json")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var zipped bytes.Buffer
	zw := gzip.NewWriter(&zipped)
	zw.Write(raw)
	zw.Close()
	gz := filepath.Join(dir, "example-tenant.json.gz")
	os.WriteFile(gz, zipped.Bytes(), 0o600)
	d, err := Read("auth0", []string{gz, "testdata/auth0/password-hashes.json"}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ada := userByEmail(t, d, "ada@example.com")
	verifies(t, ada.PasswordHash, "rasmuslerdorf")
	if ada.Source != "example-tenant.json.gz:1" || len(d.Users) != 4 || len(d.Rejected) != 0 {
		t.Errorf("ada %+v; %d users, rejections %v", ada, len(d.Users), rejected(d))
	}
	csvFile := filepath.Join(dir, "example-tenant.csv.gz")
	os.WriteFile(csvFile, zipped.Bytes(), 0o600)
	if _, err := Read("auth0", []string{csvFile}, Options{}); err == nil || !strings.Contains(err.Error(), `"format": "json"`) {
		t.Errorf("the CSV export: %v", err)
	}
}
