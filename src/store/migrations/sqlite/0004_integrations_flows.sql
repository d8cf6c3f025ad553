-- Integrations, flows and registration (SPEC §4, R12–R20).

-- The last Web API activity of a connection (a token issued or refreshed,
-- at most once an hour): with no flow step using it, 30 days without
-- activity make it stale (R16b).
ALTER TABLE connections ADD COLUMN last_activity_at BIGINT;

CREATE TABLE integrations (
    id INTEGER PRIMARY KEY,
    code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('standard', 'app')),
    version BIGINT NOT NULL DEFAULT 1,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- A flow in one integration, or standalone (integration_id NULL). An
-- integration with flows cannot be deleted (RESTRICT).
CREATE TABLE flows (
    id INTEGER PRIMARY KEY,
    code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    integration_id INTEGER REFERENCES integrations (id) ON DELETE RESTRICT,
    version BIGINT NOT NULL DEFAULT 1,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX flows_by_integration ON flows (integration_id);

-- Ordered steps; each references exactly one connection. A connection in use
-- by a step cannot be deleted (R8: RESTRICT).
CREATE TABLE flow_steps (
    flow_id INTEGER NOT NULL REFERENCES flows (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('export', 'import')),
    connection_id INTEGER NOT NULL REFERENCES connections (id) ON DELETE RESTRICT,
    PRIMARY KEY (flow_id, position)
) WITHOUT ROWID;
CREATE INDEX steps_by_connection ON flow_steps (connection_id, flow_id);

-- Registration of a connection with an integration. A deregistered
-- connection keeps its row with active = 0: the integration's existing steps
-- keep it, but a new step on it is refused until it is registered again
-- (R15), and a flow save does not register it by itself (R14).
CREATE TABLE registrations (
    integration_id INTEGER NOT NULL REFERENCES integrations (id) ON DELETE CASCADE,
    connection_id INTEGER NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
    active INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    changed_at BIGINT NOT NULL,
    PRIMARY KEY (integration_id, connection_id)
) WITHOUT ROWID;
CREATE INDEX registrations_by_connection ON registrations (connection_id, integration_id);

-- A member's access to an integration (R19).
CREATE TABLE integration_access (
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    integration_id INTEGER NOT NULL REFERENCES integrations (id) ON DELETE CASCADE,
    level TEXT NOT NULL CHECK (level IN ('manage', 'monitor')),
    PRIMARY KEY (user_id, integration_id)
) WITHOUT ROWID;
CREATE INDEX access_by_integration ON integration_access (integration_id);
