-- The search column holds the words a search is split into: runs of letters
-- and digits (the catalog's searchTerms). The text parser alone read
-- "DEMO-000001" as 'demo' and '-000001', so a search for the SKU, or its
-- number, found nothing. Every other character now separates words before
-- parsing. A stored generated column's expression cannot be changed in
-- place (before PostgreSQL 17): it is added again, with its index, which
-- rewrites the table once.
ALTER TABLE products DROP COLUMN search;
ALTER TABLE products ADD COLUMN search tsvector GENERATED ALWAYS AS (
    to_tsvector('simple', regexp_replace(name || ' ' || description || ' ' || sku, '[^[:alnum:]]+', ' ', 'g'))
) STORED;
CREATE INDEX products_search_idx ON products USING gin (search);
