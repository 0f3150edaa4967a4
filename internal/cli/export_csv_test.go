package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/servertest"
)

// The generic CSV carries the whole profile, as the generic JSONL does:
// imported from CSV on a real server, it comes back in the export (and a
// second row of the same user may repeat it, or leave it empty).
func TestGenericCSVProfileColumns(t *testing.T) {
	t.Parallel()
	servertest.Each(t, servertest.Options{}, func(t *testing.T, in *servertest.Instance) {
		dir := t.TempDir()
		csv := `email,external_id,name,locale,phone_number,preferred_username,picture,gender,groups,profile_metadata,custom_attributes,organization_external_id,organization_display_name,roles
kim@example.com,u1,Kim Park,ko-KR,+821012345678,kpark,https://cdn.example.com/kim.png,female,eng; ops,"{""team"":""core""}","{""badge"":""7""}",org_1,First Org,member
kim@example.com,u1,,,,,,,,,,org_2,Second Org,member
lee@example.com,u2,,,,,,,,,,org_1,,
`
		file := filepath.Join(dir, "users.csv")
		if err := os.WriteFile(file, []byte(csv), 0o600); err != nil {
			t.Fatal(err)
		}
		if code, out, errOut := importRun(t, in, dir, "--from", "generic", file); code != 0 {
			t.Fatalf("import: exit %d\n%s\n%s", code, out, errOut)
		}
		got := exportTo(t, in, filepath.Join(dir, "out.jsonl"))
		want := `"phone_number":"+821012345678","preferred_username":"kpark","picture":"https://cdn.example.com/kim.png","gender":"female","groups":["eng","ops"],"profile_metadata":{"team":"core"},"custom_attributes":{"badge":"7"}}`
		if !strings.Contains(got, `{"type":"user","email":"kim@example.com","external_id":"u1","name":"Kim Park","locale":"ko-KR"`) ||
			!strings.Contains(got, want) {
			t.Errorf("the export lacks Kim's profile from the CSV (%s):\n%s", want, got)
		}
		// The same file again changes nothing.
		_, out, _ := importRun(t, in, dir, "--from", "generic", file)
		wantSummary(t, "second CSV import", out, [4]int{0, 0, 2, 0}, [4]int{0, 0, 2, 0})
	})
}
