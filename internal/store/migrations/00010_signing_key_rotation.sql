-- +goose Up
-- Signing key rotation (docs/oauth.md, "Signing keys"). A key's state is a
-- function of the clock and three times, so every node computes the same
-- state without a background job flipping rows: next (published in the
-- JWKS, not signing) before active_at; active (signs) from active_at until
-- retired_at; retiring (published, verifies, no longer signs) until
-- removed_at; removed (gone from the JWKS, its tokens fail) after. Keys
-- made before rotation existed were active from their creation; a key
-- retired then (only tests did) leaves the JWKS a day after it retired
-- instead of staying forever.
ALTER TABLE signing_keys ADD COLUMN active_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE signing_keys ADD COLUMN removed_at BIGINT;
UPDATE signing_keys SET active_at = created_at;
UPDATE signing_keys SET removed_at = retired_at + 86400000000 WHERE retired_at IS NOT NULL;

-- +goose Down
ALTER TABLE signing_keys DROP COLUMN removed_at;
ALTER TABLE signing_keys DROP COLUMN active_at;
