-- Every product has a stable UUID (v4), kept forever: the PIM's current
-- API addresses products by it (`/api/rest/v1/products-uuid`), the older
-- one by identifier; both answer it as `uuid` (issue 16). Existing
-- products get a random one here; new ones get theirs from the server, or
-- from the trigger below when another writer inserts without one.
ALTER TABLE products ADD COLUMN uuid TEXT;
UPDATE products SET uuid = lower(
    hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2)
    || '-' || substr('89ab', 1 + (abs(random()) % 4), 1) || substr(hex(randomblob(2)), 2)
    || '-' || hex(randomblob(6)));
CREATE UNIQUE INDEX products_by_uuid ON products (uuid);
CREATE TRIGGER products_uuid_on_insert AFTER INSERT ON products WHEN NEW.uuid IS NULL
BEGIN
    UPDATE products SET uuid = lower(
        hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2)
        || '-' || substr('89ab', 1 + (abs(random()) % 4), 1) || substr(hex(randomblob(2)), 2)
        || '-' || hex(randomblob(6)))
    WHERE id = NEW.id;
END;
