-- The key of the ring that encrypts new secrets, as the last
-- `keyring rotate` left it. Every transaction that encrypts a secret reads
-- it first: an instance whose ring is behind re-reads its key file, and
-- refuses the write rather than encrypt with an older key (issue 13, 14).
-- 0: no rotation recorded yet (any key may encrypt).
CREATE TABLE keyring_state (
    id BIGINT PRIMARY KEY CHECK (id = 1),
    active_key_id BIGINT NOT NULL
);
INSERT INTO keyring_state (id, active_key_id) VALUES (1, 0);
