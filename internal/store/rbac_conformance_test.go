package store_test

// The storage contract for roles and permissions (00002_rbac.sql), held to
// the same standard as conformance_test.go: every behaviour runs on a fresh
// SQLite file and a fresh PostgreSQL database.

import (
	"database/sql"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pressly/goose/v3"

	"github.com/gatehouse/gatehouse/internal/id"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/testdb"
)

var rbacConformanceTests = []struct {
	name string
	run  func(t *testing.T, dsn string)
}{
	{"MigrationSeedsDefaultsAndRollsBack", testRBACMigration},
	{"Permissions", testPermissions},
	{"ListPermissionsPagination", testListPermissionsPagination},
	{"RolePermissionGrants", testRolePermissionGrants},
	{"RoleReadsAndUpdates", testRoleReadsAndUpdates},
	{"InheritanceAndEffectivePermissions", testInheritance},
	{"RoleDefaults", testRoleDefaults},
	{"ReassignCountAndDeleteRole", testReassignAndDeleteRole},
	{"DeleteOrganizationRemovesItsRoles", testDeleteOrganizationRoles},
	{"RBACTxRollsBack", testRBACTxRollback},
	{"LockRoleGraphSerializes", testLockRoleGraph},
}

func TestRBACConformance(t *testing.T) {
	for _, c := range rbacConformanceTests {
		t.Run(c.name, func(t *testing.T) { testdb.Each(t, c.run) })
	}
}

// rbacTables are the tables 00002_rbac.sql creates.
var rbacTables = []string{"permissions", "role_permissions", "role_defaults"}

func (f *fixture) perm(t *testing.T, envID, name string) *store.Permission {
	t.Helper()
	p := &store.Permission{ID: f.ids.New(id.Permission), EnvID: envID, Name: name, Description: "may " + name, CreatedAt: t0, UpdatedAt: t0}
	must(t, f.q.CreatePermission(f.ctx, p), "CreatePermission "+name)
	return p
}

// roleWithBase creates a role extending base (nil for none).
func (f *fixture) roleWithBase(t *testing.T, envID, orgID, name string, base *store.Role) *store.Role {
	t.Helper()
	r := &store.Role{ID: f.ids.New(id.Role), EnvID: envID, OrgID: orgID, Name: name, DisplayName: strings.ToUpper(name),
		Description: "the " + name + " role", CreatedAt: t0, UpdatedAt: t0}
	if base != nil {
		r.BaseRoleID = base.ID
	}
	must(t, f.q.CreateRole(f.ctx, r), "CreateRole "+name)
	return r
}

func ref(r *store.Role) store.RoleRef {
	return store.RoleRef{ID: r.ID, Name: r.Name, DisplayName: r.DisplayName}
}

// wantPerm is how p must read back.
func wantPerm(p *store.Permission) *store.Permission {
	w := *p
	w.CreatedAt, w.UpdatedAt = utc(p.CreatedAt), utc(p.UpdatedAt)
	return &w
}

// permNames renders role permissions as "name<-role" for compact comparisons.
func permNames(l []store.RolePermission) []string {
	out := []string{}
	for _, rp := range l {
		out = append(out, rp.Name+"<-"+rp.RoleName)
	}
	return out
}

func testRBACMigration(t *testing.T, dsn string) {
	ctx := t.Context()
	// Bring a database to the foundation schema only, with an environment
	// that has the two default roles, as a server before this migration
	// left it.
	driver, dialect, src := "sqlite", goose.DialectSQLite3, "file:"+dsn+"?_pragma=foreign_keys(1)"
	if store.IsPostgresURL(dsn) {
		driver, dialect, src = "pgx", goose.DialectPostgres, dsn
	}
	db, err := sql.Open(driver, src)
	must(t, err, "sql.Open")
	t.Cleanup(func() { _ = db.Close() })
	p, err := goose.NewProvider(dialect, db, os.DirFS("migrations"))
	must(t, err, "goose.NewProvider")
	_, err = p.UpTo(ctx, 1)
	must(t, err, "migrating to version 1")
	for _, stmt := range []string{
		`INSERT INTO environments (id, type, page_token_key, created_at) VALUES ('env_old', 'production', 'a2V5', 1)`,
		`INSERT INTO roles (id, env_id, org_id, name, display_name, created_at, updated_at) VALUES ('role_admin', 'env_old', '', 'admin', 'Admin', 1, 1)`,
		`INSERT INTO roles (id, env_id, org_id, name, display_name, created_at, updated_at) VALUES ('role_member', 'env_old', '', 'member', 'Member', 1, 1)`,
		`INSERT INTO roles (id, env_id, org_id, name, display_name, created_at, updated_at) VALUES ('role_viewer', 'env_old', '', 'viewer', 'Viewer', 1, 1)`,
	} {
		_, err := db.ExecContext(ctx, stmt)
		must(t, err, stmt)
	}

	// Down and up again works on both databases, then Open applies the rest.
	_, err = p.UpTo(ctx, 2)
	must(t, err, "migrating to version 2")
	_, err = p.DownTo(ctx, 1)
	must(t, err, "migrating back down to version 1")
	for _, table := range rbacTables {
		if _, err := db.ExecContext(ctx, `SELECT COUNT(*) FROM `+table); err == nil {
			t.Errorf("table %s still exists after migrating down", table)
		}
	}
	must(t, db.Close(), "closing the raw handle")

	s, err := store.Open(ctx, dsn)
	must(t, err, "store.Open")
	t.Cleanup(func() { _ = s.Close() })
	versions := gooseVersions(t, s)
	if n := len(slices.DeleteFunc(slices.Clone(versions), func(v int64) bool { return v != 2 })); n < 1 {
		t.Errorf("goose_db_version does not record migration 2: %v", versions)
	}
	q := s.Q()
	defaults, err := q.RoleDefaults(ctx, "env_old", "")
	must(t, err, "RoleDefaults")
	wantEqual(t, "defaults of an environment made before the migration", defaults,
		map[string]string{store.DefaultCreator: "role_admin", store.DefaultMember: "role_member"})
	got, err := q.GetRole(ctx, "env_old", "role_viewer")
	must(t, err, "GetRole after the migration")
	if got.BaseRoleID != "" || got.BaseName != "" || got.Dependents != 0 {
		t.Errorf("an old role reads back with a base or dependents: %s", show(got))
	}

	// A fresh database has the new tables, empty.
	f := open(t, testdb.SQLite(t))
	if store.IsPostgresURL(dsn) {
		f = open(t, testdb.Postgres(t))
	}
	for _, table := range rbacTables {
		if n := count(t, f, `SELECT COUNT(*) FROM `+table); n != 0 {
			t.Errorf("table %s holds %d rows on a fresh database", table, n)
		}
	}
}

func testPermissions(t *testing.T, dsn string) {
	f := open(t, dsn)
	a, b := f.env(t), f.env(t)

	create := f.perm(t, a.ID, "projects:create")
	read := f.perm(t, a.ID, "projects:read")
	f.perm(t, b.ID, "projects:create") // the same name in another environment is fine

	dup := &store.Permission{ID: f.ids.New(id.Permission), EnvID: a.ID, Name: "projects:create", CreatedAt: t0, UpdatedAt: t0}
	wantConflict(t, f.q.CreatePermission(f.ctx, dup), "name", "duplicate permission name")

	got, err := f.q.GetPermissionByName(f.ctx, a.ID, "projects:create")
	must(t, err, "GetPermissionByName")
	wantUTC(t, "permission", got.CreatedAt, got.UpdatedAt)
	wantEqual(t, "GetPermissionByName", got, wantPerm(create))
	_, err = f.q.GetPermissionByName(f.ctx, a.ID, "projects:delete")
	wantNotFound(t, err, "GetPermissionByName of an unknown name")
	_, err = f.q.GetPermissionByName(f.ctx, b.ID, "projects:read")
	wantNotFound(t, err, "GetPermissionByName of another environment's permission")

	byName, err := f.q.PermissionsByName(f.ctx, a.ID, []string{"projects:read", "projects:create", "nope"})
	must(t, err, "PermissionsByName")
	wantEqual(t, "PermissionsByName", byName, map[string]*store.Permission{"projects:read": wantPerm(read), "projects:create": wantPerm(create)})
	byName, err = f.q.PermissionsByName(f.ctx, a.ID, nil)
	must(t, err, "PermissionsByName of nothing")
	if len(byName) != 0 {
		t.Errorf("PermissionsByName of nothing: %v", byName)
	}

	changed := *read
	changed.Description, changed.UpdatedAt = "may read projects", at(time.Hour)
	changed.Name = "ignored" // names never change
	must(t, f.q.UpdatePermission(f.ctx, &changed), "UpdatePermission")
	got, err = f.q.GetPermissionByName(f.ctx, a.ID, "projects:read")
	must(t, err, "GetPermissionByName after update")
	want := wantPerm(read)
	want.Description, want.UpdatedAt = "may read projects", utc(at(time.Hour))
	wantEqual(t, "permission after update", got, want)
	ghost := changed
	ghost.ID = f.ids.New(id.Permission)
	wantNotFound(t, f.q.UpdatePermission(f.ctx, &ghost), "UpdatePermission of an unknown id")
	other := changed
	other.EnvID = b.ID
	wantNotFound(t, f.q.UpdatePermission(f.ctx, &other), "UpdatePermission through another environment")

	// Deleting a permission removes the grants of it, and nothing else.
	editor := f.roleWithBase(t, a.ID, "", "editor", nil)
	must(t, f.q.AddRolePermissions(f.ctx, a.ID, editor.ID, []string{create.ID, read.ID}, t0), "AddRolePermissions")
	wantNotFound(t, f.q.DeletePermission(f.ctx, b.ID, create.ID), "DeletePermission through another environment")
	must(t, f.q.DeletePermission(f.ctx, a.ID, create.ID), "DeletePermission")
	wantNotFound(t, f.q.DeletePermission(f.ctx, a.ID, create.ID), "DeletePermission twice")
	_, err = f.q.GetPermissionByName(f.ctx, a.ID, "projects:create")
	wantNotFound(t, err, "GetPermissionByName after delete")
	direct, err := f.q.RolePermissions(f.ctx, a.ID, []string{editor.ID})
	must(t, err, "RolePermissions after deleting a permission")
	wantEqual(t, "editor's permissions after deleting one", permNames(direct[editor.ID]), []string{"projects:read<-editor"})
	if _, err := f.q.GetPermissionByName(f.ctx, b.ID, "projects:create"); err != nil {
		t.Errorf("deleting env A's permission removed env B's: %v", err)
	}
	// The name is free again.
	f.perm(t, a.ID, "projects:create")
}

func testListPermissionsPagination(t *testing.T, dsn string) {
	f := open(t, dsn)
	a, b := f.env(t), f.env(t)
	var want []string
	for i := range 7 {
		// Names sort against creation order: pages follow ids.
		want = append(want, f.perm(t, a.ID, fmt.Sprintf("res%d:read", 9-i)).ID)
		f.perm(t, b.ID, fmt.Sprintf("other%d:read", i))
	}
	list := func(p store.Page) (store.Result[*store.Permission], error) {
		return f.q.ListPermissions(f.ctx, a.ID, p)
	}
	for _, limit := range []int{1, 3, 7, 100} {
		got := walk(t, "ListPermissions", limit, len(want), list, func(p *store.Permission) string { return p.ID })
		wantEqual(t, fmt.Sprintf("ListPermissions ids (limit %d)", limit), got, want)
	}
	res, err := f.q.ListPermissions(f.ctx, a.ID, store.Page{Limit: 2})
	must(t, err, "ListPermissions")
	wantUTC(t, "listed permission", res.Items[0].CreatedAt, res.Items[0].UpdatedAt)
	if res.Items[0].EnvID != a.ID || res.Items[0].Name != "res9:read" || res.Items[0].Description != "may res9:read" {
		t.Errorf("first listed permission: %s", show(res.Items[0]))
	}
	empty := f.env(t)
	res, err = f.q.ListPermissions(f.ctx, empty.ID, store.Page{Limit: 10})
	must(t, err, "ListPermissions of an empty environment")
	if res.Total != 0 || len(res.Items) != 0 || res.More {
		t.Errorf("ListPermissions of an empty environment: %s", show(res))
	}
}

func testRolePermissionGrants(t *testing.T, dsn string) {
	f := open(t, dsn)
	e := f.env(t)
	read, write, del := f.perm(t, e.ID, "docs:read"), f.perm(t, e.ID, "docs:write"), f.perm(t, e.ID, "docs:delete")
	editor := f.roleWithBase(t, e.ID, "", "editor", nil)
	viewer := f.roleWithBase(t, e.ID, "", "viewer", nil)

	must(t, f.q.AddRolePermissions(f.ctx, e.ID, editor.ID, []string{write.ID, read.ID}, t0), "AddRolePermissions")
	must(t, f.q.AddRolePermissions(f.ctx, e.ID, editor.ID, []string{read.ID, del.ID}, at(time.Second)), "AddRolePermissions again, overlapping")
	must(t, f.q.AddRolePermissions(f.ctx, e.ID, viewer.ID, []string{read.ID}, t0), "AddRolePermissions viewer")
	if n := count(t, f, `SELECT COUNT(*) FROM role_permissions WHERE role_id = $1`, editor.ID); n != 3 {
		t.Errorf("editor has %d grants after adding an overlapping set, want 3", n)
	}
	got, err := f.q.RolePermissions(f.ctx, e.ID, []string{editor.ID, viewer.ID, f.ids.New(id.Role)})
	must(t, err, "RolePermissions")
	wantEqual(t, "editor's permissions, by name", permNames(got[editor.ID]), []string{"docs:delete<-editor", "docs:read<-editor", "docs:write<-editor"})
	wantEqual(t, "viewer's permissions", permNames(got[viewer.ID]), []string{"docs:read<-viewer"})
	if len(got) != 2 {
		t.Errorf("RolePermissions answered for %d roles, want 2 (an unknown role has none)", len(got))
	}
	wantEqual(t, "a granted permission reads back whole", got[viewer.ID][0],
		store.RolePermission{Permission: *wantPerm(read), RoleID: viewer.ID, RoleName: "viewer"})

	must(t, f.q.SetRolePermissions(f.ctx, e.ID, editor.ID, []string{del.ID}, t0), "SetRolePermissions")
	got, err = f.q.RolePermissions(f.ctx, e.ID, []string{editor.ID})
	must(t, err, "RolePermissions after Set")
	wantEqual(t, "editor after SetRolePermissions", permNames(got[editor.ID]), []string{"docs:delete<-editor"})

	must(t, f.q.RemoveRolePermission(f.ctx, e.ID, editor.ID, del.ID), "RemoveRolePermission")
	wantNotFound(t, f.q.RemoveRolePermission(f.ctx, e.ID, editor.ID, del.ID), "RemoveRolePermission twice")
	wantNotFound(t, f.q.RemoveRolePermission(f.ctx, e.ID, editor.ID, read.ID), "RemoveRolePermission of a permission the role lacks")
	got, err = f.q.RolePermissions(f.ctx, e.ID, []string{editor.ID, viewer.ID})
	must(t, err, "RolePermissions after removing")
	if len(got[editor.ID]) != 0 || len(got[viewer.ID]) != 1 {
		t.Errorf("after removing editor's last grant: %s", show(got))
	}
	got, err = f.q.RolePermissions(f.ctx, e.ID, nil)
	must(t, err, "RolePermissions of no roles")
	if len(got) != 0 {
		t.Errorf("RolePermissions of no roles: %v", got)
	}
}

func testRoleReadsAndUpdates(t *testing.T, dsn string) {
	f := open(t, dsn)
	a, b := f.env(t), f.env(t)
	org := f.org(t, a.ID, "Org", nil)
	other := f.org(t, a.ID, "Other", nil)

	viewer := f.roleWithBase(t, a.ID, "", "viewer", nil)
	editor := f.roleWithBase(t, a.ID, "", "editor", viewer)
	f.roleWithBase(t, a.ID, "", "admin", editor)
	lead := f.roleWithBase(t, a.ID, org.ID, "lead", editor)
	orgViewer := f.roleWithBase(t, a.ID, org.ID, "viewer", nil) // shadows the environment's viewer in org
	f.roleWithBase(t, a.ID, other.ID, "other_only", nil)
	f.roleWithBase(t, b.ID, "", "viewer", nil)

	got, err := f.q.GetRole(f.ctx, a.ID, editor.ID)
	must(t, err, "GetRole")
	wantUTC(t, "role", got.CreatedAt, got.UpdatedAt)
	want := *editor
	want.CreatedAt, want.UpdatedAt, want.BaseName, want.Dependents = utc(t0), utc(t0), "viewer", 2 // admin and lead
	wantEqual(t, "GetRole editor", got, &want)
	_, err = f.q.GetRole(f.ctx, b.ID, editor.ID)
	wantNotFound(t, err, "GetRole through another environment")

	got, err = f.q.GetRoleByName(f.ctx, a.ID, "", "viewer")
	must(t, err, "GetRoleByName environment")
	if got.ID != viewer.ID || got.Dependents != 1 || got.BaseName != "" {
		t.Errorf("GetRoleByName viewer (environment): %s", show(got))
	}
	got, err = f.q.GetRoleByName(f.ctx, a.ID, org.ID, "viewer")
	must(t, err, "GetRoleByName organization")
	if got.ID != orgViewer.ID || got.OrgID != org.ID {
		t.Errorf("GetRoleByName viewer (organization): %s", show(got))
	}
	_, err = f.q.GetRoleByName(f.ctx, a.ID, org.ID, "editor")
	wantNotFound(t, err, "GetRoleByName of an environment role in an organization's own scope")
	_, err = f.q.GetRoleByName(f.ctx, a.ID, "", "lead")
	wantNotFound(t, err, "GetRoleByName of an organization role in the environment scope")

	roles, err := f.q.ListOrganizationRoles(f.ctx, a.ID, org.ID)
	must(t, err, "ListOrganizationRoles")
	var names []string
	for _, r := range roles {
		names = append(names, r.Name+"@"+map[bool]string{true: "org", false: "env"}[r.OrgID != ""])
	}
	wantEqual(t, "ListOrganizationRoles (environment and own roles, by name, environment first)", names,
		[]string{"admin@env", "editor@env", "lead@org", "viewer@env", "viewer@org"})
	roles, err = f.q.ListRoles(f.ctx, a.ID)
	must(t, err, "ListRoles")
	if len(roles) != 3 || roles[0].Name != "admin" || roles[0].BaseName != "editor" {
		t.Errorf("ListRoles: %s", show(roles))
	}

	deps, err := f.q.DependentRoles(f.ctx, a.ID, editor.ID)
	must(t, err, "DependentRoles")
	wantEqual(t, "editor's dependents", []string{deps[0].Name, deps[1].Name}, []string{"admin", "lead"})
	deps, err = f.q.DependentRoles(f.ctx, a.ID, lead.ID)
	must(t, err, "DependentRoles of a leaf")
	if len(deps) != 0 {
		t.Errorf("a role nothing extends has dependents: %s", show(deps))
	}

	// UpdateRole writes the display name, description and base; not the name.
	changed := *lead
	changed.Name, changed.DisplayName, changed.Description, changed.BaseRoleID, changed.UpdatedAt = "renamed", "Team lead", "leads", viewer.ID, at(time.Hour)
	must(t, f.q.UpdateRole(f.ctx, &changed), "UpdateRole")
	got, err = f.q.GetRole(f.ctx, a.ID, lead.ID)
	must(t, err, "GetRole after UpdateRole")
	want = *lead
	want.DisplayName, want.Description, want.BaseRoleID, want.BaseName = "Team lead", "leads", viewer.ID, "viewer"
	want.CreatedAt, want.UpdatedAt = utc(t0), utc(at(time.Hour))
	wantEqual(t, "lead after UpdateRole", got, &want)
	changed.BaseRoleID = ""
	must(t, f.q.UpdateRole(f.ctx, &changed), "UpdateRole removing the base")
	got, err = f.q.GetRole(f.ctx, a.ID, lead.ID)
	must(t, err, "GetRole after removing the base")
	if got.BaseRoleID != "" || got.BaseName != "" {
		t.Errorf("base after removing it: %s", show(got))
	}
	ghost := changed
	ghost.ID = f.ids.New(id.Role)
	wantNotFound(t, f.q.UpdateRole(f.ctx, &ghost), "UpdateRole of an unknown role")
	ghost = changed
	ghost.EnvID = b.ID
	wantNotFound(t, f.q.UpdateRole(f.ctx, &ghost), "UpdateRole through another environment")
}

func testInheritance(t *testing.T, dsn string) {
	f := open(t, dsn)
	a, b := f.env(t), f.env(t)
	read, write, publish, billing := f.perm(t, a.ID, "docs:read"), f.perm(t, a.ID, "docs:write"), f.perm(t, a.ID, "docs:publish"), f.perm(t, a.ID, "billing:manage")

	// viewer <- editor <- publisher <- owner; loner stands alone.
	viewer := f.roleWithBase(t, a.ID, "", "viewer", nil)
	editor := f.roleWithBase(t, a.ID, "", "editor", viewer)
	publisher := f.roleWithBase(t, a.ID, "", "publisher", editor)
	owner := f.roleWithBase(t, a.ID, "", "owner", publisher)
	loner := f.roleWithBase(t, a.ID, "", "loner", nil)
	must(t, f.q.AddRolePermissions(f.ctx, a.ID, viewer.ID, []string{read.ID}, t0), "grant viewer")
	must(t, f.q.AddRolePermissions(f.ctx, a.ID, editor.ID, []string{write.ID, read.ID}, t0), "grant editor") // read again: nearest wins
	must(t, f.q.AddRolePermissions(f.ctx, a.ID, publisher.ID, []string{publish.ID}, t0), "grant publisher")
	must(t, f.q.AddRolePermissions(f.ctx, a.ID, owner.ID, []string{billing.ID}, t0), "grant owner")

	anc, err := f.q.RoleAncestors(f.ctx, a.ID, owner.ID)
	must(t, err, "RoleAncestors")
	wantEqual(t, "owner's ancestors, nearest first", anc, []string{publisher.ID, editor.ID, viewer.ID})
	anc, err = f.q.RoleAncestors(f.ctx, a.ID, viewer.ID)
	must(t, err, "RoleAncestors of a root")
	if len(anc) != 0 {
		t.Errorf("a role without a base has ancestors %v", anc)
	}
	anc, err = f.q.RoleAncestors(f.ctx, b.ID, owner.ID)
	must(t, err, "RoleAncestors through another environment")
	if len(anc) != 0 {
		t.Errorf("RoleAncestors through another environment: %v", anc)
	}

	eff, err := f.q.EffectivePermissions(f.ctx, a.ID, []string{owner.ID, editor.ID, viewer.ID, loner.ID})
	must(t, err, "EffectivePermissions")
	wantEqual(t, "owner's effective permissions", permNames(eff[owner.ID]),
		[]string{"billing:manage<-owner", "docs:publish<-publisher", "docs:read<-editor", "docs:write<-editor"})
	wantEqual(t, "editor's effective permissions", permNames(eff[editor.ID]), []string{"docs:read<-editor", "docs:write<-editor"})
	wantEqual(t, "viewer's effective permissions", permNames(eff[viewer.ID]), []string{"docs:read<-viewer"})
	if len(eff[loner.ID]) != 0 {
		t.Errorf("a role without permissions has effective ones: %s", show(eff[loner.ID]))
	}
	wantEqual(t, "an inherited permission reads back whole", eff[owner.ID][1],
		store.RolePermission{Permission: *wantPerm(publish), RoleID: publisher.ID, RoleName: "publisher"})
	eff, err = f.q.EffectivePermissions(f.ctx, b.ID, []string{owner.ID})
	must(t, err, "EffectivePermissions through another environment")
	if len(eff) != 0 {
		t.Errorf("EffectivePermissions through another environment: %s", show(eff))
	}

	// Changing a base changes what is inherited, at once.
	changed := *editor
	changed.BaseRoleID, changed.UpdatedAt = loner.ID, at(time.Minute)
	must(t, f.q.UpdateRole(f.ctx, &changed), "UpdateRole rebasing editor")
	must(t, f.q.RemoveRolePermission(f.ctx, a.ID, editor.ID, read.ID), "RemoveRolePermission editor docs:read")
	eff, err = f.q.EffectivePermissions(f.ctx, a.ID, []string{owner.ID})
	must(t, err, "EffectivePermissions after rebasing")
	wantEqual(t, "owner's effective permissions after rebasing editor off viewer", permNames(eff[owner.ID]),
		[]string{"billing:manage<-owner", "docs:publish<-publisher", "docs:write<-editor"})

	// A cycle the service would refuse still cannot make a read loop.
	loop := *viewer
	loop.BaseRoleID = owner.ID
	changed.BaseRoleID = viewer.ID
	must(t, f.q.UpdateRole(f.ctx, &changed), "UpdateRole restoring editor's base")
	must(t, f.q.UpdateRole(f.ctx, &loop), "UpdateRole making a cycle behind the service's back")
	anc, err = f.q.RoleAncestors(f.ctx, a.ID, owner.ID)
	must(t, err, "RoleAncestors on a cycle")
	if len(anc) == 0 || len(anc) > 1000 {
		t.Errorf("RoleAncestors on a cycle returned %d ids", len(anc))
	}
	eff, err = f.q.EffectivePermissions(f.ctx, a.ID, []string{owner.ID})
	must(t, err, "EffectivePermissions on a cycle")
	if len(eff[owner.ID]) != 4 {
		t.Errorf("EffectivePermissions on a cycle: %v", permNames(eff[owner.ID]))
	}
}

func testRoleDefaults(t *testing.T, dsn string) {
	f := open(t, dsn)
	a, b := f.env(t), f.env(t)
	org := f.org(t, a.ID, "Org", nil)
	admin, member, viewer := f.roleWithBase(t, a.ID, "", "admin", nil), f.roleWithBase(t, a.ID, "", "member", nil), f.roleWithBase(t, a.ID, "", "viewer", nil)
	orgGuest := f.roleWithBase(t, a.ID, org.ID, "guest", nil)
	bMember := f.roleWithBase(t, b.ID, "", "member", nil)

	_, err := f.q.DefaultMemberRole(f.ctx, a.ID, org.ID)
	wantNotFound(t, err, "DefaultMemberRole with none set")
	got, err := f.q.RoleDefaults(f.ctx, a.ID, "")
	must(t, err, "RoleDefaults with none set")
	if len(got) != 0 {
		t.Errorf("RoleDefaults with none set: %v", got)
	}

	must(t, f.q.EnsureRoleDefault(f.ctx, a.ID, "", store.DefaultCreator, admin.ID), "EnsureRoleDefault creator")
	must(t, f.q.EnsureRoleDefault(f.ctx, a.ID, "", store.DefaultMember, member.ID), "EnsureRoleDefault member")
	must(t, f.q.EnsureRoleDefault(f.ctx, a.ID, "", store.DefaultMember, viewer.ID), "EnsureRoleDefault member again")
	must(t, f.q.EnsureRoleDefault(f.ctx, b.ID, "", store.DefaultMember, bMember.ID), "EnsureRoleDefault env B")
	got, err = f.q.RoleDefaults(f.ctx, a.ID, "")
	must(t, err, "RoleDefaults")
	wantEqual(t, "environment defaults (Ensure keeps the first)", got, map[string]string{store.DefaultCreator: admin.ID, store.DefaultMember: member.ID})
	dm, err := f.q.DefaultMemberRole(f.ctx, a.ID, org.ID)
	must(t, err, "DefaultMemberRole")
	wantEqual(t, "default member of an organization without its own", dm, ref(member))
	dm, err = f.q.DefaultMemberRole(f.ctx, a.ID, "")
	must(t, err, "DefaultMemberRole of the environment")
	wantEqual(t, "environment default member", dm, ref(member))

	must(t, f.q.SetRoleDefault(f.ctx, a.ID, "", store.DefaultMember, viewer.ID), "SetRoleDefault member")
	must(t, f.q.SetRoleDefault(f.ctx, a.ID, org.ID, store.DefaultMember, orgGuest.ID), "SetRoleDefault organization member")
	dm, err = f.q.DefaultMemberRole(f.ctx, a.ID, org.ID)
	must(t, err, "DefaultMemberRole with an organization default")
	wantEqual(t, "an organization's own default wins", dm, ref(orgGuest))
	dm, err = f.q.DefaultMemberRole(f.ctx, a.ID, f.ids.New(id.Organization))
	must(t, err, "DefaultMemberRole of another organization")
	wantEqual(t, "Set replaced the environment default", dm, ref(viewer))
	got, err = f.q.RoleDefaults(f.ctx, a.ID, org.ID)
	must(t, err, "RoleDefaults of the organization")
	wantEqual(t, "organization defaults", got, map[string]string{store.DefaultMember: orgGuest.ID})
	dm, err = f.q.DefaultMemberRole(f.ctx, b.ID, org.ID)
	must(t, err, "DefaultMemberRole env B")
	wantEqual(t, "env B's default is its own", dm, ref(bMember))

	uses, err := f.q.RoleDefaultUses(f.ctx, a.ID, viewer.ID)
	must(t, err, "RoleDefaultUses")
	wantEqual(t, "viewer's default uses", uses, []store.RoleDefaultUse{{OrgID: "", Kind: store.DefaultMember}})
	uses, err = f.q.RoleDefaultUses(f.ctx, a.ID, member.ID)
	must(t, err, "RoleDefaultUses of a role no longer default")
	if len(uses) != 0 {
		t.Errorf("member is still named by a default: %v", uses)
	}
	// A default can name only a role that exists.
	if err := f.q.SetRoleDefault(f.ctx, a.ID, "", store.DefaultMember, f.ids.New(id.Role)); err == nil {
		t.Errorf("SetRoleDefault accepted an unknown role")
	}
}

func testReassignAndDeleteRole(t *testing.T, dsn string) {
	f := open(t, dsn)
	e := f.env(t)
	org1, org2 := f.org(t, e.ID, "One", nil), f.org(t, e.ID, "Two", nil)
	old, target, other := f.roleWithBase(t, e.ID, "", "old", nil), f.roleWithBase(t, e.ID, "", "target", nil), f.roleWithBase(t, e.ID, "", "other", nil)
	perm := f.perm(t, e.ID, "x:y")
	must(t, f.q.AddRolePermissions(f.ctx, e.ID, old.ID, []string{perm.ID}, t0), "grant old")
	u1, u2, u3 := f.user(t, e.ID, "one@example.com", nil), f.user(t, e.ID, "two@example.com", nil), f.user(t, e.ID, "three@example.com", nil)
	f.member(t, e.ID, org1.ID, u1.ID, t0, ref(old))
	f.member(t, e.ID, org2.ID, u1.ID, t0, ref(old), ref(target)) // already has the target too
	f.member(t, e.ID, org1.ID, u2.ID, t0, ref(old), ref(other))
	f.member(t, e.ID, org2.ID, u3.ID, t0, ref(other))

	for _, c := range []struct {
		org, role string
		want      int
	}{{"", old.ID, 2}, {org1.ID, old.ID, 2}, {org2.ID, old.ID, 1}, {"", other.ID, 2}, {"", target.ID, 1}, {org1.ID, target.ID, 0}} {
		n, err := f.q.CountRoleUsers(f.ctx, e.ID, c.org, c.role)
		must(t, err, "CountRoleUsers")
		if n != c.want {
			t.Errorf("CountRoleUsers(org %q, role %s) = %d, want %d", c.org, c.role, n, c.want)
		}
	}

	// While a membership holds the role, deleting it fails and changes nothing.
	err := f.s.Tx(f.ctx, func(q *store.Q) error { return q.DeleteRole(f.ctx, e.ID, old.ID) })
	if err == nil {
		t.Fatalf("DeleteRole of a role memberships hold succeeded")
	}
	if n := count(t, f, `SELECT COUNT(*) FROM role_permissions WHERE role_id = $1`, old.ID); n != 1 {
		t.Errorf("a failed DeleteRole removed the role's grants")
	}

	n, err := f.q.ReassignRole(f.ctx, e.ID, old.ID, target.ID, at(time.Hour))
	must(t, err, "ReassignRole")
	if n != 3 {
		t.Errorf("ReassignRole changed %d memberships, want 3", n)
	}
	for _, c := range []struct {
		user  *store.User
		org   string
		roles []string
	}{{u1, "One", []string{"target"}}, {u1, "Two", []string{"target"}}, {u2, "One", []string{"other", "target"}}, {u3, "Two", []string{"other"}}} {
		u, err := f.q.GetUser(f.ctx, e.ID, c.user.ID)
		must(t, err, "GetUser")
		for _, m := range u.Memberships {
			if m.OrgName != c.org {
				continue
			}
			var names []string
			for _, r := range m.Roles {
				names = append(names, r.Name)
			}
			wantEqual(t, c.user.Email+" in "+c.org+" after reassigning", names, c.roles)
			touched := !slices.Equal(c.roles, []string{"other"})
			if got := m.UpdatedAt.Equal(utc(at(time.Hour))); got != touched {
				t.Errorf("%s in %s: updated_at %v, want it bumped only when the roles changed", c.user.Email, c.org, m.UpdatedAt)
			}
		}
	}
	n, err = f.q.ReassignRole(f.ctx, e.ID, old.ID, target.ID, at(2*time.Hour))
	must(t, err, "ReassignRole with nobody left")
	if n != 0 {
		t.Errorf("ReassignRole with nobody left changed %d memberships", n)
	}

	// A default naming the role also blocks deletion.
	must(t, f.q.SetRoleDefault(f.ctx, e.ID, "", store.DefaultMember, old.ID), "SetRoleDefault")
	if err := f.s.Tx(f.ctx, func(q *store.Q) error { return q.DeleteRole(f.ctx, e.ID, old.ID) }); err == nil {
		t.Errorf("DeleteRole of a default role succeeded")
	}
	must(t, f.q.SetRoleDefault(f.ctx, e.ID, "", store.DefaultMember, target.ID), "SetRoleDefault elsewhere")

	must(t, f.q.DeleteRole(f.ctx, e.ID, old.ID), "DeleteRole")
	wantNotFound(t, f.q.DeleteRole(f.ctx, e.ID, old.ID), "DeleteRole twice")
	_, err = f.q.GetRole(f.ctx, e.ID, old.ID)
	wantNotFound(t, err, "GetRole after delete")
	if n := count(t, f, `SELECT COUNT(*) FROM role_permissions WHERE role_id = $1`, old.ID); n != 0 {
		t.Errorf("%d grants left for a deleted role", n)
	}
	if _, err := f.q.GetPermissionByName(f.ctx, e.ID, "x:y"); err != nil {
		t.Errorf("deleting a role removed its permission: %v", err)
	}
}

func testDeleteOrganizationRoles(t *testing.T, dsn string) {
	f := open(t, dsn)
	e := f.env(t)
	gone, stays := f.org(t, e.ID, "Gone", nil), f.org(t, e.ID, "Stays", nil)
	envRole := f.roleWithBase(t, e.ID, "", "member", nil)
	lead := f.roleWithBase(t, e.ID, gone.ID, "lead", envRole)
	deputy := f.roleWithBase(t, e.ID, gone.ID, "deputy", lead)
	kept := f.roleWithBase(t, e.ID, stays.ID, "lead", envRole)
	perm := f.perm(t, e.ID, "team:lead")
	must(t, f.q.AddRolePermissions(f.ctx, e.ID, lead.ID, []string{perm.ID}, t0), "grant lead")
	must(t, f.q.AddRolePermissions(f.ctx, e.ID, kept.ID, []string{perm.ID}, t0), "grant kept lead")
	must(t, f.q.SetRoleDefault(f.ctx, e.ID, "", store.DefaultMember, envRole.ID), "environment default")
	must(t, f.q.SetRoleDefault(f.ctx, e.ID, gone.ID, store.DefaultMember, deputy.ID), "organization default")
	u := f.user(t, e.ID, "lead@example.com", nil)
	f.member(t, e.ID, gone.ID, u.ID, t0, ref(lead), ref(envRole))

	must(t, f.q.DeleteOrganization(f.ctx, e.ID, gone.ID), "DeleteOrganization")
	for _, r := range []*store.Role{lead, deputy} {
		_, err := f.q.GetRole(f.ctx, e.ID, r.ID)
		wantNotFound(t, err, "organization role "+r.Name+" after its organization was deleted")
	}
	if n := count(t, f, `SELECT COUNT(*) FROM role_defaults WHERE org_id = $1`, gone.ID); n != 0 {
		t.Errorf("%d defaults left for a deleted organization", n)
	}
	if n := count(t, f, `SELECT COUNT(*) FROM role_permissions WHERE role_id = $1`, lead.ID); n != 0 {
		t.Errorf("%d grants left for a deleted organization's role", n)
	}
	for _, r := range []*store.Role{envRole, kept} {
		if _, err := f.q.GetRole(f.ctx, e.ID, r.ID); err != nil {
			t.Errorf("role %s of another scope after deleting an organization: %v", r.Name, err)
		}
	}
	eff, err := f.q.EffectivePermissions(f.ctx, e.ID, []string{kept.ID})
	must(t, err, "EffectivePermissions")
	wantEqual(t, "the other organization's role keeps its grants", permNames(eff[kept.ID]), []string{"team:lead<-lead"})
	dm, err := f.q.DefaultMemberRole(f.ctx, e.ID, "")
	must(t, err, "DefaultMemberRole")
	wantEqual(t, "the environment default survives", dm, ref(envRole))
}

func testRBACTxRollback(t *testing.T, dsn string) {
	f := open(t, dsn)
	e := f.env(t)
	org := f.org(t, e.ID, "Org", nil)
	base := f.roleWithBase(t, e.ID, "", "base", nil)
	keep := f.roleWithBase(t, e.ID, "", "keep", base)
	keptPerm := f.perm(t, e.ID, "keep:it")
	must(t, f.q.AddRolePermissions(f.ctx, e.ID, keep.ID, []string{keptPerm.ID}, t0), "grant")
	must(t, f.q.SetRoleDefault(f.ctx, e.ID, "", store.DefaultMember, keep.ID), "default")
	u := f.user(t, e.ID, "u@example.com", nil)
	f.member(t, e.ID, org.ID, u.ID, t0, ref(keep))

	boom := errors.New("boom")
	err := f.s.Tx(f.ctx, func(q *store.Q) error {
		p := &store.Permission{ID: f.ids.New(id.Permission), EnvID: e.ID, Name: "doomed:perm", CreatedAt: t0, UpdatedAt: t0}
		r := &store.Role{ID: f.ids.New(id.Role), EnvID: e.ID, Name: "doomed", BaseRoleID: keep.ID, CreatedAt: t0, UpdatedAt: t0}
		changed := *keep
		changed.DisplayName, changed.BaseRoleID = "Changed", ""
		reassigned, err := q.ReassignRole(f.ctx, e.ID, keep.ID, base.ID, at(time.Hour))
		for _, step := range []error{
			q.CreatePermission(f.ctx, p),
			q.CreateRole(f.ctx, r),
			q.AddRolePermissions(f.ctx, e.ID, r.ID, []string{p.ID, keptPerm.ID}, t0),
			q.SetRolePermissions(f.ctx, e.ID, keep.ID, []string{p.ID}, t0),
			q.UpdateRole(f.ctx, &changed),
			q.SetRoleDefault(f.ctx, e.ID, "", store.DefaultMember, r.ID),
			q.SetRoleDefault(f.ctx, e.ID, org.ID, store.DefaultMember, r.ID),
			err,
			q.DeletePermission(f.ctx, e.ID, keptPerm.ID),
		} {
			if step != nil {
				return fmt.Errorf("step inside the Tx failed: %v", step)
			}
		}
		if reassigned != 1 {
			return fmt.Errorf("reassigned %d memberships, want 1", reassigned)
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Tx returned %v, want the function's own error", err)
	}
	for table, want := range map[string]int{"permissions": 1, "roles": 2, "role_permissions": 1, "role_defaults": 1, "membership_roles": 1} {
		if n := count(t, f, `SELECT COUNT(*) FROM `+table); n != want {
			t.Errorf("%s holds %d rows after the rollback, want %d", table, n, want)
		}
	}
	got, err := f.q.GetRole(f.ctx, e.ID, keep.ID)
	must(t, err, "GetRole after rollback")
	if got.DisplayName != "KEEP" || got.BaseRoleID != base.ID {
		t.Errorf("role updated in a rolled back Tx: %s", show(got))
	}
	eff, err := f.q.EffectivePermissions(f.ctx, e.ID, []string{keep.ID})
	must(t, err, "EffectivePermissions after rollback")
	wantEqual(t, "grants after rollback", permNames(eff[keep.ID]), []string{"keep:it<-keep"})
	dm, err := f.q.DefaultMemberRole(f.ctx, e.ID, org.ID)
	must(t, err, "DefaultMemberRole after rollback")
	wantEqual(t, "default after rollback", dm, ref(keep))
	n, err := f.q.CountRoleUsers(f.ctx, e.ID, "", keep.ID)
	must(t, err, "CountRoleUsers after rollback")
	if n != 1 {
		t.Errorf("reassignment survived the rollback: keep has %d users", n)
	}
}

func testLockRoleGraph(t *testing.T, dsn string) {
	f := open(t, dsn)
	locked, release, first := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	go func() {
		first <- f.s.Tx(f.ctx, func(q *store.Q) error {
			if err := q.LockRoleGraph(f.ctx); err != nil {
				return err
			}
			close(locked)
			<-release
			return nil
		})
	}()
	<-locked
	second := make(chan error, 1)
	go func() { second <- f.s.Tx(f.ctx, func(q *store.Q) error { return q.LockRoleGraph(f.ctx) }) }()
	select {
	case err := <-second:
		t.Errorf("a second transaction took the role graph lock while the first held it (err %v)", err)
	case <-time.After(300 * time.Millisecond):
	}
	close(release)
	must(t, <-first, "first Tx")
	must(t, <-second, "second Tx after the first released the lock")
}
