package store_test

// The storage contract of the migration status and lazy migration
// (00008_migration.sql): users.origin and migrated_at, their backfill from
// user_imports, MarkMigrated, MigrationCounts and the legacy endpoint
// settings, on SQLite and PostgreSQL alike.

import (
	"database/sql"
	"os"
	"testing"
	"time"

	"github.com/pressly/goose/v3"

	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/testdb"
)

func TestMigrationStatusConformance(t *testing.T) {
	for _, c := range []struct {
		name string
		run  func(t *testing.T, dsn string)
	}{
		{"BackfillFromUserImports", testOriginBackfill},
		{"OriginRoundTrip", testOriginRoundTrip},
		{"MigrationCounts", testMigrationCounts},
		{"LegacyAuthSettings", testLegacyAuthSettings},
	} {
		t.Run(c.name, func(t *testing.T) { testdb.Each(t, c.run) })
	}
}

// testOriginBackfill migrates a database holding imported users up to 7,
// then lets Open apply 00008: imported users get their origin and
// migrated_at from user_imports, the others stay native; and 00008 goes
// down cleanly.
func testOriginBackfill(t *testing.T, dsn string) {
	ctx := t.Context()
	driver, dialect, src := "sqlite", goose.DialectSQLite3, "file:"+dsn+"?_pragma=foreign_keys(1)"
	if store.IsPostgresURL(dsn) {
		driver, dialect, src = "pgx", goose.DialectPostgres, dsn
	}
	db, err := sql.Open(driver, src)
	must(t, err, "sql.Open")
	t.Cleanup(func() { _ = db.Close() })
	p, err := goose.NewProvider(dialect, db, os.DirFS("migrations"))
	must(t, err, "goose.NewProvider")
	_, err = p.UpTo(ctx, 7)
	must(t, err, "migrating to version 7")
	for _, stmt := range []string{
		`INSERT INTO environments (id, type, page_token_key, created_at) VALUES ('env_a', 'production', 'a2V5', 1)`,
		`INSERT INTO users (id, env_id, email, email_norm, created_at, updated_at) VALUES ('usr_hash', 'env_a', 'h@x.test', 'h@x.test', 1, 1)`,
		`INSERT INTO users (id, env_id, email, email_norm, created_at, updated_at) VALUES ('usr_nohash', 'env_a', 'n@x.test', 'n@x.test', 1, 1)`,
		`INSERT INTO users (id, env_id, email, email_norm, created_at, updated_at) VALUES ('usr_native', 'env_a', 'a@x.test', 'a@x.test', 1, 1)`,
		`INSERT INTO user_imports (user_id, env_id, hash_source, hash_format, created_at, updated_at) VALUES ('usr_hash', 'env_a', 'sha256:ab', 'bcrypt', 1000, 2000)`,
		`INSERT INTO user_imports (user_id, env_id, hash_source, hash_format, created_at, updated_at) VALUES ('usr_nohash', 'env_a', '', '', 3000, 3000)`,
	} {
		_, err := db.ExecContext(ctx, stmt)
		must(t, err, stmt)
	}
	s, err := store.Open(ctx, dsn)
	must(t, err, "store.Open")
	q := s.Q()
	for _, c := range []struct {
		id, origin string
		migrated   time.Time
	}{
		{"usr_hash", store.OriginImportHash, time.UnixMicro(1000).UTC()},
		{"usr_nohash", store.OriginImportNoHash, time.UnixMicro(3000).UTC()},
		{"usr_native", store.OriginNative, time.Time{}},
	} {
		u, err := q.GetUser(ctx, "env_a", c.id)
		must(t, err, "GetUser "+c.id)
		if u.Origin != c.origin || !u.MigratedAt.Equal(c.migrated) {
			t.Errorf("%s after 00008: origin %q migrated_at %v, want %q %v", c.id, u.Origin, u.MigratedAt, c.origin, c.migrated)
		}
	}
	must(t, s.Close(), "closing the store")
	_, err = p.DownTo(ctx, 7)
	must(t, err, "migrating 00008 down")
	if _, err := db.ExecContext(ctx, `SELECT origin FROM users`); err == nil {
		t.Error("users.origin still exists after migrating 00008 down")
	}
	if _, err := db.ExecContext(ctx, `SELECT COUNT(*) FROM legacy_auth_settings`); err == nil {
		t.Error("legacy_auth_settings still exists after migrating 00008 down")
	}
}

// testOriginRoundTrip: CreateUser stores origin and migrated_at, UpdateUser
// leaves them alone, MarkMigrated changes them.
func testOriginRoundTrip(t *testing.T, dsn string) {
	f := open(t, dsn)
	e := f.env(t)
	u := f.user(t, e.ID, "imp@x.test", func(u *store.User) { u.Origin, u.MigratedAt = store.OriginImportHash, at(time.Hour) })
	got, err := f.q.GetUser(f.ctx, e.ID, u.ID)
	must(t, err, "GetUser")
	if got.Origin != store.OriginImportHash || !got.MigratedAt.Equal(utc(at(time.Hour))) || got.MigratedAt.Location() != time.UTC {
		t.Errorf("read back origin %q migrated_at %v, want %q %v", got.Origin, got.MigratedAt, store.OriginImportHash, utc(at(time.Hour)))
	}
	got.Origin, got.MigratedAt, got.GivenName = store.OriginNative, time.Time{}, "Changed"
	must(t, f.q.UpdateUser(f.ctx, got, "imp@x.test"), "UpdateUser")
	got, err = f.q.GetUser(f.ctx, e.ID, u.ID)
	must(t, err, "GetUser after UpdateUser")
	if got.GivenName != "Changed" || got.Origin != store.OriginImportHash || got.MigratedAt.IsZero() {
		t.Errorf("after UpdateUser: given %q origin %q migrated_at %v; want the name changed and the origin kept", got.GivenName, got.Origin, got.MigratedAt)
	}
	must(t, f.q.MarkMigrated(f.ctx, e.ID, u.ID, store.OriginLazy, at(2*time.Hour)), "MarkMigrated")
	got, err = f.q.GetUser(f.ctx, e.ID, u.ID)
	must(t, err, "GetUser after MarkMigrated")
	if got.Origin != store.OriginLazy || !got.MigratedAt.Equal(utc(at(2*time.Hour))) {
		t.Errorf("after MarkMigrated: origin %q migrated_at %v", got.Origin, got.MigratedAt)
	}
	wantNotFound(t, f.q.MarkMigrated(f.ctx, e.ID, "usr_missing", store.OriginLazy, t0), "MarkMigrated of an unknown user")
}

func testMigrationCounts(t *testing.T, dsn string) {
	f := open(t, dsn)
	e, other := f.env(t), f.env(t)
	mk := func(envID, email, origin string, migrated, login time.Time, password bool) {
		u := f.user(t, envID, email, func(u *store.User) { u.Origin, u.MigratedAt, u.LastLoginAt = origin, migrated, login })
		if password {
			must(t, f.q.SetPasswordHash(f.ctx, envID, u.ID, "$argon2id$x", t0), "SetPasswordHash")
		}
	}
	none := time.Time{}
	mk(e.ID, "n1@x.test", store.OriginNative, none, none, false)
	mk(e.ID, "n2@x.test", store.OriginNative, none, at(time.Hour), true)
	mk(e.ID, "h1@x.test", store.OriginImportHash, at(time.Hour), none, true)
	mk(e.ID, "h2@x.test", store.OriginImportHash, at(time.Hour), at(2*time.Hour), true)
	mk(e.ID, "h3@x.test", store.OriginImportHash, at(time.Hour), at(-time.Hour), true) // signed in before the import only
	mk(e.ID, "x1@x.test", store.OriginImportNoHash, at(time.Hour), none, false)
	mk(e.ID, "x2@x.test", store.OriginImportNoHash, at(time.Hour), at(time.Hour), false) // signed in by code at once
	mk(e.ID, "x3@x.test", store.OriginImportNoHash, at(time.Hour), at(-time.Hour), false)
	mk(e.ID, "x4@x.test", store.OriginImportNoHash, at(time.Hour), none, true) // set a password by reset
	mk(e.ID, "l1@x.test", store.OriginLazy, at(time.Hour), at(time.Hour), true)
	mk(other.ID, "o@x.test", store.OriginImportNoHash, at(time.Hour), none, false)

	got, err := f.q.MigrationCounts(f.ctx, e.ID)
	must(t, err, "MigrationCounts")
	wantEqual(t, "counts", got, []store.OriginCount{
		{Origin: store.OriginNative, Users: 2, SignedInSince: 1, NoPasswordNotSignedIn: 1},
		{Origin: store.OriginImportHash, Users: 3, SignedInSince: 1, NoPasswordNotSignedIn: 0},
		{Origin: store.OriginImportNoHash, Users: 4, SignedInSince: 1, NoPasswordNotSignedIn: 2},
		{Origin: store.OriginLazy, Users: 1, SignedInSince: 1, NoPasswordNotSignedIn: 0},
	})
	empty := f.env(t)
	got, err = f.q.MigrationCounts(f.ctx, empty.ID)
	must(t, err, "MigrationCounts of an empty environment")
	if len(got) != 0 {
		t.Errorf("empty environment: %+v", got)
	}
}

func testLegacyAuthSettings(t *testing.T, dsn string) {
	f := open(t, dsn)
	e := f.env(t)
	_, err := f.q.GetLegacyAuth(f.ctx, e.ID)
	wantNotFound(t, err, "GetLegacyAuth before any PutLegacyAuth")
	in := &store.LegacyAuth{EnvID: e.ID, URL: "https://legacy.example/verify", SecretEnc: "c2VhbGVk", Timeout: 2500 * time.Millisecond,
		CreateUnknownUsers: true, UpdatedAt: t0}
	must(t, f.q.PutLegacyAuth(f.ctx, in), "PutLegacyAuth")
	got, err := f.q.GetLegacyAuth(f.ctx, e.ID)
	must(t, err, "GetLegacyAuth")
	want := *in
	want.UpdatedAt = utc(t0)
	wantEqual(t, "legacy auth", got, &want)
	in.URL, in.CreateUnknownUsers, in.Timeout = "https://legacy.example/v2", false, 3*time.Second
	must(t, f.q.PutLegacyAuth(f.ctx, in), "PutLegacyAuth again")
	got, err = f.q.GetLegacyAuth(f.ctx, e.ID)
	must(t, err, "GetLegacyAuth after the update")
	if got.URL != in.URL || got.CreateUnknownUsers || got.Timeout != 3*time.Second {
		t.Errorf("after the update: %+v", got)
	}
	must(t, f.q.DeleteLegacyAuth(f.ctx, e.ID), "DeleteLegacyAuth")
	_, err = f.q.GetLegacyAuth(f.ctx, e.ID)
	wantNotFound(t, err, "GetLegacyAuth after DeleteLegacyAuth")
	must(t, f.q.DeleteLegacyAuth(f.ctx, e.ID), "DeleteLegacyAuth when there is none")
}
