package cli_test

// `gatehouse import --mapping`: organizations and memberships for sources
// without organizations of their own, through the real command into real
// servers on SQLite and PostgreSQL.

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/accounts"
	"github.com/gatehouse/gatehouse/internal/servertest"
)

// orgRoles lists a stored user's memberships as "Org name:role+role",
// sorted.
func orgRoles(t *testing.T, in *servertest.Instance, ext string) []string {
	t.Helper()
	var out []string
	for _, m := range userByExt(t, in, ext).Memberships {
		var roles []string
		for _, r := range m.Roles {
			roles = append(roles, r.Name)
		}
		slices.Sort(roles)
		out = append(out, m.OrgName+":"+strings.Join(roles, "+"))
	}
	slices.Sort(out)
	return out
}

func TestImportMapping(t *testing.T) {
	t.Parallel()
	fixtures := "../importer/testdata/"
	firebaseParams := []string{"--hash-key", "jxspr8Ki0RYycVU8zykbdLGjFQ3McFUH0uiiTvC8pVMXAn210wjLNmdZJzxUECKbm0QsEmYUSDzZvpjeJ9WmXA==",
		"--salt-separator", "Bw==", "--rounds", "8", "--mem-cost", "14"}
	servertest.Each(t, servertest.Options{}, func(t *testing.T, in *servertest.Instance) {
		dir := t.TempDir()

		// Cognito: three organizations from the mapping, Carla in two by
		// her sub, Dan in one by his domain. Eve's row is bad in the export
		// itself (email_verified "maybe"), so the run exits non-zero.
		cognito := []string{"--from", "cognito", "--mapping", fixtures + "mapping/cognito.csv", fixtures + "cognito/users.csv"}
		_, out, _ := importRun(t, in, dir, append([]string{"--dry-run"}, cognito...)...)
		wantSummary(t, "cognito dry run", out, [4]int{3, 0, 0, 0}, [4]int{2, 0, 0, 1})
		if _, err := in.Server.Accounts.GetOrganization(context.Background(), accounts.Ref{ExternalID: "acme"}); err == nil {
			t.Error("the dry run created an organization")
		}
		code, out, errOut := importRun(t, in, dir, cognito...)
		if code == 0 || !strings.Contains(errOut, "1 rows failed") {
			t.Errorf("cognito: exit %d, %s", code, errOut)
		}
		wantSummary(t, "cognito", out, [4]int{3, 0, 0, 0}, [4]int{2, 0, 0, 1})
		for _, n := range []string{"Note: Mapping cognito.csv: 2 users given 3 memberships.",
			"Note: Mapping cognito.csv: 1 rows match no user in the export: cognito.csv:8 (@nowhere.example)."} {
			if !strings.Contains(out, n) {
				t.Errorf("summary lacks %q:\n%s", n, out)
			}
		}
		if strings.Contains(out, "Cognito has no organizations") {
			t.Errorf("the summary still says Cognito users arrive without organizations:\n%s", out)
		}
		if got := orgRoles(t, in, "3f2a1b4c-5d6e-4f70-8192-a3b4c5d6e7f8"); !slices.Equal(got, []string{"Acme Corp:admin", "Example Inc:member"}) {
			t.Errorf("carla: %v", got)
		}
		if got := orgRoles(t, in, "dan@example.com"); !slices.Equal(got, []string{"Example Inc:member"}) {
			t.Errorf("dan (domain row, default role): %v", got)
		}
		if o, err := in.Server.Accounts.GetOrganization(context.Background(), accounts.Ref{ExternalID: "ghost"}); err != nil || o.DisplayName != "Ghost Ltd" {
			t.Errorf("the organization only the mapping names: %+v, %v", o, err)
		}
		_, out, _ = importRun(t, in, dir, cognito...)
		wantSummary(t, "cognito again", out, [4]int{0, 0, 3, 0}, [4]int{0, 0, 2, 1})

		// Cognito's own export, the JSON of aws cognito-idp list-users:
		// both users are at example.com.
		code, out, errOut = importRun(t, in, dir, "--from", "cognito", "--mapping", fixtures+"mapping/cognito.csv", fixtures+"cognito/list-users.json")
		if code != 0 {
			t.Errorf("list-users: exit %d, %s", code, errOut)
		}
		wantSummary(t, "list-users", out, [4]int{0, 0, 3, 0}, [4]int{2, 0, 0, 0})
		if got := orgRoles(t, in, "5b4c3d2e-7f60-4192-a3b4-c5d6e7f8091a"); !slices.Equal(got, []string{"Example Inc:member"}) {
			t.Errorf("frank: %v", got)
		}

		// Firebase: user1 by email, in another case, joins a stored
		// organization; the social user matches nothing and is said so.
		firebase := append([]string{"--from", "firebase", "--mapping", fixtures + "mapping/firebase.csv", fixtures + "firebase/users.json"}, firebaseParams...)
		_, out, _ = importRun(t, in, dir, firebase...)
		wantSummary(t, "firebase", out, [4]int{0, 0, 1, 0}, [4]int{2, 0, 0, 1})
		if !strings.Contains(out, "Note: Mapping firebase.csv: 1 users match no row and are imported without an organization: social@example.com (users.json users[1]).") {
			t.Errorf("summary does not name the unmatched user:\n%s", out)
		}
		if got := orgRoles(t, in, "Ky5ZmGvqgXQmNt3oPvVHq3OqN1D3"); !slices.Equal(got, []string{"Acme Corp:admin+member"}) {
			t.Errorf("user1: %v", got)
		}
		if got := orgRoles(t, in, "b3Ft0sK2aVbQvLzQ8vD9mQ2xY1s2"); len(got) != 0 {
			t.Errorf("the unmatched user has memberships: %v", got)
		}

		// A malformed mapping stops the run before anything is written,
		// naming each bad row.
		code, _, errOut = importRun(t, in, dir, "--from", "supabase", "--mapping", fixtures+"mapping/bad-rows.csv", fixtures+"supabase/users.csv")
		if code == 0 || !strings.Contains(errOut, "bad-rows.csv:3: match: required") || !strings.Contains(errOut, "bad-rows.csv:8: line: columns") {
			t.Errorf("malformed mapping: exit %d, stderr %q", code, errOut)
		}
		if _, err := in.Server.Accounts.GetUser(context.Background(), accounts.Ref{ExternalID: "7d4b1f7e-3c1a-4d2e-9f6b-1a2b3c4d5e6f"}); err == nil {
			t.Error("a run with a malformed mapping imported users")
		}
	})
}
