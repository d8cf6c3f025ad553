-- Roles (R10), groups and categories (R11), and the products of the Web API
-- (R22).

-- Goes up by one in every transaction that changes a role, a group, a
-- group's grants or the category tree. A server caches what roles and
-- groups allow and checks this number on every Web API request, so a change
-- holds from the next request on, on every instance.
CREATE TABLE catalog_state (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    version BIGINT NOT NULL
);
INSERT INTO catalog_state (id, version) VALUES (1, 1);

-- A named set of Web API permissions: a JSON array of names such as
-- "api.access" and "products.list". Connections name their role by code.
CREATE TABLE roles (
    id INTEGER PRIMARY KEY,
    code TEXT NOT NULL UNIQUE,
    label TEXT NOT NULL,
    permissions TEXT NOT NULL,
    version BIGINT NOT NULL DEFAULT 1,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
INSERT INTO roles (code, label, permissions, created_at, updated_at)
VALUES ('User', 'User', '["api.access","products.list"]',
        CAST(strftime('%s', 'now') AS INTEGER) * 1000,
        CAST(strftime('%s', 'now') AS INTEGER) * 1000);

-- The category tree. A category with children, products or grants cannot be
-- deleted (RESTRICT, and checked first to say why).
CREATE TABLE categories (
    id INTEGER PRIMARY KEY,
    code TEXT NOT NULL UNIQUE,
    label TEXT NOT NULL,
    parent_id INTEGER REFERENCES categories (id) ON DELETE RESTRICT,
    version BIGINT NOT NULL DEFAULT 1,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX categories_by_parent ON categories (parent_id);

-- A named set of category permissions. `everything` = edit on every
-- category, including those created later (the default group `All`).
CREATE TABLE groups (
    id INTEGER PRIMARY KEY,
    code TEXT NOT NULL UNIQUE,
    label TEXT NOT NULL,
    everything INTEGER NOT NULL DEFAULT 0 CHECK (everything IN (0, 1)),
    version BIGINT NOT NULL DEFAULT 1,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
INSERT INTO groups (code, label, everything, created_at, updated_at)
VALUES ('All', 'All', 1,
        CAST(strftime('%s', 'now') AS INTEGER) * 1000,
        CAST(strftime('%s', 'now') AS INTEGER) * 1000);

-- `view` or `edit` on a category and its subtree.
CREATE TABLE group_grants (
    group_id INTEGER NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    category_id INTEGER NOT NULL REFERENCES categories (id) ON DELETE RESTRICT,
    level TEXT NOT NULL CHECK (level IN ('view', 'edit')),
    PRIMARY KEY (group_id, category_id)
) WITHOUT ROWID;
CREATE INDEX grants_by_category ON group_grants (category_id);

-- Which connections use a role or a group (the delete guard).
CREATE INDEX connections_by_role ON connections (role);
CREATE INDEX connections_by_group ON connections (grp);

-- The products of the Web API. `categories` is a JSON array of category
-- codes; `attribute_values` the PIM's `values` object as JSON.
CREATE TABLE products (
    id INTEGER PRIMARY KEY,
    identifier TEXT NOT NULL UNIQUE,
    enabled INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
    family TEXT,
    categories TEXT NOT NULL DEFAULT '[]',
    attribute_values TEXT NOT NULL DEFAULT '{}',
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX products_by_updated ON products (updated_at);
