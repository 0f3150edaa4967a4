package cli_test

// `gatehouse export` and the round trip, in process, against real servers:
// server A is seeded through the API (permissions, roles with inheritance
// and defaults, an organization's own role, organizations with and without
// external_id and with slug, logo and region, users with metadata and
// every profile field, memberships with roles, password hashes of several
// formats); its export is imported into a fresh server B, whose export
// must equal A's; a user of B then signs in with their original password
// through the hosted login's own lookup.

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/passwords"
	"github.com/gatehouse/gatehouse/internal/servertest"
)

// mustDo makes a REST call that must succeed and returns its answer.
func mustDo(t *testing.T, in *servertest.Instance, tok, method, path, body string) map[string]any {
	t.Helper()
	status, out := in.Do(t, tok, method, path, body)
	if status/100 != 2 {
		t.Fatalf("%s %s: %d %v", method, path, status, out)
	}
	return out
}

// seedForExport fills in through the API and returns the id of the
// organization that has no external_id.
func seedForExport(t *testing.T, in *servertest.Instance, dir string) string {
	tok := in.Token(t)
	for _, p := range []string{`{"name":"projects:read","description":"Read projects"}`, `{"name":"projects:write","description":"Change projects"}`,
		`{"name":"billing:manage","description":"Manage billing"}`} {
		mustDo(t, in, tok, "POST", "/api/v1/permissions", p)
	}
	mustDo(t, in, tok, "POST", "/api/v1/roles", `{"name":"viewer","display_name":"Viewer","description":"Sees projects","permissions":["projects:read"]}`)
	mustDo(t, in, tok, "POST", "/api/v1/roles", `{"name":"editor","display_name":"Editor","extends":"viewer","permissions":["projects:write"]}`)
	mustDo(t, in, tok, "POST", "/api/v1/roles", `{"name":"owner","display_name":"Owner","extends":"editor","permissions":["billing:manage","projects:read"]}`)
	mustDo(t, in, tok, "PATCH", "/api/v1/roles:set_defaults", `{"default_member_role":"viewer"}`)
	mega := mustDo(t, in, tok, "POST", "/api/v1/organizations", `{"display_name":"Megasoft Inc","external_id":"org_123","metadata":{"plan":"enterprise","seats":"40"},
		"slug":"megasoft","logo_url":"https://cdn.example.com/megasoft.png","region_code":"EU"}`)
	megaID := mega["organization"].(map[string]any)["id"].(string)
	mustDo(t, in, tok, "PATCH", "/api/v1/organizations/"+megaID+"/settings", `{"features":[{"name":"sso","enabled":true},{"name":"dir_sync","enabled":false}]}`)
	mustDo(t, in, tok, "POST", "/api/v1/organizations", `{"display_name":"Acme Corp","external_id":"org_456"}`)
	plain := mustDo(t, in, tok, "POST", "/api/v1/organizations", `{"display_name":"No Key Ltd","metadata":{"region":"eu"}}`)
	plainID := plain["organization"].(map[string]any)["id"].(string)
	mustDo(t, in, tok, "PATCH", "/api/v1/organizations/"+plainID+"/session-policy", `{"policy_source":"CUSTOM","absolute_session_timeout":7,
		"absolute_session_timeout_unit":"DAYS","idle_session_timeout_enabled":true,"idle_session_timeout":2,"idle_session_timeout_unit":"HOURS"}`)
	mustDo(t, in, tok, "POST", "/api/v1/organizations/org_456/roles", `{"name":"auditor","display_name":"Auditor","description":"Reads billing","extends":"viewer","permissions":["billing:manage"]}`)
	mustDo(t, in, tok, "PATCH", "/api/v1/organizations/org_456/roles:set_defaults", `{"default_member_role":"auditor"}`)

	argon, err := passwords.Hash("argon-secret")
	if err != nil {
		t.Fatal(err)
	}
	users := fmt.Sprintf(`{"type":"user","email":"john@example.com","first_name":"John","last_name":"Doe","email_verified":true,"external_id":"usr_987","metadata":{"department":"engineering"},"password_hash":"$2y$10$.vGA1O9wmRjrwAVXD98HNOgsNpDczlqm3Jq7KnEd1rVAGv3Fykk1a","memberships":[{"organization_external_id":"org_123","roles":["owner"],"metadata":{"title":"CTO"}},{"organization_external_id":"org_456","roles":["auditor","editor"]},{"organization_id":%q,"roles":["viewer"]}]}
{"type":"user","email":"jane@example.com","name":"Jane Q","locale":"fr-FR","external_id":"usr_988","phone_number":"+33123456789","groups":["ops"],"custom_attributes":{"desk":"7"},"custom_password_hash":{"algorithm":"md5","hash":{"value":"5f4dcc3b5aa765d61d8327deb882cf99","encoding":"hex"}},"memberships":[{"organization_external_id":"org_456","roles":["member"]}]}
{"type":"user","email":"ann@example.com","first_name":"Ann","password_hash":%q,"memberships":[{"organization_id":%q,"roles":["admin","editor"],"metadata":{"since":"2020"}}]}
{"type":"user","email":"nopass@example.com","external_id":"usr_990","email_verified":false}
`, plainID, argon, plainID)
	file := filepath.Join(dir, "seed.jsonl")
	if err := os.WriteFile(file, []byte(users), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, out, errOut := importRun(t, in, dir, "--from", "generic", file); code != 0 {
		t.Fatalf("seeding: exit %d\n%s\n%s", code, out, errOut)
	}
	// The rest of John's profile, through the Scalekit API as an
	// application would set it.
	john := userIDByEmail(t, in, tok, "john@example.com")
	mustDo(t, in, tok, "PATCH", "/api/v1/users/"+john, `{"user_profile":{"phone_number":"+14155550100",
		"preferred_username":"jdoe","picture":"https://cdn.example.com/jdoe.png","gender":"male",
		"groups":["eng","admins"],"metadata":{"team":"core"},"custom_attributes":{"badge":"42","floor":"3"}}}`)
	// Memberships that are not active: a pending invitation, one that
	// has expired and an inactive member (no API makes one: the database).
	for _, email := range []string{"nopass@example.com", "ann@example.com", "jane@example.com"} {
		org := map[string]string{"nopass@example.com": "org_456", "ann@example.com": "org_123", "jane@example.com": "org_123"}[email]
		mustDo(t, in, tok, "POST", "/api/v1/memberships/organizations/"+org+"/users/"+userIDByEmail(t, in, tok, email)+"?send_invitation_email=true",
			`{"roles":[{"name":"viewer"}],"inviter_email":"boss@example.com","metadata":{"via":"invite"}}`)
	}
	for _, stmt := range []string{
		`UPDATE memberships SET expires_at = 1700000000000000 WHERE status = 3 AND user_id = (SELECT id FROM users WHERE email = 'ann@example.com')`,
		`UPDATE memberships SET status = 2, expires_at = NULL WHERE status = 3 AND user_id = (SELECT id FROM users WHERE email = 'jane@example.com')`,
	} {
		if _, err := in.Server.Store().DB().ExecContext(context.Background(), stmt); err != nil {
			t.Fatal(err)
		}
	}
	return plainID
}

// userIDByEmail finds a user's id through the Scalekit API's list.
func userIDByEmail(t *testing.T, in *servertest.Instance, tok, email string) string {
	t.Helper()
	for _, u := range mustDo(t, in, tok, "GET", "/api/v1/users?page_size=100", "")["users"].([]any) {
		if u := u.(map[string]any); u["email"] == email {
			return u["id"].(string)
		}
	}
	t.Fatalf("no user %s", email)
	return ""
}

// exportTo runs gatehouse export against in into file.
func exportTo(t *testing.T, in *servertest.Instance, file string, extra ...string) string {
	t.Helper()
	args := append([]string{"export", "--output", file, "--page-size", "2"}, extra...)
	code, out, errOut := run(t, append(args, against(in)...)...)
	if code != 0 {
		t.Fatalf("export: exit %d\n%s\n%s", code, out, errOut)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// sortedLines normalises an export for comparison: the order of lines of
// one type follows server ids, which differ between servers; the content
// of each line may not.
func sortedLines(s string) []string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	slices.Sort(lines)
	return lines
}

func TestExportRoundTrip(t *testing.T) {
	t.Parallel()
	servertest.Each(t, servertest.Options{}, func(t *testing.T, a *servertest.Instance) {
		dir := t.TempDir()
		plainID := seedForExport(t, a, dir)

		withHashes := exportTo(t, a, filepath.Join(dir, "a.jsonl"), "--include-password-hashes")
		for _, want := range []string{
			`{"type":"permission","name":"billing:manage","description":"Manage billing"}`,
			`{"type":"role","name":"editor","display_name":"Editor","extends":"viewer","permissions":["projects:write"]}`,
			`"name":"viewer","display_name":"Viewer","description":"Sees projects","permissions":["projects:read"],"default_member":true}`,
			`{"type":"organization","id":"` + plainID + `","display_name":"No Key Ltd","metadata":{"region":"eu"},"session_policy":{"absolute_timeout":7,"absolute_timeout_unit":"DAYS","idle_timeout_enabled":true,"idle_timeout":2,"idle_timeout_unit":"HOURS"}}`,
			`"roles":[{"name":"auditor","display_name":"Auditor","description":"Reads billing","extends":"viewer","permissions":["billing:manage"],"default_member":true}],"default_member_role":"auditor"}`,
			`{"organization_id":"` + plainID + `","roles":["admin","editor"],"metadata":{"since":"2020"}}`,
			`"password_hash":"$2y$10$.vGA1O9wmRjrwAVXD98HNOgsNpDczlqm3Jq7KnEd1rVAGv3Fykk1a"`,
			`"password_hash":"$digest-argon2id$`,
			`"password_hash":"$argon2id$`,
			`"phone_number":"+14155550100","preferred_username":"jdoe","picture":"https://cdn.example.com/jdoe.png","gender":"male","groups":["eng","admins"],"profile_metadata":{"team":"core"},"custom_attributes":{"badge":"42","floor":"3"}}`,
			`"phone_number":"+33123456789","groups":["ops"],"custom_attributes":{"desk":"7"}}`,
			`{"organization_external_id":"org_456","roles":["viewer"],"metadata":{"via":"invite"},"status":"PENDING_INVITE","expires_at":"20`,
			`"status":"PENDING_INVITE","expires_at":"20`,
			`{"organization_external_id":"org_123","roles":["viewer"],"metadata":{"via":"invite"},"status":"INVITE_EXPIRED","expires_at":"2023-11-14T22:13:20Z","inviter_email":"boss@example.com"}`,
			`{"organization_external_id":"org_123","roles":["viewer"],"metadata":{"via":"invite"},"status":"INACTIVE"}`,
			`{"type":"organization","external_id":"org_123","display_name":"Megasoft Inc","metadata":{"plan":"enterprise","seats":"40"},"slug":"megasoft","logo_url":"https://cdn.example.com/megasoft.png","region_code":2,"features":{"dir_sync":false,"sso":true}}`,
		} {
			if !strings.Contains(withHashes, want) {
				t.Errorf("export of A lacks %s\n%s", want, withHashes)
			}
		}
		var events int
		if err := a.Server.Store().DB().QueryRowContext(context.Background(),
			`SELECT COUNT(*) FROM events WHERE type = 'user.password_hashes_exported'`).Scan(&events); err != nil || events == 0 {
			t.Errorf("hash export recorded %d events (%v), want at least one", events, err)
		}

		without := exportTo(t, a, filepath.Join(dir, "a-nohash.jsonl"))
		if strings.Contains(without, "password_hash") || strings.Contains(without, "$2y$") || strings.Contains(without, "argon2") {
			t.Errorf("an export without --include-password-hashes holds a hash:\n%s", without)
		}
		if got, want := strings.Count(without, "\n"), strings.Count(withHashes, "\n"); got != want {
			t.Errorf("without hashes %d lines, with %d", got, want)
		}

		b := servertest.Start(t, servertest.Options{Postgres: strings.HasSuffix(t.Name(), "postgres")})
		if code, out, errOut := importRun(t, b, dir, "--from", "gatehouse", filepath.Join(dir, "a.jsonl")); code != 0 {
			t.Fatalf("import into B: exit %d\n%s\n%s", code, out, errOut)
		} else if !strings.Contains(out, "organization settings: 2 updated, 0 unchanged, 0 failed") ||
			!strings.Contains(out, "invitations and inactive memberships: 3 created, 0 updated, 0 unchanged, 0 failed") {
			t.Errorf("import into B did not write the organizations' settings and the invitations:\n%s", out)
		}
		fromB := exportTo(t, b, filepath.Join(dir, "b.jsonl"), "--include-password-hashes")
		if got, want := sortedLines(fromB), sortedLines(withHashes); !slices.Equal(got, want) {
			t.Errorf("the export of B differs from A's\nA:\n%s\nB:\n%s", strings.Join(want, "\n"), strings.Join(got, "\n"))
		}

		// Importing the same file again changes nothing.
		_, out, _ := importRun(t, b, dir, "--from", "gatehouse", filepath.Join(dir, "a.jsonl"))
		wantSummary(t, "second import into B", out, [4]int{0, 0, 3, 0}, [4]int{0, 0, 4, 0})
		if !strings.Contains(out, "organization settings: 0 updated, 2 unchanged, 0 failed") ||
			!strings.Contains(out, "invitations and inactive memberships: 0 created, 0 updated, 3 unchanged, 0 failed") {
			t.Errorf("the second import into B changed organizations' settings or invitations:\n%s", out)
		}
		// The import sent no invitation email, and the invited user can
		// still accept: signing in to the organization makes them a member.
		var mails int
		if err := b.Server.Store().DB().QueryRowContext(context.Background(),
			`SELECT COUNT(*) FROM emails WHERE kind = 'invitation'`).Scan(&mails); err != nil || mails != 0 {
			t.Errorf("the import queued %d invitation emails (%v), want none", mails, err)
		}
		tokB := b.Token(t)
		invitee := userIDByEmail(t, b, tokB, "nopass@example.com")
		ms := mustDo(t, b, tokB, "GET", "/api/v1/users/"+invitee, "")["user"].(map[string]any)["memberships"].([]any)
		m := ms[0].(map[string]any)
		if len(ms) != 1 || m["membership_status"] != "PENDING_INVITE" {
			t.Fatalf("the invitee's memberships on B: %v", ms)
		}
		if err := b.Server.Accounts.RecordLogin(context.Background(), invitee, m["organization_id"].(string), false); err != nil {
			t.Fatal(err)
		}
		m = mustDo(t, b, tokB, "GET", "/api/v1/users/"+invitee, "")["user"].(map[string]any)["memberships"].([]any)[0].(map[string]any)
		if m["membership_status"] != "ACTIVE" {
			t.Errorf("the imported invitation was not accepted at sign-in: %v", m)
		}

		// A changed profile field alone makes the user UPDATED, and B then
		// holds the new value.
		changed := strings.Replace(withHashes, `"phone_number":"+14155550100"`, `"phone_number":"+14155550199"`, 1)
		if changed == withHashes {
			t.Fatal("the export of A has no phone number to change")
		}
		if err := os.WriteFile(filepath.Join(dir, "changed.jsonl"), []byte(changed), 0o600); err != nil {
			t.Fatal(err)
		}
		_, out, _ = importRun(t, b, dir, "--from", "gatehouse", filepath.Join(dir, "changed.jsonl"))
		wantSummary(t, "import of a changed phone number into B", out, [4]int{0, 0, 3, 0}, [4]int{0, 1, 3, 0})
		if got := exportTo(t, b, filepath.Join(dir, "b2.jsonl")); !strings.Contains(got, `"phone_number":"+14155550199"`) {
			t.Errorf("B did not take the changed phone number:\n%s", got)
		}

		// B's users sign in with their original passwords, through the
		// lookup the hosted login's password step uses.
		for email, pw := range map[string]string{"john@example.com": "rasmuslerdorf", "jane@example.com": "password", "ann@example.com": "argon-secret"} {
			_, hash, err := b.Server.Store().Q().LoginLookup(context.Background(), b.Server.Accounts.EnvID, email)
			if err != nil {
				t.Fatalf("%s: %v", email, err)
			}
			if ok, _, err := passwords.Verify(hash, pw); !ok {
				t.Errorf("%s cannot sign in on B with the original password: %v", email, err)
			}
		}
	})
}

func TestExportLeavesNoPartialFile(t *testing.T) {
	t.Parallel()
	in := servertest.Start(t, servertest.Options{})
	dir := t.TempDir()
	out := filepath.Join(dir, "out.jsonl")
	if err := os.WriteFile(out, []byte("previous\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := run(t, "export", "--output", out, "--page-size", "5000", "--server", in.URL,
		"--client-id", servertest.ClientID, "--client-secret", servertest.ClientSecret)
	if code == 0 || !strings.Contains(errOut, "page size") {
		t.Fatalf("a failing export: exit %d, %q", code, errOut)
	}
	if b, _ := os.ReadFile(out); string(b) != "previous\n" {
		t.Errorf("a failed export changed the output file to %q", b)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("a failed export left files behind: %v", entries)
	}
	exportTo(t, in, out)
	if st, err := os.Stat(out); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("export file mode %v (%v), want 0600", st.Mode().Perm(), err)
	}
}
