-- +goose Up
-- Roles and permissions, portable like 00001: a role may extend a base role
-- and inherit its permissions (transitively); permissions are named per
-- environment; each environment names its default creator and member roles,
-- and an organization may name its own default member role.

-- base_role_id is the role this one extends, NULL when none. It has no
-- foreign key so the column can be dropped on SQLite; the rbac service
-- refuses to delete a role other roles extend.
ALTER TABLE roles ADD COLUMN base_role_id TEXT;
CREATE INDEX roles_base ON roles (env_id, base_role_id);

CREATE TABLE permissions (
    id          TEXT PRIMARY KEY,
    env_id      TEXT NOT NULL REFERENCES environments (id),
    name        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    CONSTRAINT permissions_name UNIQUE (env_id, name)
);

-- role_permissions holds a role's direct permissions; inherited ones are
-- computed by walking base_role_id.
CREATE TABLE role_permissions (
    env_id        TEXT NOT NULL,
    role_id       TEXT NOT NULL REFERENCES roles (id) ON DELETE CASCADE,
    permission_id TEXT NOT NULL REFERENCES permissions (id) ON DELETE CASCADE,
    created_at    BIGINT NOT NULL,
    PRIMARY KEY (role_id, permission_id)
);
CREATE INDEX role_permissions_permission ON role_permissions (env_id, permission_id);

-- role_defaults names the role given by default: kind 'creator' (the user
-- who creates an organization) or 'member' (everyone else). org_id is ''
-- for the environment's defaults; an organization's own row overrides the
-- environment's.
CREATE TABLE role_defaults (
    env_id  TEXT NOT NULL REFERENCES environments (id),
    org_id  TEXT NOT NULL DEFAULT '',
    kind    TEXT NOT NULL,
    role_id TEXT NOT NULL REFERENCES roles (id),
    PRIMARY KEY (env_id, org_id, kind)
);
CREATE INDEX role_defaults_role ON role_defaults (env_id, role_id);

-- Environments made before this migration keep the defaults they had:
-- admin for creators, member for members.
INSERT INTO role_defaults (env_id, org_id, kind, role_id)
    SELECT env_id, '', 'creator', id FROM roles WHERE org_id = '' AND name = 'admin';
INSERT INTO role_defaults (env_id, org_id, kind, role_id)
    SELECT env_id, '', 'member', id FROM roles WHERE org_id = '' AND name = 'member';

-- +goose Down
DROP TABLE role_defaults;
DROP TABLE role_permissions;
DROP TABLE permissions;
DROP INDEX roles_base;
ALTER TABLE roles DROP COLUMN base_role_id;
