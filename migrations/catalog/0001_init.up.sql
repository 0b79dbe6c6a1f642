-- Catalog: categories, products and deals. Tables live in the module's own
-- schema (the connection's search_path); nothing here refers to another schema.

CREATE TABLE categories (
    id         uuid        PRIMARY KEY,
    slug       text        NOT NULL,
    name       text        NOT NULL,
    active     boolean     NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    CONSTRAINT categories_slug_key UNIQUE (slug),
    CONSTRAINT categories_slug_check CHECK (slug ~ '^[a-z0-9-]{1,64}$')
);

CREATE TABLE products (
    id          uuid        PRIMARY KEY,
    sku         text        NOT NULL,
    name        text        NOT NULL,
    description text        NOT NULL DEFAULT '',
    price_minor bigint      NOT NULL,
    currency    text        NOT NULL,
    category_id uuid        REFERENCES categories (id),
    active      boolean     NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL,
    -- The 'simple' configuration does no stemming, so SKUs and brand names
    -- are matched as written; prefix queries cover partial words.
    search      tsvector    GENERATED ALWAYS AS (
        to_tsvector('simple', name || ' ' || description || ' ' || sku)
    ) STORED,
    -- SKUs are stored upper-cased, so this index makes them unique
    -- case-insensitively.
    CONSTRAINT products_sku_key UNIQUE (sku),
    CONSTRAINT products_sku_upper_check CHECK (sku = upper(sku)),
    CONSTRAINT products_price_check CHECK (price_minor BETWEEN 0 AND 10000000000),
    CONSTRAINT products_currency_check CHECK (currency ~ '^[A-Z]{3}$')
);

CREATE INDEX products_category_id_idx ON products (category_id, id);
CREATE INDEX products_search_idx ON products USING gin (search);

CREATE TABLE deals (
    id          uuid        PRIMARY KEY,
    name        text        NOT NULL,
    kind        text        NOT NULL,
    value       bigint      NOT NULL,
    currency    text        NOT NULL DEFAULT '',
    product_id  uuid        REFERENCES products (id),
    category_id uuid        REFERENCES categories (id),
    starts_at   timestamptz NOT NULL,
    ends_at     timestamptz NOT NULL,
    active      boolean     NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL,
    CONSTRAINT deals_kind_check CHECK (
        (kind = 'percent' AND value BETWEEN 1 AND 99 AND currency = '')
        OR (kind = 'fixed' AND value >= 1 AND currency ~ '^[A-Z]{3}$')
    ),
    CONSTRAINT deals_target_check CHECK ((product_id IS NULL) <> (category_id IS NULL)),
    CONSTRAINT deals_window_check CHECK (starts_at < ends_at)
);

-- Pricing a page of products looks up the current deals of its products and
-- categories; only active deals are ever applied.
CREATE INDEX deals_product_id_idx ON deals (product_id) WHERE active AND product_id IS NOT NULL;
CREATE INDEX deals_category_id_idx ON deals (category_id) WHERE active AND category_id IS NOT NULL;
