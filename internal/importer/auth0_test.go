package importer

import (
	"slices"
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
