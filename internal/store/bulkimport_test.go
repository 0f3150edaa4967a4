package store_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/id"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/testdb"
)

// TestBulkImportWritesAndLookups: the bulk import's multi-row writes and
// one-query lookups on both databases, with more rows than one statement
// takes (1,300: SQLite writes 1024 + 256 + 16 + 4 rows, PostgreSQL one
// statement of column arrays), NULLs in the nullable columns, every row
// read back as written, and a unique constraint reported as a conflict.
func TestBulkImportWritesAndLookups(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dsn string) {
		f := open(t, dsn)
		e := f.env(t)
		org := f.org(t, e.ID, "Acme", ptr("acme"))
		viewer := f.role(t, e.ID, "", "viewer")
		own := f.role(t, e.ID, org.ID, "owner")
		const n = 1300
		users := make([]*store.User, n)
		norms, exts, ids := make([]string, n), []string{}, make([]string, n)
		var ms []*store.Membership
		var hashes []store.PasswordHashRow
		var imports []store.UserImport
		var events []*store.Event
		for i := range users {
			u := &store.User{ID: f.ids.New(id.User), EnvID: e.ID, Email: fmt.Sprintf("User%d@Example.com", i),
				EmailVerified: i%2 == 0, GivenName: "Bulk", FamilyName: fmt.Sprint(i), Metadata: map[string]string{"i": fmt.Sprint(i)},
				CreatedAt: t0, UpdatedAt: at(time.Second), Origin: store.OriginImportHash, MigratedAt: utc(at(2 * time.Second))}
			if i%3 != 0 {
				u.ExternalID = ptr(fmt.Sprintf("ext-%d", i))
				exts = append(exts, *u.ExternalID)
			}
			if i%5 == 0 {
				u.LastLoginAt = at(time.Minute)
			}
			users[i], norms[i], ids[i] = u, strings.ToLower(u.Email), u.ID
			m := &store.Membership{EnvID: e.ID, OrgID: org.ID, UserID: u.ID, Status: store.MembershipActive,
				Metadata: map[string]string{"seat": fmt.Sprint(i)}, CreatedAt: t0, UpdatedAt: t0, AcceptedAt: t0,
				Roles: []store.RoleRef{viewer}}
			if i%4 == 0 {
				m.Roles = append(m.Roles, own)
			}
			ms = append(ms, m)
			hashes = append(hashes, store.PasswordHashRow{UserID: u.ID, Hash: fmt.Sprintf("$2b$10$%053d", i)})
			imports = append(imports, store.UserImport{EnvID: e.ID, UserID: u.ID, HashSource: fmt.Sprint("sha256:", i),
				HashFormat: "bcrypt", CreatedAt: t0, UpdatedAt: t0})
			events = append(events, &store.Event{ID: f.ids.New(id.Event), EnvID: e.ID, Type: "test.bulk", ObjectID: u.ID,
				Payload: `{"i":` + fmt.Sprint(i) + `}`, CreatedAt: t0})
		}
		must(t, f.s.Tx(f.ctx, func(q *store.Q) error {
			if err := q.CreateUsers(f.ctx, users, norms); err != nil {
				return err
			}
			if err := q.CreateMemberships(f.ctx, ms); err != nil {
				return err
			}
			if err := q.PutImportedPasswordHashes(f.ctx, e.ID, hashes, t0); err != nil {
				return err
			}
			if err := q.PutUserImports(f.ctx, imports); err != nil {
				return err
			}
			return q.AddEvents(f.ctx, events)
		}), "bulk writes")

		got, err := f.q.UsersForImport(f.ctx, e.ID, exts, norms)
		must(t, err, "UsersForImport")
		if len(got) != n {
			t.Fatalf("UsersForImport found %d users, want %d", len(got), n)
		}
		byID := map[string]*store.User{}
		for _, u := range got {
			byID[u.ID] = u
		}
		for i, want := range users {
			u := byID[want.ID]
			checkUser(t, fmt.Sprintf("user %d", i), u, want)
			if u == nil || len(u.Memberships) != 1 || u.Memberships[0].Metadata["seat"] != fmt.Sprint(i) ||
				!slices.Equal(roleIDs(u.Memberships[0].Roles), roleIDs(ms[i].Roles)) {
				t.Fatalf("user %d: memberships %s, want %s", i, show(u.Memberships), show(ms[i]))
			}
		}
		byExt, err := f.q.UsersForImportNoMemberships(f.ctx, e.ID, exts[:3], nil)
		must(t, err, "UsersForImportNoMemberships")
		if len(byExt) != 3 {
			t.Errorf("by 3 external ids: %d users", len(byExt))
		}

		recs, err := f.q.UserImports(f.ctx, e.ID, ids)
		must(t, err, "UserImports")
		if len(recs) != n || recs[ids[42]].HashSource != "sha256:42" {
			t.Errorf("UserImports: %d records, users[42]: %+v", len(recs), recs[ids[42]])
		}
		var hash string
		must(t, f.s.DB().QueryRowContext(f.ctx, `SELECT hash FROM user_passwords WHERE user_id = $1`, ids[1299]).Scan(&hash), "hash")
		if hash != hashes[1299].Hash {
			t.Errorf("stored hash %q, want %q", hash, hashes[1299].Hash)
		}
		if c := count(t, f, `SELECT COUNT(*) FROM events WHERE env_id = $1 AND type = 'test.bulk'`, e.ID); c != n {
			t.Errorf("%d events, want %d", c, n)
		}

		orgs, err := f.q.OrganizationsByExternalIDs(f.ctx, e.ID, []string{"acme", "nowhere"})
		must(t, err, "OrganizationsByExternalIDs")
		if len(orgs) != 1 || orgs["acme"].ID != org.ID {
			t.Errorf("OrganizationsByExternalIDs: %s", show(orgs))
		}
		roles, err := f.q.RolesForImport(f.ctx, e.ID, []string{org.ID})
		must(t, err, "RolesForImport")
		scopes := map[string]string{}
		for _, r := range roles {
			scopes[r.Name] = r.OrgID
		}
		if scopes["viewer"] != "" || scopes["owner"] != org.ID {
			t.Errorf("RolesForImport: %s", show(roles))
		}

		// Upserts replace in bulk too.
		hashes[0].Hash = "$2b$10$" + strings.Repeat("x", 53)
		must(t, f.q.PutImportedPasswordHashes(f.ctx, e.ID, hashes[:1], at(time.Hour)), "PutImportedPasswordHashes again")
		must(t, f.s.DB().QueryRowContext(f.ctx, `SELECT hash FROM user_passwords WHERE user_id = $1`, ids[0]).Scan(&hash), "hash")
		if hash != hashes[0].Hash {
			t.Errorf("replaced hash %q, want %q", hash, hashes[0].Hash)
		}

		// A row a unique constraint refuses fails the statement as a conflict.
		dup := *users[7]
		dup.ID, dup.ExternalID = f.ids.New(id.User), nil
		wantConflict(t, f.q.CreateUsers(f.ctx, []*store.User{users[7], &dup}[1:], norms[7:8]), "email", "a second user with an email")
	})
}

// roleIDs are the ids of roles, sorted.
func roleIDs(roles []store.RoleRef) []string {
	out := make([]string, len(roles))
	for i, r := range roles {
		out[i] = r.ID
	}
	slices.Sort(out)
	return out
}
