-- The products a text query matches, read through the text index
-- (products_search_idx) whatever the planner guesses. A search for a word few
-- products contain asks this for its matches (see ListProducts in the
-- catalog's store): the planner estimates a prefix match to hit 2% of the
-- products whatever the word, so on a catalog of some thousands it would scan
-- every row instead. Its own settings keep the function from being inlined,
-- so the query around it cannot turn it into a walk of the primary key either.
CREATE FUNCTION product_matches(query text) RETURNS SETOF products
    LANGUAGE sql STABLE ROWS 100
    SET enable_seqscan = off
    SET search_path FROM CURRENT
    AS $$ SELECT * FROM products WHERE search @@ to_tsquery('simple', query) $$;
