-- +goose Up
-- Environment settings (docs/settings.md): the redirect URLs, the hosted
-- login page's branding and the session policy. One row per environment for
-- each; no row means the defaults, which live in internal/settings. Portable
-- types only, as in 00001; URL lists are JSON text.
CREATE TABLE redirect_settings (
    env_id                 TEXT PRIMARY KEY REFERENCES environments (id),
    callback_urls          TEXT NOT NULL DEFAULT '[]',
    initiate_login_url     TEXT NOT NULL DEFAULT '',
    post_logout_urls       TEXT NOT NULL DEFAULT '[]',
    backchannel_logout_url TEXT NOT NULL DEFAULT '',
    updated_at             BIGINT NOT NULL
);

CREATE TABLE branding_settings (
    env_id           TEXT PRIMARY KEY REFERENCES environments (id),
    logo_url         TEXT NOT NULL DEFAULT '',
    favicon_url      TEXT NOT NULL DEFAULT '',
    primary_color    TEXT NOT NULL DEFAULT '',
    background_color TEXT NOT NULL DEFAULT '',
    company_name     TEXT NOT NULL DEFAULT '',
    terms_url        TEXT NOT NULL DEFAULT '',
    privacy_url      TEXT NOT NULL DEFAULT '',
    login_heading    TEXT NOT NULL DEFAULT '',
    updated_at       BIGINT NOT NULL
);

CREATE TABLE session_policies (
    env_id                   TEXT PRIMARY KEY REFERENCES environments (id),
    access_token_ttl_seconds INTEGER NOT NULL,
    absolute_timeout_minutes INTEGER NOT NULL,
    idle_timeout_enabled     BOOLEAN NOT NULL,
    idle_timeout_minutes     INTEGER NOT NULL,
    updated_at               BIGINT NOT NULL
);

-- An organization's own session policy (Scalekit's policy_source CUSTOM),
-- kept in the units it was given in; no row means the organization follows
-- the environment's. It goes when the organization does.
CREATE TABLE organization_session_policies (
    env_id                TEXT NOT NULL,
    org_id                TEXT PRIMARY KEY REFERENCES organizations (id) ON DELETE CASCADE,
    absolute_timeout      INTEGER NOT NULL,
    absolute_timeout_unit TEXT NOT NULL,
    idle_timeout_enabled  BOOLEAN NOT NULL,
    idle_timeout          INTEGER NOT NULL,
    idle_timeout_unit     TEXT NOT NULL,
    updated_at            BIGINT NOT NULL
);
CREATE INDEX organization_session_policies_env ON organization_session_policies (env_id, org_id);

-- +goose Down
DROP TABLE organization_session_policies;
DROP TABLE session_policies;
DROP TABLE branding_settings;
DROP TABLE redirect_settings;
