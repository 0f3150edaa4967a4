-- +goose Up
-- Bulk import (gatehouse.v1.ImportService). A user's password hash lives in
-- user_passwords (00005), shared with the hosted login; this table records
-- how a user arrived through an import, so that importing the same export
-- again changes nothing even after the user has logged in (and the login
-- replaced the imported hash with argon2id) or changed their password.
--
-- hash_source identifies the password hash last imported for the user:
-- 'sha256:<hex>' of the source string for slow hashes (bcrypt, scrypt,
-- PBKDF2, ...), which reveals nothing without that string; for fast
-- digests (MD5, SHA-x), which must never be kept in a fast form, the
-- argon2id-wrapped value that was stored (passwords.SameImport compares a
-- new source against it). '' when the import carried no hash.
CREATE TABLE user_imports (
    user_id     TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    env_id      TEXT NOT NULL,
    hash_source TEXT NOT NULL DEFAULT '',
    hash_format TEXT NOT NULL DEFAULT '',
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE INDEX user_imports_env ON user_imports (env_id, user_id);

-- Users' roles are read by user (a user with their memberships, here for
-- a whole batch at once); the key starts with org_id, so without this
-- index each such read scans membership_roles.
CREATE INDEX membership_roles_user ON membership_roles (env_id, user_id);

-- +goose Down
DROP INDEX membership_roles_user;
DROP TABLE user_imports;
