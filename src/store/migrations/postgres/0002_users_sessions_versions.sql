-- People log in to a served backend (SPEC §7): an argon2id PHC string, or
-- NULL for a user who cannot log in yet (the local owner of an embedded
-- store, until `serve` gives them a setup password).
ALTER TABLE users ADD COLUMN password_hash TEXT;
ALTER TABLE users ADD COLUMN version BIGINT NOT NULL DEFAULT 1;
ALTER TABLE users ADD COLUMN updated_at BIGINT NOT NULL DEFAULT 0;

-- Every mutable record carries a version; an update names the version it
-- read, and a stale one is refused.
ALTER TABLE connections ADD COLUMN version BIGINT NOT NULL DEFAULT 1;

-- Login sessions: only a digest of the token is kept.
CREATE TABLE sessions (
    token_digest TEXT PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL
);
CREATE INDEX sessions_by_user ON sessions (user_id);

-- Failed logins per username and per address, shared by every instance.
CREATE TABLE login_failures (
    key TEXT PRIMARY KEY,
    failures BIGINT NOT NULL,
    window_start BIGINT NOT NULL,
    locked_until BIGINT NOT NULL DEFAULT 0
);
