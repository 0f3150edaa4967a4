-- +goose Up
-- Fewer index entries per imported user (docs/benchmarks.md, "Import").
-- user_imports is only ever read by user_id, which its primary key serves,
-- so user_imports_env was a second entry to write for every import record.
--
-- This file is what PostgreSQL runs. SQLite runs the version in
-- migrate_sqlite.go instead (store.migrate swaps it in), which also
-- rebuilds membership_roles, user_passwords, user_imports and events as
-- WITHOUT ROWID tables; SQLite has no ALTER for that. The Down below
-- suits both results.
DROP INDEX user_imports_env;

-- +goose Down
CREATE INDEX IF NOT EXISTS user_imports_env ON user_imports (env_id, user_id);
CREATE INDEX IF NOT EXISTS membership_roles_user ON membership_roles (env_id, user_id);
