-- The cart module's tables: one cart per user and its lines. Everything lives
-- in the module's own schema.

-- A cart exists while it holds at least one line: the last line removed
-- takes the cart with it, so an empty cart and a never-used one are alike.
CREATE TABLE carts (
    user_id    uuid        PRIMARY KEY, -- identity's user id; no foreign key across schemas
    currency   text        NOT NULL CHECK (currency ~ '^[A-Z]{3}$'), -- every line is priced in it
    updated_at timestamptz NOT NULL    -- the last change a customer made
);

-- One line per product. sku, name, unit_price_minor, currency and available
-- are the last values the catalog and inventory reported: the cart shows
-- them (marked stale) when those cannot answer in time.
CREATE TABLE cart_items (
    user_id          uuid        NOT NULL REFERENCES carts (user_id) ON DELETE CASCADE,
    product_id       uuid        NOT NULL, -- catalog's product id; no foreign key across schemas
    quantity         integer     NOT NULL CHECK (quantity BETWEEN 1 AND 99),
    sku              text        NOT NULL,
    name             text        NOT NULL,
    unit_price_minor bigint      NOT NULL CHECK (unit_price_minor >= 0),
    currency         text        NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    available        integer     NOT NULL CHECK (available >= 0),
    refreshed_at     timestamptz NOT NULL, -- when the last known values above were stored
    added_at         timestamptz NOT NULL, -- orders the lines as the customer added them
    PRIMARY KEY (user_id, product_id)
);
