package cli

import (
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/importer"
)

// importDocs are the guides whose `gatehouse import` commands are checked.
func importDocs(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("../../docs/migrate-from/*.md")
	if err != nil || len(files) < 8 {
		t.Fatalf("the per-source guides: %v, %v", files, err)
	}
	return append(files, "../../docs/cutover.md")
}

// importCommands returns every `gatehouse import ...` command line of a
// Markdown file, continuation lines joined, cut at the end of inline code
// or at a shell comment.
func importCommands(text string) []string {
	text = strings.ReplaceAll(text, "\\\n", " ")
	var out []string
	for _, line := range strings.Split(text, "\n") {
		for {
			i := strings.Index(line, "gatehouse import ")
			if i < 0 {
				break
			}
			cmd := line[i:]
			line = cmd[len("gatehouse import "):]
			if j := strings.IndexByte(cmd, '`'); j >= 0 {
				cmd = cmd[:j]
			}
			if j := strings.Index(cmd, " #"); j >= 0 {
				cmd = cmd[:j]
			}
			out = append(out, cmd)
		}
	}
	return out
}

// checkImportCommand parses a documented command line with the import
// command's own flag set: every flag must exist and take the value given,
// and --from must name a format.
func checkImportCommand(line string) error {
	var args []string
	for _, f := range strings.Fields(line)[2:] {
		args = append(args, strings.Trim(f, `'"`))
	}
	cmd := newImportCmd(io.Discard, io.Discard)
	if err := cmd.ParseFlags(args); err != nil {
		return err
	}
	from, _ := cmd.Flags().GetString("from")
	if !slices.Contains(importer.Formats(), from) {
		return &docError{"--from " + from + " is not a format"}
	}
	return nil
}

type docError struct{ s string }

func (e *docError) Error() string { return e.s }

// TestImportDocsUseRealFlags keeps the guides honest: each documented
// `gatehouse import` line parses with the real command's flags, and each
// guide shows at least one.
func TestImportDocsUseRealFlags(t *testing.T) {
	for _, file := range importDocs(t) {
		raw, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		cmds := importCommands(string(raw))
		if len(cmds) == 0 {
			t.Errorf("%s shows no gatehouse import command", file)
		}
		for _, c := range cmds {
			if err := checkImportCommand(c); err != nil {
				t.Errorf("%s: %q: %v", filepath.Base(file), c, err)
			}
		}
	}
}

// TestImportDocsCheckFails: the check refuses what it must, so the test
// above cannot pass by accident.
func TestImportDocsCheckFails(t *testing.T) {
	cmds := importCommands("```sh\ngatehouse import --from cognito users.json \\\n  --maping map.csv\n```\nor `gatehouse import --from okta users.json` # no\n")
	if len(cmds) != 2 || !strings.Contains(cmds[0], "--maping map.csv") {
		t.Fatalf("extracted %q", cmds)
	}
	if err := checkImportCommand(cmds[0]); err == nil || !strings.Contains(err.Error(), "maping") {
		t.Errorf("a misspelt flag: %v", err)
	}
	if err := checkImportCommand(cmds[1]); err == nil || !strings.Contains(err.Error(), "okta") {
		t.Errorf("an unknown format: %v", err)
	}
	if err := checkImportCommand("gatehouse import --from firebase users.json --rounds eight"); err == nil {
		t.Error("a bad flag value passed")
	}
	if err := checkImportCommand("gatehouse import --from firebase users.json --rounds 8 --mapping m.csv --dry-run --server http://x"); err != nil {
		t.Errorf("a good line: %v", err)
	}
}
