-- The application side of a connection (R26): how the platform reaches the
-- outside application. The auth's non-secret fields are JSON; its one
-- secret value (password, key, token or client secret) is encrypted like
-- the connection's secret (XChaCha20-Poly1305, bound by AAD to the code and
-- field, under the key ring's key `app_secret_key_id`).
ALTER TABLE connections ADD COLUMN app_base_url TEXT;
ALTER TABLE connections ADD COLUMN app_ping_path TEXT;
ALTER TABLE connections ADD COLUMN app_auth_kind TEXT;
ALTER TABLE connections ADD COLUMN app_auth TEXT;
ALTER TABLE connections ADD COLUMN app_secret_ciphertext BYTEA;
ALTER TABLE connections ADD COLUMN app_secret_key_id BIGINT;
-- R27: set when a test of the application failed, cleared when one passes.
ALTER TABLE connections ADD COLUMN offline_since BIGINT;
ALTER TABLE connections ADD COLUMN offline_reason TEXT;
-- The next background re-test of an offline connection, and the delay
-- that scheduled it (doubling from a minute to an hour). Kept here so that
-- instances on one database share the schedule: the one that claims a
-- re-test moves it forward in the same write.
ALTER TABLE connections ADD COLUMN retest_at BIGINT;
ALTER TABLE connections ADD COLUMN retest_delay_ms BIGINT;
CREATE INDEX connections_retest ON connections (retest_at) WHERE retest_at IS NOT NULL;
CREATE INDEX connections_offline ON connections (label_key, code) WHERE offline_since IS NOT NULL;
