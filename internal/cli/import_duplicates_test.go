package cli_test

// `gatehouse import` with a user's external_id repeated in the file.

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/accounts"
	"github.com/gatehouse/gatehouse/internal/servertest"
)

// TestImportDuplicateExternalID: two users of the file with the same
// external_id and different emails: the second is rejected as
// duplicate_in_file on external_id, naming the first row, in the dry run
// and the real run, in bulk and in --compat mode; the first is written.
func TestImportDuplicateExternalID(t *testing.T) {
	t.Parallel()
	servertest.Each(t, servertest.Options{}, func(t *testing.T, in *servertest.Instance) {
		dir := t.TempDir()
		file := filepath.Join(dir, "export.jsonl")
		os.WriteFile(file, []byte(`{"type": "organization", "external_id": "org_dup", "display_name": "Dup"}
{"type": "user", "email": "first@example.com", "external_id": "usr_same", "memberships": [{"organization_external_id": "org_dup"}]}
{"type": "user", "email": "second@example.com", "external_id": "usr_same", "memberships": [{"organization_external_id": "org_dup"}]}
`), 0o600)
		for _, c := range []struct {
			what        string
			args        []string
			orgs, users [4]int // created, updated, unchanged, failed
		}{
			{"dry run", []string{"--dry-run"}, [4]int{1, 0, 0, 0}, [4]int{1, 0, 0, 1}},
			{"compat dry run", []string{"--dry-run", "--compat"}, [4]int{1, 0, 0, 0}, [4]int{1, 0, 0, 1}},
			{"run", nil, [4]int{1, 0, 0, 0}, [4]int{1, 0, 0, 1}},
			{"compat run", []string{"--compat"}, [4]int{0, 0, 1, 0}, [4]int{0, 0, 1, 1}},
		} {
			if c.what == "run" {
				if _, err := in.Server.Accounts.GetUser(context.Background(), accounts.Ref{ExternalID: "usr_same"}); err == nil {
					t.Fatal("a dry run wrote usr_same")
				}
			}
			code, out, errOut := importRun(t, in, dir, append(append([]string{"--from", "generic"}, c.args...), file)...)
			if code == 0 || !strings.Contains(errOut, "1 rows failed") {
				t.Errorf("%s: exit %d, stderr %q", c.what, code, errOut)
			}
			wantSummary(t, c.what, out, c.orgs, c.users)
			rows := readReport(t, filepath.Join(dir, "report.csv"))
			want := []string{"user", "export.jsonl:3", "usr_same", "second@example.com", "external_id", "duplicate_in_file"}
			if len(rows) != 2 || !slices.Equal(rows[1][:6], want) || !strings.Contains(rows[1][6], "export.jsonl:2") {
				t.Errorf("%s: report %v, want %v naming export.jsonl:2", c.what, rows, want)
			}
		}
		if u := userByExt(t, in, "usr_same"); u.Email != "first@example.com" {
			t.Errorf("usr_same has email %s, want the first row's", u.Email)
		}
		var n int
		if err := in.Server.Store().DB().QueryRowContext(context.Background(),
			`SELECT count(*) FROM users WHERE email_norm = $1`, "second@example.com").Scan(&n); err != nil || n != 0 {
			t.Errorf("the rejected row's user: %d stored (%v)", n, err)
		}
	})
}
