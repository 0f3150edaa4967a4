-- +goose Up
-- The delivery state of each queued email (internal/mail): attempts is
-- how many sends failed, last_error the newest failure, retry_at when the
-- next attempt is due (NULL: at once), given_up_at when the worker
-- stopped trying. A message is queued (no attempt yet), sent (sent_at),
-- failing (attempts > 0) or given up (given_up_at).
ALTER TABLE emails ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE emails ADD COLUMN last_error TEXT NOT NULL DEFAULT '';
ALTER TABLE emails ADD COLUMN retry_at BIGINT;
ALTER TABLE emails ADD COLUMN given_up_at BIGINT;

-- mail_health: whether an environment's mail server is reachable. The
-- worker sets failing_since at a failure of the server itself (cannot
-- connect, refused, MAIL FROM or DATA refused) and clears it at the next
-- delivery; a refused recipient does not count. The login pages read it
-- to say that an email cannot be sent right now, the same for every
-- address, so it tells nothing about which accounts exist.
CREATE TABLE mail_health (
    env_id        TEXT PRIMARY KEY,
    failing_since BIGINT,
    failures      INTEGER NOT NULL,
    last_error    TEXT NOT NULL,
    updated_at    BIGINT NOT NULL
);

-- +goose Down
DROP TABLE mail_health;
ALTER TABLE emails DROP COLUMN given_up_at;
ALTER TABLE emails DROP COLUMN retry_at;
ALTER TABLE emails DROP COLUMN last_error;
ALTER TABLE emails DROP COLUMN attempts;
