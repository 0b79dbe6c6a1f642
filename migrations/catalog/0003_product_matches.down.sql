DROP FUNCTION IF EXISTS product_matches(text);
