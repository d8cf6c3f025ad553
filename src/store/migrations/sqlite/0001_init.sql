-- One backend = one account (SPEC §1).
CREATE TABLE account (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    max_connections BIGINT NOT NULL DEFAULT 50 CHECK (max_connections >= 0),
    -- Kept by the same transactions that insert and delete connections, so the
    -- quota check (R2) is one conditional UPDATE that serialises creators on
    -- every engine.
    connection_count BIGINT NOT NULL DEFAULT 0 CHECK (connection_count >= 0)
);
INSERT INTO account (id) VALUES (1);

CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL CHECK (kind IN ('owner', 'admin', 'member')),
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX users_one_owner ON users (kind) WHERE kind = 'owner';

CREATE TABLE connections (
    id INTEGER PRIMARY KEY,
    code TEXT NOT NULL UNIQUE,
    label TEXT NOT NULL,
    -- domain::sort_key(label): the list order (accents and case folded).
    label_key TEXT NOT NULL,
    flow_type TEXT NOT NULL CHECK (flow_type IN ('source', 'destination', 'other')),
    visual TEXT,
    client_id TEXT NOT NULL UNIQUE,
    -- XChaCha20-Poly1305: 24-byte nonce then ciphertext, bound to the code by AAD (R5).
    secret_ciphertext BLOB NOT NULL,
    -- HMAC-SHA256 of the secret under the server key, for constant-time checks.
    secret_mac TEXT NOT NULL,
    username TEXT NOT NULL UNIQUE,
    -- Keyed hash of the password; the password itself is never stored (R4).
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL DEFAULT 'User',
    grp TEXT NOT NULL DEFAULT 'All',
    credential_version BIGINT NOT NULL DEFAULT 1,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- Append-only trail of every change (R28); never holds a secret value.
CREATE INDEX connections_by_label ON connections (label_key, code);

CREATE TABLE audit (
    id INTEGER PRIMARY KEY,
    at BIGINT NOT NULL,
    actor TEXT NOT NULL,
    source TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    changes TEXT NOT NULL
);
CREATE INDEX audit_by_target ON audit (target, id);

CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN
    SELECT RAISE(ABORT, 'audit records are append-only');
END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN
    SELECT RAISE(ABORT, 'audit records are append-only');
END;
