-- +goose Up
-- Migration status (docs/lazy-migration.md). users.origin records how a
-- user's account (and password) arrived: '' created natively or through
-- the API, 'import_hash' by a bulk import with a password hash,
-- 'import_no_hash' by a bulk import without one, 'lazy' verified by the
-- environment's legacy endpoint at a password login (which replaces ''
-- or 'import_no_hash' for a user who had no password). migrated_at is
-- when that import or lazy migration happened; a user has signed in since
-- when last_login_at >= migrated_at.
ALTER TABLE users ADD COLUMN origin TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN migrated_at BIGINT;
UPDATE users SET
    origin = (SELECT CASE WHEN ui.hash_source = '' THEN 'import_no_hash' ELSE 'import_hash' END
        FROM user_imports ui WHERE ui.user_id = users.id),
    migrated_at = (SELECT ui.created_at FROM user_imports ui WHERE ui.user_id = users.id)
    WHERE id IN (SELECT user_id FROM user_imports);
CREATE INDEX users_origin ON users (env_id, origin);

-- legacy_auth_settings: an environment's legacy verification endpoint for
-- lazy migration. secret_enc is the HMAC secret sealed with the server's
-- master key (AES-256-GCM, as signing keys are); it is never returned by
-- the API. No row means lazy migration is off.
CREATE TABLE legacy_auth_settings (
    env_id               TEXT PRIMARY KEY REFERENCES environments (id),
    url                  TEXT NOT NULL,
    secret_enc           TEXT NOT NULL,
    timeout_ms           INTEGER NOT NULL,
    create_unknown_users BOOLEAN NOT NULL,
    updated_at           BIGINT NOT NULL
);

-- +goose Down
DROP TABLE legacy_auth_settings;
DROP INDEX users_origin;
ALTER TABLE users DROP COLUMN migrated_at;
ALTER TABLE users DROP COLUMN origin;
