package store

import (
	"context"
	"database/sql"

	"github.com/pressly/goose/v3"
)

// SQLite's own version of migration 00011 (migrations/00011_import_tables.sql
// is PostgreSQL's). A bulk import writes, per user, rows in users,
// memberships, membership_roles, user_passwords, user_imports and three
// events, and on SQLite each row of a table keyed by TEXT is two b-tree
// insertions (the rowid table and its primary key's index) before the
// secondary indexes. As WITHOUT ROWID tables the rows live in the primary
// key's b-tree itself: one insertion, and secondary indexes point at the
// key. membership_roles is also keyed by user first, (user_id, org_id,
// role_id): the import writes users in id order, so its rows and its role
// index are appended at the right edge instead of landing on a random page
// per organization (which, at a million users, is a page read, a page
// write to the WAL and a checkpoint write per user); it then serves the
// reads by user itself, so membership_roles_user goes. Its reads by
// organization go through memberships, whose key starts with org_id. The
// role index starts with role_id (ids are unique across environments):
// led by env_id, as it was, SQLite (without statistics) took it, covering
// now that it carries the key, over the key for reads by user, and
// scanned the environment's rows.
//
// Every table is rebuilt (SQLite cannot change a table to WITHOUT ROWID
// in place): created under a new name, filled, the old one dropped, the
// new one renamed. None of the four is referenced by a foreign key, so
// dropping them cascades nowhere.

// sqliteImportTablesVersion is the version this migration takes.
const sqliteImportTablesVersion = 11

const sqliteImportTablesUp = `
CREATE TABLE membership_roles_v11 (
    env_id  TEXT NOT NULL,
    org_id  TEXT NOT NULL,
    user_id TEXT NOT NULL,
    role_id TEXT NOT NULL REFERENCES roles (id),
    PRIMARY KEY (user_id, org_id, role_id),
    FOREIGN KEY (org_id, user_id) REFERENCES memberships (org_id, user_id) ON DELETE CASCADE
) WITHOUT ROWID;
INSERT INTO membership_roles_v11 (env_id, org_id, user_id, role_id) SELECT env_id, org_id, user_id, role_id FROM membership_roles;
DROP TABLE membership_roles;
ALTER TABLE membership_roles_v11 RENAME TO membership_roles;
CREATE INDEX membership_roles_role ON membership_roles (role_id, env_id);

CREATE TABLE user_passwords_v11 (
    user_id    TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    env_id     TEXT NOT NULL,
    hash       TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
) WITHOUT ROWID;
INSERT INTO user_passwords_v11 (user_id, env_id, hash, created_at, updated_at)
    SELECT user_id, env_id, hash, created_at, updated_at FROM user_passwords;
DROP TABLE user_passwords;
ALTER TABLE user_passwords_v11 RENAME TO user_passwords;

CREATE TABLE user_imports_v11 (
    user_id     TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    env_id      TEXT NOT NULL,
    hash_source TEXT NOT NULL DEFAULT '',
    hash_format TEXT NOT NULL DEFAULT '',
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
) WITHOUT ROWID;
INSERT INTO user_imports_v11 (user_id, env_id, hash_source, hash_format, created_at, updated_at)
    SELECT user_id, env_id, hash_source, hash_format, created_at, updated_at FROM user_imports;
DROP TABLE user_imports;
ALTER TABLE user_imports_v11 RENAME TO user_imports;

CREATE TABLE events_v11 (
    id         TEXT PRIMARY KEY,
    env_id     TEXT NOT NULL,
    type       TEXT NOT NULL,
    object_id  TEXT NOT NULL,
    payload    TEXT NOT NULL,
    created_at BIGINT NOT NULL
) WITHOUT ROWID;
INSERT INTO events_v11 (id, env_id, type, object_id, payload, created_at)
    SELECT id, env_id, type, object_id, payload, created_at FROM events;
DROP TABLE events;
ALTER TABLE events_v11 RENAME TO events;
CREATE INDEX events_env ON events (env_id, id);
`

// sqliteImportTablesDown rebuilds the four tables as they were after 00010.
const sqliteImportTablesDown = `
CREATE TABLE membership_roles_v10 (
    env_id  TEXT NOT NULL,
    org_id  TEXT NOT NULL,
    user_id TEXT NOT NULL,
    role_id TEXT NOT NULL REFERENCES roles (id),
    PRIMARY KEY (org_id, user_id, role_id),
    FOREIGN KEY (org_id, user_id) REFERENCES memberships (org_id, user_id) ON DELETE CASCADE
);
INSERT INTO membership_roles_v10 (env_id, org_id, user_id, role_id) SELECT env_id, org_id, user_id, role_id FROM membership_roles;
DROP TABLE membership_roles;
ALTER TABLE membership_roles_v10 RENAME TO membership_roles;
CREATE INDEX membership_roles_role ON membership_roles (env_id, role_id);
CREATE INDEX membership_roles_user ON membership_roles (env_id, user_id);

CREATE TABLE user_passwords_v10 (
    user_id    TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    env_id     TEXT NOT NULL,
    hash       TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
INSERT INTO user_passwords_v10 (user_id, env_id, hash, created_at, updated_at)
    SELECT user_id, env_id, hash, created_at, updated_at FROM user_passwords;
DROP TABLE user_passwords;
ALTER TABLE user_passwords_v10 RENAME TO user_passwords;

CREATE TABLE user_imports_v10 (
    user_id     TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    env_id      TEXT NOT NULL,
    hash_source TEXT NOT NULL DEFAULT '',
    hash_format TEXT NOT NULL DEFAULT '',
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
INSERT INTO user_imports_v10 (user_id, env_id, hash_source, hash_format, created_at, updated_at)
    SELECT user_id, env_id, hash_source, hash_format, created_at, updated_at FROM user_imports;
DROP TABLE user_imports;
ALTER TABLE user_imports_v10 RENAME TO user_imports;
CREATE INDEX user_imports_env ON user_imports (env_id, user_id);

CREATE TABLE events_v10 (
    id         TEXT PRIMARY KEY,
    env_id     TEXT NOT NULL,
    type       TEXT NOT NULL,
    object_id  TEXT NOT NULL,
    payload    TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
INSERT INTO events_v10 (id, env_id, type, object_id, payload, created_at)
    SELECT id, env_id, type, object_id, payload, created_at FROM events;
DROP TABLE events;
ALTER TABLE events_v10 RENAME TO events;
CREATE INDEX events_env ON events (env_id, id);
`

// sqliteMigrations are the provider options that replace the SQL files of
// the versions SQLite runs differently with their Go versions.
func sqliteMigrations() []goose.ProviderOption {
	run := func(script string) *goose.GoFunc {
		return &goose.GoFunc{RunTx: func(ctx context.Context, tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, script)
			return err
		}}
	}
	return []goose.ProviderOption{
		goose.WithExcludeVersions([]int64{sqliteImportTablesVersion}),
		goose.WithGoMigrations(goose.NewGoMigration(sqliteImportTablesVersion,
			run(sqliteImportTablesUp), run(sqliteImportTablesDown))),
	}
}
