package store

import (
	"database/sql"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/testdb"
)

// TestImportTablesMigration: migration 00011 on a database that already
// holds rows in the tables it changes (SQLite rebuilds membership_roles,
// user_passwords, user_imports and events as WITHOUT ROWID tables,
// PostgreSQL drops an index): every row survives, the store reads them
// back, the rebuilt tables still refuse duplicates and cascade from their
// parents, and the migration goes down and up again with the rows intact.
func TestImportTablesMigration(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dsn string) {
		ctx := t.Context()
		driver, dialect, src := "sqlite", SQLite, "file:"+dsn+"?_pragma=foreign_keys(1)"
		if IsPostgresURL(dsn) {
			driver, dialect, src = "pgx", Postgres, dsn
		}
		db, err := sql.Open(driver, src)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = db.Close() })
		p, err := migrationProvider(db, dialect)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.UpTo(ctx, 10); err != nil {
			t.Fatalf("migrating to version 10: %v", err)
		}
		exec := func(stmts ...string) {
			t.Helper()
			for _, stmt := range stmts {
				if _, err := db.ExecContext(ctx, stmt); err != nil {
					t.Fatalf("%s: %v", stmt, err)
				}
			}
		}
		exec(`INSERT INTO environments (id, type, page_token_key, created_at) VALUES ('env_a', 'production', 'a2V5', 1)`,
			`INSERT INTO organizations (id, env_id, display_name, created_at, updated_at) VALUES ('org_1', 'env_a', 'One', 1, 1)`,
			`INSERT INTO organizations (id, env_id, display_name, created_at, updated_at) VALUES ('org_2', 'env_a', 'Two', 1, 1)`,
			`INSERT INTO roles (id, env_id, name, created_at, updated_at) VALUES ('role_admin', 'env_a', 'admin', 1, 1)`,
			`INSERT INTO roles (id, env_id, name, created_at, updated_at) VALUES ('role_member', 'env_a', 'member', 1, 1)`,
			`INSERT INTO users (id, env_id, email, email_norm, created_at, updated_at) VALUES ('usr_a', 'env_a', 'a@x.test', 'a@x.test', 1, 1)`,
			`INSERT INTO users (id, env_id, email, email_norm, created_at, updated_at) VALUES ('usr_b', 'env_a', 'b@x.test', 'b@x.test', 1, 1)`,
			`INSERT INTO memberships (env_id, org_id, user_id, status, created_at, updated_at) VALUES ('env_a', 'org_1', 'usr_a', 1, 1, 1)`,
			`INSERT INTO memberships (env_id, org_id, user_id, status, created_at, updated_at) VALUES ('env_a', 'org_2', 'usr_a', 1, 1, 1)`,
			`INSERT INTO memberships (env_id, org_id, user_id, status, created_at, updated_at) VALUES ('env_a', 'org_1', 'usr_b', 1, 1, 1)`,
			`INSERT INTO membership_roles (env_id, org_id, user_id, role_id) VALUES ('env_a', 'org_1', 'usr_a', 'role_admin')`,
			`INSERT INTO membership_roles (env_id, org_id, user_id, role_id) VALUES ('env_a', 'org_1', 'usr_a', 'role_member')`,
			`INSERT INTO membership_roles (env_id, org_id, user_id, role_id) VALUES ('env_a', 'org_2', 'usr_a', 'role_member')`,
			`INSERT INTO membership_roles (env_id, org_id, user_id, role_id) VALUES ('env_a', 'org_1', 'usr_b', 'role_member')`,
			`INSERT INTO user_passwords (user_id, env_id, hash, created_at, updated_at) VALUES ('usr_a', 'env_a', '$2b$10$a', 1, 2)`,
			`INSERT INTO user_imports (user_id, env_id, hash_source, hash_format, created_at, updated_at) VALUES ('usr_a', 'env_a', 'sha256:aa', 'bcrypt', 3, 4)`,
			`INSERT INTO events (id, env_id, type, object_id, payload, created_at) VALUES ('evt_1', 'env_a', 'user.created', 'usr_a', '{"id":"usr_a"}', 5)`,
			`INSERT INTO events (id, env_id, type, object_id, payload, created_at) VALUES ('evt_2', 'env_a', 'user.created', 'usr_b', '{"id":"usr_b"}', 6)`)

		const snapshot = `SELECT
			(SELECT COUNT(*) FROM membership_roles) || ' ' ||
			(SELECT string_agg(org_id || '/' || user_id || '/' || role_id, ',') FROM
				(SELECT * FROM membership_roles ORDER BY org_id, user_id, role_id) mr) || ' ' ||
			(SELECT string_agg(user_id || ':' || hash || ':' || created_at || ':' || updated_at, ',') FROM user_passwords) || ' ' ||
			(SELECT string_agg(user_id || ':' || hash_source || ':' || hash_format || ':' || created_at || ':' || updated_at, ',') FROM user_imports) || ' ' ||
			(SELECT string_agg(id || ':' || type || ':' || object_id || ':' || payload || ':' || created_at, ',') FROM
				(SELECT * FROM events ORDER BY id) e)`
		read := func() string {
			t.Helper()
			var s string
			if err := db.QueryRowContext(ctx, snapshot).Scan(&s); err != nil {
				t.Fatalf("reading the rows back: %v", err)
			}
			return s
		}
		before := read()
		const want = `4 org_1/usr_a/role_admin,org_1/usr_a/role_member,org_1/usr_b/role_member,org_2/usr_a/role_member ` +
			`usr_a:$2b$10$a:1:2 usr_a:sha256:aa:bcrypt:3:4 evt_1:user.created:usr_a:{"id":"usr_a"}:5,evt_2:user.created:usr_b:{"id":"usr_b"}:6`
		if before != want {
			t.Fatalf("rows at version 10:\n%s\nwant\n%s", before, want)
		}

		s, err := Open(ctx, dsn) // applies 00011
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		t.Cleanup(func() { _ = s.Close() })
		if got := read(); got != want {
			t.Errorf("rows after 00011:\n%s\nwant\n%s", got, want)
		}
		if dialect == SQLite {
			for _, table := range []string{"membership_roles", "user_passwords", "user_imports", "events"} {
				var ddl string
				if err := db.QueryRowContext(ctx, `SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = ?`, table).Scan(&ddl); err != nil {
					t.Fatalf("schema of %s: %v", table, err)
				}
				if !strings.HasSuffix(ddl, "WITHOUT ROWID") {
					t.Errorf("%s after 00011: %s; want a WITHOUT ROWID table", table, ddl)
				}
			}
		}

		// The store reads them: roles by user, the import record, the events.
		q := s.Q()
		u, err := q.GetUser(ctx, "env_a", "usr_a")
		if err != nil {
			t.Fatalf("GetUser: %v", err)
		}
		var roles []string
		for _, m := range u.Memberships {
			for _, r := range m.Roles {
				roles = append(roles, m.OrgID+"/"+r.Name)
			}
		}
		if got := strings.Join(roles, ","); got != "org_1/admin,org_1/member,org_2/member" {
			t.Errorf("usr_a's roles after 00011: %s", got)
		}
		imps, err := q.UserImports(ctx, "env_a", []string{"usr_a", "usr_b"})
		if err != nil || len(imps) != 1 || imps["usr_a"].HashSource != "sha256:aa" {
			t.Errorf("UserImports after 00011: %+v, %v", imps, err)
		}
		evs, err := q.ListEvents(ctx, "env_a", Page{Limit: 10})
		if err != nil || len(evs) != 2 || evs[0].ID != "evt_1" || evs[1].Payload != `{"id":"usr_b"}` {
			t.Errorf("ListEvents after 00011: %v, %v", evs, err)
		}

		// Still unique, still cascading.
		for _, stmt := range []string{
			`INSERT INTO membership_roles (env_id, org_id, user_id, role_id) VALUES ('env_a', 'org_1', 'usr_a', 'role_admin')`,
			`INSERT INTO user_passwords (user_id, env_id, hash, created_at, updated_at) VALUES ('usr_a', 'env_a', 'x', 1, 1)`,
			`INSERT INTO user_imports (user_id, env_id, created_at, updated_at) VALUES ('usr_a', 'env_a', 1, 1)`,
			`INSERT INTO events (id, env_id, type, object_id, payload, created_at) VALUES ('evt_1', 'env_a', 't', 'o', '{}', 1)`,
		} {
			_, err := db.ExecContext(ctx, stmt)
			var c *ErrConflict
			if err = mapErr(err); err == nil || !strings.Contains(err.Error(), "exists") {
				t.Errorf("%s after 00011: %v, want a unique violation", stmt, err)
			} else if strings.HasPrefix(stmt, "INSERT INTO membership_roles") && (!asConflict(err, &c) || c.Field != "roles") {
				t.Errorf("duplicate membership role after 00011: %v, want a conflict on roles", err)
			}
		}
		if err := q.DeleteOrganization(ctx, "env_a", "org_1"); err != nil {
			t.Fatalf("DeleteOrganization: %v", err)
		}
		exec(`DELETE FROM users WHERE id = 'usr_b'`)
		var left string
		if err := db.QueryRowContext(ctx, `SELECT string_agg(org_id || '/' || user_id || '/' || role_id, ',') FROM membership_roles`).Scan(&left); err != nil {
			t.Fatal(err)
		}
		if left != "org_2/usr_a/role_member" {
			t.Errorf("membership_roles after deleting org_1 and usr_b: %s", left)
		}
		exec(`DELETE FROM users WHERE id = 'usr_a'`)
		var n int
		if err := db.QueryRowContext(ctx, `SELECT (SELECT COUNT(*) FROM membership_roles) + (SELECT COUNT(*) FROM user_passwords)
			+ (SELECT COUNT(*) FROM user_imports)`).Scan(&n); err != nil || n != 0 {
			t.Errorf("rows of a deleted user after 00011: %d, %v; want them gone by cascade", n, err)
		}

		// Down and up again keeps what is there.
		exec(`INSERT INTO users (id, env_id, email, email_norm, created_at, updated_at) VALUES ('usr_c', 'env_a', 'c@x.test', 'c@x.test', 1, 1)`,
			`INSERT INTO memberships (env_id, org_id, user_id, status, created_at, updated_at) VALUES ('env_a', 'org_2', 'usr_c', 1, 1, 1)`,
			`INSERT INTO membership_roles (env_id, org_id, user_id, role_id) VALUES ('env_a', 'org_2', 'usr_c', 'role_admin')`,
			`INSERT INTO user_passwords (user_id, env_id, hash, created_at, updated_at) VALUES ('usr_c', 'env_a', 'h', 7, 8)`,
			`INSERT INTO user_imports (user_id, env_id, hash_source, hash_format, created_at, updated_at) VALUES ('usr_c', 'env_a', '', '', 9, 9)`)
		const after = `1 org_2/usr_c/role_admin usr_c:h:7:8 usr_c:::9:9 evt_1:user.created:usr_a:{"id":"usr_a"}:5,evt_2:user.created:usr_b:{"id":"usr_b"}:6`
		if got := read(); got != after {
			t.Fatalf("rows before going down:\n%s\nwant\n%s", got, after)
		}
		if _, err := p.DownTo(ctx, 10); err != nil {
			t.Fatalf("migrating 00011 down: %v", err)
		}
		if got := read(); got != after {
			t.Errorf("rows after 00011 down:\n%s\nwant\n%s", got, after)
		}
		if _, err := p.Up(ctx); err != nil {
			t.Fatalf("migrating up again: %v", err)
		}
		if got := read(); got != after {
			t.Errorf("rows after 00011 up again:\n%s\nwant\n%s", got, after)
		}
	})
}

// asConflict is errors.As for *ErrConflict.
func asConflict(err error, c **ErrConflict) bool {
	e, ok := err.(*ErrConflict)
	*c = e
	return ok
}
