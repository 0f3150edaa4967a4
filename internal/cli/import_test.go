package cli_test

// `gatehouse import` end to end, in process, against real servers: a dry
// run, a real run with a failed row and its report, an idempotent second
// run, an update, 429 back-off, and --compat over the Scalekit API.

import (
	"context"
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/accounts"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/passwords"
	"github.com/gatehouse/gatehouse/internal/servertest"
	"github.com/gatehouse/gatehouse/internal/store"
)

const exportJSONL = `{"type": "organization", "external_id": "org_123", "display_name": "Megasoft Inc", "metadata": {"plan": "enterprise"}}
{"type": "organization", "external_id": "org_456", "display_name": "Acme Corp"}
{"type": "user", "email": "john@example.com", "first_name": "John", "last_name": "Doe", "external_id": "usr_987", "password_hash": "$2y$10$.vGA1O9wmRjrwAVXD98HNOgsNpDczlqm3Jq7KnEd1rVAGv3Fykk1a", "memberships": [{"organization_external_id": "org_123", "roles": ["admin"]}, {"organization_external_id": "org_456"}]}
{"type": "user", "email": "jane@example.com", "external_id": "usr_988", "custom_password_hash": {"algorithm": "md5", "hash": {"value": "5f4dcc3b5aa765d61d8327deb882cf99", "encoding": "hex"}}, "memberships": [{"organization_external_id": "org_456", "roles": ["member"]}]}
{"type": "user", "email": "ghost@example.com", "external_id": "usr_989", "memberships": [{"organization_external_id": "org_nowhere"}]}
`

// importRun runs gatehouse import with the state and report in dir.
func importRun(t *testing.T, in *servertest.Instance, dir string, args ...string) (int, string, string) {
	t.Helper()
	full := append([]string{"import", "--state", filepath.Join(dir, "state"), "--report", filepath.Join(dir, "report.csv")}, args...)
	return run(t, append(full, against(in)...)...)
}

var countsLine = regexp.MustCompile(`(?m)^(Organizations|Users):\s+(\d+) created, (\d+) updated, (\d+) unchanged, (\d+) failed$`)

// summary reads the counts lines of stdout: "Users" -> [created, updated,
// unchanged, failed].
func summary(t *testing.T, out string) map[string][4]int {
	t.Helper()
	got := map[string][4]int{}
	for _, m := range countsLine.FindAllStringSubmatch(out, -1) {
		var c [4]int
		for i := range c {
			fmt.Sscan(m[i+2], &c[i])
		}
		got[m[1]] = c
	}
	if len(got) != 2 {
		t.Fatalf("no summary in %q", out)
	}
	return got
}

func wantSummary(t *testing.T, what, out string, orgs, users [4]int) {
	t.Helper()
	s := summary(t, out)
	if s["Organizations"] != orgs || s["Users"] != users {
		t.Errorf("%s: organizations %v (want %v), users %v (want %v)\n%s", what, s["Organizations"], orgs, s["Users"], users, out)
	}
}

func userByExt(t *testing.T, in *servertest.Instance, ext string) *store.User {
	t.Helper()
	u, err := in.Server.Accounts.GetUser(context.Background(), accounts.Ref{ExternalID: ext})
	if err != nil {
		t.Fatalf("user %s: %v", ext, err)
	}
	return u
}

func storedHash(t *testing.T, in *servertest.Instance, userID string) string {
	t.Helper()
	var h string
	if err := in.Server.Store().DB().QueryRowContext(context.Background(),
		`SELECT hash FROM user_passwords WHERE user_id = $1`, userID).Scan(&h); err != nil {
		t.Fatalf("password of %s: %v", userID, err)
	}
	return h
}

func TestImportCommand(t *testing.T) {
	t.Parallel()
	servertest.Each(t, servertest.Options{}, func(t *testing.T, in *servertest.Instance) {
		dir := t.TempDir()
		file := filepath.Join(dir, "export.jsonl")
		os.WriteFile(file, []byte(exportJSONL), 0o600)

		code, out, errOut := importRun(t, in, dir, "--from", "generic", "--dry-run", file)
		if code == 0 || !strings.Contains(errOut, "1 rows failed") {
			t.Errorf("dry run with a bad row: exit %d, stderr %q", code, errOut)
		}
		if !strings.HasPrefix(out, "Dry run: nothing was written.") {
			t.Errorf("dry run summary: %q", out)
		}
		wantSummary(t, "dry run", out, [4]int{2, 0, 0, 0}, [4]int{2, 0, 0, 1})
		if _, err := in.Server.Accounts.GetOrganization(context.Background(), accounts.Ref{ExternalID: "org_123"}); err == nil {
			t.Error("the dry run created an organization")
		}
		if _, err := os.Stat(filepath.Join(dir, "state")); err == nil {
			t.Error("the dry run left a state file")
		}

		code, out, errOut = importRun(t, in, dir, "--from", "generic", file)
		if code == 0 {
			t.Errorf("a run with a failed row exited 0")
		}
		wantSummary(t, "first run", out, [4]int{2, 0, 0, 0}, [4]int{2, 0, 0, 1})
		if !strings.Contains(errOut, "import: users 3/3 (100%)") {
			t.Errorf("no progress lines on stderr: %q", errOut)
		}
		if _, err := os.Stat(filepath.Join(dir, "state")); err == nil {
			t.Error("a finished run left its state file")
		}
		rows := readReport(t, filepath.Join(dir, "report.csv"))
		if len(rows) != 2 || !slices.Equal(rows[1][:6], []string{"user", "export.jsonl:5", "usr_989", "ghost@example.com",
			"memberships[0].organization_external_id", "unknown_organization"}) {
			t.Errorf("report: %v", rows)
		}
		john := userByExt(t, in, "usr_987")
		if len(john.Memberships) != 2 || john.GivenName != "John" {
			t.Errorf("john: %+v", john)
		}
		if ok, _, _ := passwords.Verify(storedHash(t, in, john.ID), "rasmuslerdorf"); !ok {
			t.Error("john's bcrypt hash does not verify")
		}
		jane := userByExt(t, in, "usr_988")
		if h := storedHash(t, in, jane.ID); !strings.HasPrefix(h, "$digest-argon2id$") {
			t.Errorf("jane's custom MD5 hash stored as %.20s", h)
		} else if ok, _, _ := passwords.Verify(h, "password"); !ok {
			t.Error("jane's hash does not verify")
		}

		_, out, _ = importRun(t, in, dir, "--from", "generic", file)
		wantSummary(t, "second run", out, [4]int{0, 0, 2, 0}, [4]int{0, 0, 2, 1})

		changed := strings.Replace(exportJSONL, `"last_name": "Doe"`, `"last_name": "Dough"`, 1)
		changed = strings.Replace(changed, `{"type": "user", "email": "ghost@example.com", "external_id": "usr_989", "memberships": [{"organization_external_id": "org_nowhere"}]}`+"\n", "", 1)
		os.WriteFile(file, []byte(changed), 0o600)
		code, out, errOut = importRun(t, in, dir, "--from", "generic", "--batch-size", "1", "--concurrency", "2", file)
		if code != 0 {
			t.Errorf("a clean run: exit %d, %s", code, errOut)
		}
		wantSummary(t, "changed row", out, [4]int{0, 0, 2, 0}, [4]int{0, 1, 1, 0})
		if u := userByExt(t, in, "usr_987"); u.FamilyName != "Dough" {
			t.Errorf("john's last name after the update: %q", u.FamilyName)
		}
	})
}

func readReport(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// TestImportBacksOffOn429: a server allowing 2 calls a second answers the
// importer's many small batches with 429 and Retry-After; the run waits
// and finishes with every user.
func TestImportBacksOffOn429(t *testing.T) {
	t.Parallel()
	in := servertest.Start(t, servertest.Options{Configure: func(c *config.Config) { c.APIRateLimit, c.APIRateBurst = 4, 4 }})
	dir := t.TempDir()
	var b strings.Builder
	b.WriteString(`{"type": "organization", "external_id": "o", "display_name": "O"}` + "\n")
	for i := range 12 {
		fmt.Fprintf(&b, `{"type": "user", "email": "r%d@example.com", "memberships": [{"organization_external_id": "o"}]}`+"\n", i)
	}
	file := filepath.Join(dir, "export.jsonl")
	os.WriteFile(file, []byte(b.String()), 0o600)
	code, out, errOut := importRun(t, in, dir, "--from", "generic", "--batch-size", "1", "--concurrency", "4", file)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	wantSummary(t, "rate-limited run", out, [4]int{1, 0, 0, 0}, [4]int{12, 0, 0, 0})
	if !strings.Contains(errOut, "rate limited by the server; waiting 1s (Retry-After)") {
		t.Errorf("no back-off notice on stderr: %q", errOut)
	}
}

// TestImportCompat: --compat writes through scalekit.v1 calls only (one
// user per call) and says that password hashes did not go across.
func TestImportCompat(t *testing.T) {
	t.Parallel()
	servertest.Each(t, servertest.Options{}, func(t *testing.T, in *servertest.Instance) {
		dir := t.TempDir()
		file := filepath.Join(dir, "export.jsonl")
		os.WriteFile(file, []byte(exportJSONL), 0o600)
		_, out, _ := importRun(t, in, dir, "--from", "generic", "--compat", "--dry-run", file)
		wantSummary(t, "compat dry run", out, [4]int{2, 0, 0, 0}, [4]int{2, 0, 0, 1})
		if _, err := in.Server.Accounts.GetOrganization(context.Background(), accounts.Ref{ExternalID: "org_123"}); err == nil {
			t.Error("the compat dry run created an organization")
		}

		code, out, _ := importRun(t, in, dir, "--from", "generic", "--compat", file)
		if code == 0 {
			t.Error("a compat run with a failed row exited 0")
		}
		wantSummary(t, "compat run", out, [4]int{2, 0, 0, 0}, [4]int{2, 0, 0, 1})
		if !strings.Contains(out, "Password hashes: 2 not imported") {
			t.Errorf("the summary does not say the hashes were left out: %q", out)
		}
		john := userByExt(t, in, "usr_987")
		var roles []string
		for _, m := range john.Memberships {
			for _, r := range m.Roles {
				roles = append(roles, m.OrgName+":"+r.Name)
			}
		}
		slices.Sort(roles)
		if !slices.Equal(roles, []string{"Acme Corp:member", "Megasoft Inc:admin"}) || john.FamilyName != "Doe" {
			t.Errorf("john after --compat: roles %v, %+v", roles, john)
		}
		if _, err := in.Server.Store().Q().PasswordHash(context.Background(), john.EnvID, john.ID); err == nil {
			t.Error("--compat stored a password hash")
		}
		_, out, _ = importRun(t, in, dir, "--from", "generic", "--compat", file)
		wantSummary(t, "compat again", out, [4]int{0, 0, 2, 0}, [4]int{0, 0, 2, 1})

		// The bulk import finds what --compat wrote and adds the hashes.
		_, out, _ = importRun(t, in, dir, "--from", "generic", file)
		wantSummary(t, "bulk after compat", out, [4]int{0, 0, 2, 0}, [4]int{0, 2, 0, 1})
	})
}

// TestImportVendorExports: vendor exports (the importer's fixtures) go
// all the way into a server: organizations, memberships with roles, and
// password hashes that verify.
func TestImportVendorExports(t *testing.T) {
	t.Parallel()
	in := servertest.Start(t, servertest.Options{})
	fixtures := "../importer/testdata/"
	for _, c := range []struct {
		format string
		files  []string
		extra  []string
		ext    string // a user to check
		orgExt string // one of their organizations, "" for none
		role   string
		pw     string
	}{
		{"auth0", []string{"auth0/users-export.json", "auth0/password-hashes.json", "auth0/bulk-import.json", "auth0/organizations.json"}, nil,
			"auth0|64f1a2b3c4d5e6f708192a3b", "Analytical Engines Ltd", "admin", "rasmuslerdorf"},
		{"keycloak", []string{"keycloak/realm-export.json"}, nil, "1b7c9a2e-1111-4000-8000-000000000001", "Wonderland Inc", "admin", "password"},
		{"firebase", []string{"firebase/users.json"}, []string{"--hash-key", "jxspr8Ki0RYycVU8zykbdLGjFQ3McFUH0uiiTvC8pVMXAn210wjLNmdZJzxUECKbm0QsEmYUSDzZvpjeJ9WmXA==",
			"--salt-separator", "Bw==", "--rounds", "8", "--mem-cost", "14"}, "Ky5ZmGvqgXQmNt3oPvVHq3OqN1D3", "", "", "user1password"},
		{"clerk", []string{"clerk/users.csv"}, nil, "user_2aBcD3", "", "", "password"},
		{"supabase", []string{"supabase/users.csv"}, nil, "7d4b1f7e-3c1a-4d2e-9f6b-1a2b3c4d5e6f", "", "", "rasmuslerdorf"},
		{"cognito", []string{"cognito/users.csv"}, nil, "3f2a1b4c-5d6e-4f70-8192-a3b4c5d6e7f8", "", "", ""},
	} {
		t.Run(c.format, func(t *testing.T) {
			dir := t.TempDir()
			args := []string{"--from", c.format}
			for _, f := range c.files {
				args = append(args, fixtures+f)
			}
			code, out, errOut := importRun(t, in, dir, append(args, c.extra...)...)
			if code != 0 && !strings.Contains(errOut, "rows failed") {
				t.Fatalf("exit %d: %s\n%s", code, errOut, out)
			}
			u := userByExt(t, in, c.ext)
			if c.orgExt != "" {
				var roles []string
				for _, m := range u.Memberships {
					if m.OrgName == c.orgExt {
						for _, r := range m.Roles {
							roles = append(roles, r.Name)
						}
					}
				}
				if !slices.Contains(roles, c.role) {
					t.Errorf("%s in %s: roles %v, want %s", c.ext, c.orgExt, roles, c.role)
				}
			}
			if c.pw != "" {
				if ok, _, err := passwords.Verify(storedHash(t, in, u.ID), c.pw); !ok {
					t.Errorf("%s's stored hash does not verify: %v", c.ext, err)
				}
			}
			_, again, _ := importRun(t, in, dir, append(args, c.extra...)...)
			if s := summary(t, again); s["Users"][0] != 0 || s["Users"][1] != 0 || s["Organizations"][0] != 0 {
				t.Errorf("a second import changed something: %v\n%s", s, again)
			}
		})
	}
}
