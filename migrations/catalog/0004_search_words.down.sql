ALTER TABLE products DROP COLUMN search;
ALTER TABLE products ADD COLUMN search tsvector GENERATED ALWAYS AS (
    to_tsvector('simple', name || ' ' || description || ' ' || sku)
) STORED;
CREATE INDEX products_search_idx ON products USING gin (search);
