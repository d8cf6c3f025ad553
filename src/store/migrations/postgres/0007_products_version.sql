-- The products' version: one more on every product inserted, changed or
-- deleted, by triggers, so that every writer (any process, any code path)
-- counts. The bearer check reads it with the token, in the same snapshot;
-- a server keeps the products it read at a version and serves them again
-- while the version is unchanged, so a change holds from the next request
-- on, on every instance.
ALTER TABLE catalog_state ADD COLUMN products_version BIGINT NOT NULL DEFAULT 0;

-- One function for the three row triggers (SQLite's triggers are per row);
-- the search_path is pinned to the one the migration ran with.
CREATE FUNCTION products_version_bump() RETURNS trigger
LANGUAGE plpgsql
SET search_path FROM CURRENT
AS $$
BEGIN
    UPDATE catalog_state SET products_version = products_version + 1 WHERE id = 1;
    RETURN NULL;
END;
$$;

CREATE TRIGGER products_version_on_insert AFTER INSERT ON products
    FOR EACH ROW EXECUTE FUNCTION products_version_bump();

CREATE TRIGGER products_version_on_update AFTER UPDATE ON products
    FOR EACH ROW EXECUTE FUNCTION products_version_bump();

CREATE TRIGGER products_version_on_delete AFTER DELETE ON products
    FOR EACH ROW EXECUTE FUNCTION products_version_bump();
