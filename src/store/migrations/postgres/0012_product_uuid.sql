-- Every product has a stable UUID (v4), kept forever: the PIM's current
-- API addresses products by it (`/api/rest/v1/products-uuid`), the older
-- one by identifier; both answer it as `uuid` (issue 16). Existing
-- products get a random one here; new ones get theirs from the server, or
-- from the default when another writer inserts without one.
ALTER TABLE products ADD COLUMN uuid TEXT;
UPDATE products SET uuid = gen_random_uuid()::text;
ALTER TABLE products ALTER COLUMN uuid SET NOT NULL;
ALTER TABLE products ALTER COLUMN uuid SET DEFAULT gen_random_uuid()::text;
CREATE UNIQUE INDEX products_by_uuid ON products (uuid);
