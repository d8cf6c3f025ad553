-- What a product links to, as the PIM's standard format has it (issue 16):
-- its product groups (a JSON array of codes), its parent (another product,
-- by UUID: Switchboard keeps no product models), and its associations and
-- quantified associations (JSON objects by association type, products by
-- UUID, so either API reads them in its own naming). Products stored
-- before link to nothing.
ALTER TABLE products ADD COLUMN product_groups TEXT NOT NULL DEFAULT '[]';
ALTER TABLE products ADD COLUMN parent_uuid TEXT;
ALTER TABLE products ADD COLUMN associations TEXT NOT NULL DEFAULT '{}';
ALTER TABLE products ADD COLUMN quantified_associations TEXT NOT NULL DEFAULT '{}';
-- A parent's children are found by it (a parent cannot be deleted).
CREATE INDEX products_by_parent ON products (parent_uuid);
