package importer_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/importer"
	"github.com/gatehouse/gatehouse/internal/servertest"
)

// runImport imports the JSONL text into in and returns the summary.
func runImport(t *testing.T, in *servertest.Instance, jsonl string, compat, dry bool) *importer.Summary {
	t.Helper()
	dir := t.TempDir()
	file := filepath.Join(dir, "export.jsonl")
	if err := os.WriteFile(file, []byte(jsonl), 0o600); err != nil {
		t.Fatal(err)
	}
	tok := in.Token(t)
	conn := importer.NewConn(in.URL, func(context.Context, bool) (string, error) { return tok, nil })
	sum, err := importer.Run(context.Background(), importer.Config{Format: "generic", Files: []string{file}, Conn: conn,
		Compat: compat, DryRun: dry, BatchSize: 1, Concurrency: 2, StatePath: filepath.Join(dir, "state")})
	if err != nil {
		t.Fatalf("import (compat %v, dry %v): %v", compat, dry, err)
	}
	return sum
}

// failed lists a summary's failures as "external_id field rule".
func failed(sum *importer.Summary) []string {
	var out []string
	for _, f := range sum.Failures {
		out = append(out, strings.Join([]string{f.ExternalID, f.Field, f.Rule}, " "))
	}
	slices.Sort(out)
	return out
}

// TestCompatChecksRoles: --compat checks each membership's roles where it
// applies them, dry or not, and reports unknown_role as the bulk API
// does: an organization's own role is good in that organization only, and
// a role the file defines exists for the real run (which defines it
// first) but not for the dry run (which defines nothing).
func TestCompatChecksRoles(t *testing.T) {
	t.Parallel()
	servertest.Each(t, servertest.Options{}, func(t *testing.T, in *servertest.Instance) {
		runImport(t, in, `{"type": "organization", "external_id": "org_a", "display_name": "A", "roles": [{"name": "a_only", "display_name": "A only"}]}
{"type": "organization", "external_id": "org_b", "display_name": "B"}
`, false, false)
		export := `{"type": "role", "name": "defined_here", "display_name": "Defined here"}
{"type": "organization", "external_id": "org_c", "display_name": "C"}
{"type": "user", "email": "x@example.com", "external_id": "x", "memberships": [{"organization_external_id": "org_b", "roles": ["a_only"]}]}
{"type": "user", "email": "y@example.com", "external_id": "y", "memberships": [{"organization_external_id": "org_a", "roles": ["a_only"]}]}
{"type": "user", "email": "z@example.com", "external_id": "z", "memberships": [{"organization_external_id": "org_c", "roles": ["defined_here"]}]}
{"type": "user", "email": "w@example.com", "external_id": "w", "memberships": [{"organization_external_id": "org_a"}, {"organization_external_id": "org_b", "roles": ["member", "nope"]}]}
`
		dry := runImport(t, in, export, true, true)
		if got, want := failed(dry), []string{"w memberships[1].roles unknown_role", "x memberships[0].roles unknown_role",
			"z memberships[0].roles unknown_role"}; !slices.Equal(got, want) {
			t.Errorf("dry run failures %q, want %q", got, want)
		}
		if dry.Users != (importer.Counts{Created: 1, Failed: 3}) {
			t.Errorf("dry run users %+v", dry.Users)
		}
		real := runImport(t, in, export, true, false)
		if got, want := failed(real), []string{"w memberships[1].roles unknown_role", "x memberships[0].roles unknown_role"}; !slices.Equal(got, want) {
			t.Errorf("run failures %q, want %q", got, want)
		}
		if real.Users != (importer.Counts{Created: 2, Failed: 2}) || real.EmailsVerified != 2 {
			t.Errorf("run users %+v, emails verified %d (want 2: neither row says)", real.Users, real.EmailsVerified)
		}
		for _, f := range real.Failures {
			if f.ExternalID == "w" && !strings.Contains(f.Reason, `role "nope" does not exist`) {
				t.Errorf("w's reason %q does not name the unknown role", f.Reason)
			}
		}
	})
}

// TestCompatWritesWholeProfile: --compat sends every profile field the
// Scalekit CreateUser and UpdateUser messages carry, creates and updates
// them on a live server, and a second run changes nothing.
func TestCompatWritesWholeProfile(t *testing.T) {
	t.Parallel()
	servertest.Each(t, servertest.Options{}, func(t *testing.T, in *servertest.Instance) {
		line := `{"type": "organization", "external_id": "org_p", "display_name": "P"}
{"type": "user", "email": "p@example.com", "external_id": "p", "first_name": "Pat", "locale": "en-GB", ` +
			`"phone_number": "+441234567890", "preferred_username": "pat", "picture": "https://cdn.example.com/p.png", "gender": "other", ` +
			`"groups": ["eng", "ops"], "profile_metadata": {"team": "core"}, "custom_attributes": {"badge": "9"}, ` +
			`"memberships": [{"organization_external_id": "org_p", "roles": ["member"]}]}
`
		profile := func() map[string]any {
			status, out := in.Do(t, in.Token(t), "GET", "/api/v1/users?page_size=10", "")
			if status != 200 {
				t.Fatalf("list users: %d %v", status, out)
			}
			return out["users"].([]any)[0].(map[string]any)["user_profile"].(map[string]any)
		}
		check := func(what string, want map[string]string) {
			t.Helper()
			p := profile()
			for k, v := range want {
				if got := fmt.Sprint(p[k]); got != v {
					t.Errorf("%s: %s = %q, want %q", what, k, got, v)
				}
			}
		}
		created := runImport(t, in, line, true, false)
		if created.Users != (importer.Counts{Created: 1}) {
			t.Fatalf("first run users %+v (failures %v)", created.Users, created.Failures)
		}
		want := map[string]string{"phone_number": "+441234567890", "preferred_username": "pat", "picture": "https://cdn.example.com/p.png",
			"gender": "other", "groups": "[eng ops]", "metadata": "map[team:core]", "custom_attributes": "map[badge:9]", "locale": "en-GB", "first_name": "Pat"}
		check("created", want)

		changed := strings.NewReplacer(`"+441234567890"`, `"+449999999999"`, `"pat"`, `"patty"`, `p.png`, `q.png`, `"other"`, `"female"`,
			`["eng", "ops"]`, `["eng"]`, `"core"`, `"edge"`, `"9"`, `"10"`).Replace(line)
		upd := runImport(t, in, changed, true, false)
		if upd.Users != (importer.Counts{Updated: 1}) {
			t.Fatalf("second run users %+v (failures %v)", upd.Users, upd.Failures)
		}
		check("updated", map[string]string{"phone_number": "+449999999999", "preferred_username": "patty", "picture": "https://cdn.example.com/q.png",
			"gender": "female", "groups": "[eng]", "metadata": "map[team:edge]", "custom_attributes": "map[badge:10]"})
		if again := runImport(t, in, changed, true, false); again.Users != (importer.Counts{Unchanged: 1}) {
			t.Errorf("third run users %+v, want unchanged", again.Users)
		}
	})
}
