-- Which key of the ring encrypted the secret; 0 = the key derived from a
-- first-format (raw 32-byte) key file.
ALTER TABLE connections ADD COLUMN secret_key_id BIGINT NOT NULL DEFAULT 0;
-- When the secret and the password were last regenerated (R6, R7).
ALTER TABLE connections ADD COLUMN secret_rotated_at BIGINT;
ALTER TABLE connections ADD COLUMN password_rotated_at BIGINT;
-- The last time the connection's client came with another connection's
-- username (R24); the details are in wrong_credentials.
ALTER TABLE connections ADD COLUMN wrong_credentials_at BIGINT;

-- Access and refresh tokens issued by /api/oauth/v1/token. A token is
-- `<prefix><id>_<verifier><checksum>`: the id selects its row (so issuing
-- appends to the table), and only a keyed digest of the 256-bit verifier is
-- kept (R25). Deleting the connection deletes them.
CREATE TABLE tokens (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    verifier_mac TEXT NOT NULL,
    connection_id INTEGER NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('access', 'refresh')),
    -- Tokens issued together (and refreshed from them) share a grant.
    grant_id BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX tokens_by_connection ON tokens (connection_id, grant_id);
CREATE INDEX tokens_by_expiry ON tokens (expires_at);

-- R24: a connection's client used with another username.
CREATE TABLE wrong_credentials (
    connection_id INTEGER NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
    username TEXT NOT NULL,
    first_at BIGINT NOT NULL,
    last_at BIGINT NOT NULL,
    attempts BIGINT NOT NULL,
    PRIMARY KEY (connection_id, username)
);
