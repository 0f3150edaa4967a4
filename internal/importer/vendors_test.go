package importer

import (
	"slices"
	"strings"
	"testing"
)

func TestSupabase(t *testing.T) {
	d, err := Read("supabase", []string{"testdata/supabase/users.csv", "testdata/supabase/users.json"}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Users) != 3 {
		t.Fatalf("users (deleted and anonymous ones skipped): %+v", d.Users)
	}
	ana := userByEmail(t, d, "ana@example.com")
	if ana.ExternalID != "7d4b1f7e-3c1a-4d2e-9f6b-1a2b3c4d5e6f" || ana.Name != "Ana Silva" || !*ana.EmailVerified ||
		ana.Metadata["company"] != "Acme" || len(ana.Metadata) != 1 {
		t.Errorf("ana: %+v", ana)
	}
	verifies(t, ana.PasswordHash, "rasmuslerdorf")
	if ben := userByEmail(t, d, "ben@example.com"); ben.PasswordHash != "" || *ben.EmailVerified || ben.Name != "Ben" {
		t.Errorf("ben (GitHub login, unconfirmed): %+v", ben)
	}
	if j := userByEmail(t, d, "json@example.com"); j.FirstName != "Jay" || j.LastName != "Son" || j.PasswordHash == "" {
		t.Errorf("the JSON form: %+v", j)
	}
	if len(d.Rejected) != 0 {
		t.Errorf("rejections: %v", rejected(d))
	}
}

func TestClerk(t *testing.T) {
	d, err := Read("clerk", []string{"testdata/clerk/users.csv"}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	r := userByEmail(t, d, "rasmus@example.com")
	if r.ExternalID != "user_2aBcD1" || r.FirstName != "Rasmus" || !*r.EmailVerified || r.Metadata["username"] != "rasmus" {
		t.Errorf("rasmus: %+v", r)
	}
	verifies(t, r.PasswordHash, "rasmuslerdorf")
	md5 := userByEmail(t, d, "md5@example.com")
	if *md5.EmailVerified {
		t.Error("an unverified primary email came out verified")
	}
	verifies(t, md5.PasswordHash, "password")
	verifies(t, userByEmail(t, d, "pbkdf2@example.com").PasswordHash, "password")
	verifies(t, userByEmail(t, d, "sha1@example.com").PasswordHash, "password")
	verifies(t, userByEmail(t, d, "firebase@example.com").PasswordHash, "user1password")
	verifies(t, userByEmail(t, d, "phpass@example.com").PasswordHash, "test12345")
	verifies(t, userByEmail(t, d, "ldap@example.com").PasswordHash, "secret")
	verifies(t, userByEmail(t, d, "werkzeug@example.com").PasswordHash, "my-test-password-123")
	if u := userByEmail(t, d, "oauth@example.com"); u.PasswordHash != "" {
		t.Errorf("oauth: %+v", u)
	}
	if got := rejected(d); !slices.Equal(got, []string{"users.csv:11 password_digest:unsupported_hash"}) {
		t.Errorf("rejections: %v", got)
	}
	if !slices.ContainsFunc(d.Notes, func(n string) bool { return strings.Contains(n, "TOTP") }) {
		t.Errorf("no note about TOTP secrets: %v", d.Notes)
	}
}

func TestCognito(t *testing.T) {
	d, err := Read("cognito", []string{"testdata/cognito/users.csv"}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	c := userByEmail(t, d, "carla@example.com")
	if c.ExternalID != "3f2a1b4c-5d6e-4f70-8192-a3b4c5d6e7f8" || c.FirstName != "Carla" || c.Locale != "es-ES" || !*c.EmailVerified ||
		c.Metadata["tenant"] != "acme" || c.Metadata["cognito_username"] != "carla" || c.PasswordHash != "" {
		t.Errorf("carla: %+v", c)
	}
	if dan := userByEmail(t, d, "dan@example.com"); dan.ExternalID != "dan@example.com" || *dan.EmailVerified {
		t.Errorf("dan (no sub): %+v", dan)
	}
	if got := rejected(d); !slices.Equal(got, []string{"users.csv:4 email_verified:format"}) {
		t.Errorf("rejections: %v", got)
	}
	if !slices.ContainsFunc(d.Notes, func(n string) bool { return strings.Contains(n, "no password hashes") }) {
		t.Errorf("no note about hashes: %v", d.Notes)
	}
	if _, err := Read("cognito", []string{"testdata/clerk/users.csv"}, Options{}); err == nil || !strings.Contains(err.Error(), "--from") {
		t.Errorf("a Clerk file read as Cognito: %v", err)
	}
}

func TestKeycloak(t *testing.T) {
	d, err := Read("keycloak", []string{"testdata/keycloak/realm-export.json"}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	a := userByEmail(t, d, "alice@example.com")
	if a.ExternalID != "1b7c9a2e-1111-4000-8000-000000000001" || a.FirstName != "Alice" || !*a.EmailVerified ||
		a.Metadata["department"] != "engineering" || a.Metadata["langs"] != `["en","fr"]` || a.Metadata["username"] != "alice" {
		t.Errorf("alice: %+v", a)
	}
	verifies(t, a.PasswordHash, "password")
	if len(a.Memberships) != 1 || a.Memberships[0].OrganizationExternalID != "wonderland" || !slices.Equal(a.Memberships[0].Roles, []string{"admin"}) {
		t.Errorf("alice's memberships: %+v", a.Memberships)
	}
	if b := userByEmail(t, d, "bob@example.com"); len(b.Memberships) != 1 || b.Memberships[0].Roles != nil || b.Metadata != nil {
		t.Errorf("bob (member by username, default roles only): %+v", b)
	}
	if len(d.Organizations) != 1 || d.Organizations[0].DisplayName != "Wonderland Inc" || d.Organizations[0].Metadata["tier"] != "gold" ||
		d.Organizations[0].Metadata["description"] != "Down the rabbit hole" {
		t.Errorf("organizations: %+v", d.Organizations)
	}
	want := []string{"realm-export.json users[2] credentials:unsupported_hash", "realm-export.json users[3] email:required",
		"realm-export.json organizations[0] members:unknown_user"}
	if got := rejected(d); !slices.Equal(got, want) {
		t.Errorf("rejections: %v, want %v", got, want)
	}
}

// TestCognitoListUsers: the JSON `aws cognito-idp list-users` prints, the
// form Cognito actually exports.
func TestCognitoListUsers(t *testing.T) {
	d, err := Read("cognito", []string{"testdata/cognito/list-users.json"}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	f := userByEmail(t, d, "frank@example.com")
	if f.ExternalID != "5b4c3d2e-7f60-4192-a3b4-c5d6e7f8091a" || f.FirstName != "Frank" || !*f.EmailVerified ||
		f.Metadata["tenant"] != "globex" || f.Metadata["cognito_username"] != "frank" || f.Source != "list-users.json Users[0]" {
		t.Errorf("frank: %+v", f)
	}
	if g := userByEmail(t, d, "grete@example.com"); g.ExternalID != "6c5d4e3f-8071-42a3-b4c5-d6e7f8091a2b" || g.EmailVerified != nil ||
		g.Metadata["cognito_username"] != "Google_109876543210" {
		t.Errorf("grete (federated, disabled): %+v", g)
	}
	if !slices.ContainsFunc(d.Notes, func(n string) bool { return strings.Contains(n, "disabled") }) {
		t.Errorf("no note about disabled users: %v", d.Notes)
	}
	if _, err := Read("cognito", []string{"testdata/firebase/users.json"}, Options{}); err == nil || !strings.Contains(err.Error(), "--from") {
		t.Errorf("a Firebase file read as Cognito: %v", err)
	}
}
