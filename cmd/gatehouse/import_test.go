package main

import (
	"context"
	"crypto/md5"
	"crypto/pbkdf2"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/passwords"
	"github.com/gatehouse/gatehouse/internal/servertest"
	"github.com/gatehouse/gatehouse/internal/store"
)

// sourceUser is one user of the generated export, as the test expects to
// find them after the import.
type sourceUser struct {
	ext, email, first, password, hash string
	orgs                              map[string][]string // org external id -> roles
}

// generateExport writes a generic JSONL export of n users in 25
// organizations: each user in one or two organizations with roles, and a
// password hash of their own (PBKDF2 for most, an MD5 digest, which is
// stored wrapped in argon2id, for one in 300).
func generateExport(t *testing.T, path string, n int) []sourceUser {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	enc := json.NewEncoder(f)
	for o := range 25 {
		enc.Encode(map[string]any{"type": "organization", "external_id": fmt.Sprintf("org_%02d", o),
			"display_name": fmt.Sprintf("Org %02d", o), "metadata": map[string]string{"n": fmt.Sprint(o)}})
	}
	var users []sourceUser
	b64 := base64.RawStdEncoding
	for i := range n {
		u := sourceUser{ext: fmt.Sprintf("usr_%05d", i), email: fmt.Sprintf("user%05d@example.com", i),
			first: fmt.Sprintf("First%d", i), password: fmt.Sprintf("pw-%d", i), orgs: map[string][]string{}}
		if i%300 == 7 {
			sum := md5.Sum([]byte(u.password))
			u.hash = "$digest$alg=md5,enc=hex$" + hex.EncodeToString(sum[:])
		} else {
			salt := sha256.Sum256([]byte(u.ext))
			key, err := pbkdf2.Key(sha256.New, u.password, salt[:16], 1000, 32)
			if err != nil {
				t.Fatal(err)
			}
			u.hash = fmt.Sprintf("$pbkdf2-sha256$i=1000,l=32$%s$%s", b64.EncodeToString(salt[:16]), b64.EncodeToString(key))
		}
		var ms []any
		first := fmt.Sprintf("org_%02d", i%25)
		u.orgs[first] = []string{"member"}
		ms = append(ms, map[string]any{"organization_external_id": first, "roles": []string{"member"}})
		if i%3 == 0 {
			second := fmt.Sprintf("org_%02d", (i+7)%25)
			u.orgs[second] = []string{"admin", "member"}
			ms = append(ms, map[string]any{"organization_external_id": second, "roles": []string{"admin", "member"}})
		}
		enc.Encode(map[string]any{"type": "user", "external_id": u.ext, "email": u.email, "first_name": u.first,
			"email_verified": true, "password_hash": u.hash, "memberships": ms})
		users = append(users, u)
	}
	return users
}

// TestImportResumesAfterSIGKILL runs `gatehouse import` against a live
// server, kills it with SIGKILL at several points of the run (before any
// progress, after the organizations, in the middle of the users), starts
// it again each time, and checks that the last run ends with exactly the
// export's users: none missing, none twice, every membership, role and
// password hash present.
func TestImportResumesAfterSIGKILL(t *testing.T) {
	t.Parallel()
	in := servertest.Start(t, servertest.Options{})
	dir := t.TempDir()
	file := filepath.Join(dir, "export.jsonl")
	const n = 3000
	users := generateExport(t, file, n)
	args := []string{"import", "--from", "generic", file, "--server", in.URL, "--client-id", servertest.ClientID,
		"--client-secret", servertest.ClientSecret, "--batch-size", "40", "--concurrency", "4",
		"--state", filepath.Join(dir, "import.state"), "--report", filepath.Join(dir, "failures.csv")}

	// killAfter starts a run and SIGKILLs it once its stderr has lines
	// progress lines (0: as soon as it has started).
	killAfter := func(lines int) {
		t.Helper()
		p := start(t, dir, nil, args...)
		deadline := time.Now().Add(30 * time.Second)
		for strings.Count(p.stderr.String(), "\nimport: ")+boolInt(strings.HasPrefix(p.stderr.String(), "import: ")) < lines {
			if p.exited() {
				t.Fatalf("the import finished before %d progress lines; make the export bigger\n%s", lines, p.stderr.String())
			}
			if time.Now().After(deadline) {
				t.Fatalf("no %d progress lines within 30s:\n%s", lines, p.stderr.String())
			}
			time.Sleep(2 * time.Millisecond)
		}
		if err := p.cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		<-p.done
		t.Logf("killed after %d lines:\n%s", lines, p.stderr.String())
	}
	killAfter(0)
	killAfter(1)  // the organizations are written
	killAfter(8)  // in the users, or just resumed
	killAfter(30) // further on
	if _, err := os.Stat(filepath.Join(dir, "import.state")); err != nil {
		t.Fatalf("the killed runs left no state file: %v", err)
	}

	p := start(t, dir, nil, args...)
	if code := p.wait(t, 60*time.Second); code != 0 {
		t.Fatalf("the last run: exit %d\n%s\n%s", code, p.stdout.String(), p.stderr.String())
	}
	if !strings.Contains(p.stderr.String(), "already done by an earlier run") || !strings.Contains(p.stdout.String(), "Resumed: ") {
		t.Errorf("the last run did not resume:\n%s\n%s", p.stdout.String(), p.stderr.String())
	}
	checkImported(t, in, users)

	// Every row of the export is in place, so another run changes nothing.
	p = start(t, dir, nil, args...)
	if code := p.wait(t, 60*time.Second); code != 0 {
		t.Fatalf("the check run: exit %d\n%s", code, p.stderr.String())
	}
	if want := fmt.Sprintf("Users:         0 created, 0 updated, %d unchanged, 0 failed", n); !strings.Contains(p.stdout.String(), want) {
		t.Errorf("a run after the import: %q, want %q", p.stdout.String(), want)
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// checkImported compares the server's users with the export.
func checkImported(t *testing.T, in *servertest.Instance, want []sourceUser) {
	t.Helper()
	ctx := context.Background()
	db := in.Server.Store().DB()
	var count int
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM users`).Scan(&count); err != nil {
		t.Fatal(err)
	}
	if count != len(want) {
		t.Errorf("%d users stored, want exactly %d", count, len(want))
	}
	exts := make([]string, len(want))
	for i, u := range want {
		exts[i] = u.ext
	}
	env := in.Server.Accounts.EnvID
	stored := map[string]*store.User{}
	for start := 0; start < len(exts); start += 500 {
		us, err := in.Server.Store().Q().UsersForImport(ctx, env, exts[start:min(start+500, len(exts))], nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range us {
			stored[*u.ExternalID] = u
		}
	}
	var orgExts []string
	for o := range 25 {
		orgExts = append(orgExts, fmt.Sprintf("org_%02d", o))
	}
	orgs, err := in.Server.Store().Q().OrganizationsByExternalIDs(ctx, env, orgExts)
	if err != nil {
		t.Fatal(err)
	}
	extOf := map[string]string{}
	for ext, o := range orgs {
		extOf[o.ID] = ext
	}
	hashes := map[string]string{}
	rows, err := db.QueryContext(ctx, `SELECT user_id, hash FROM user_passwords`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id, h string
		rows.Scan(&id, &h)
		hashes[id] = h
	}
	rows.Close()
	bad := 0
	for _, w := range want {
		u := stored[w.ext]
		if u == nil {
			t.Errorf("user %s is missing", w.ext)
			bad++
			continue
		}
		got := map[string][]string{}
		for _, m := range u.Memberships {
			var names []string
			for _, r := range m.Roles {
				names = append(names, r.Name)
			}
			slices.Sort(names)
			got[extOf[m.OrgID]] = names
		}
		problems := []string{}
		if u.Email != w.email || u.GivenName != w.first || !u.EmailVerified {
			problems = append(problems, fmt.Sprintf("fields %q %q %v", u.Email, u.GivenName, u.EmailVerified))
		}
		if len(got) != len(w.orgs) {
			problems = append(problems, fmt.Sprintf("memberships %v, want %v", got, w.orgs))
		}
		for org, roles := range w.orgs {
			if !slices.Equal(got[org], roles) {
				problems = append(problems, fmt.Sprintf("roles in %s %v, want %v", org, got[org], roles))
			}
		}
		h := hashes[u.ID]
		switch {
		case strings.HasPrefix(w.hash, "$digest$"):
			if ok, _, _ := passwords.Verify(h, w.password); !ok || !strings.HasPrefix(h, "$digest-argon2id$") {
				problems = append(problems, "the wrapped digest is missing or does not verify")
			}
		case h != w.hash:
			problems = append(problems, fmt.Sprintf("hash %q, want %q", h, w.hash))
		}
		if len(problems) > 0 {
			if bad++; bad <= 10 {
				t.Errorf("user %s: %s", w.ext, strings.Join(problems, "; "))
			}
		}
	}
	if bad > 0 {
		t.Errorf("%d of %d users differ from the export", bad, len(want))
	}
	// Spot-check that the stored PBKDF2 hashes verify, not only match.
	for _, i := range []int{0, 1, len(want) - 1} {
		if ok, _, _ := passwords.Verify(hashes[stored[want[i].ext].ID], want[i].password); !ok {
			t.Errorf("user %s: the stored hash does not verify the password", want[i].ext)
		}
	}
}
