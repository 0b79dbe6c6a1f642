CREATE TABLE orders (
    id               uuid PRIMARY KEY,
    user_id          uuid        NOT NULL,
    email            text        NOT NULL,
    status           text        NOT NULL CHECK (status IN ('placed', 'stock_reserved', 'confirmed', 'shipped', 'rejected', 'failed', 'cancelled')),
    reason           text        NOT NULL DEFAULT '',
    total_minor      bigint      NOT NULL CHECK (total_minor >= 0),
    currency         char(3)     NOT NULL,
    card_token       text        NOT NULL,
    card_last4       text        NOT NULL,
    stock_committed  boolean     NOT NULL DEFAULT false,
    payment_captured boolean     NOT NULL DEFAULT false,
    confirmed_at     timestamptz,
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL
);

CREATE INDEX orders_user_idx ON orders (user_id, created_at DESC, id DESC);
CREATE INDEX orders_created_idx ON orders (created_at DESC, id DESC);

CREATE TABLE order_items (
    order_id         uuid    NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    line             int     NOT NULL,
    product_id       uuid    NOT NULL,
    sku              text    NOT NULL,
    name             text    NOT NULL,
    quantity         int     NOT NULL CHECK (quantity > 0),
    unit_price_minor bigint  NOT NULL CHECK (unit_price_minor >= 0),
    PRIMARY KEY (order_id, line)
);

CREATE TABLE order_timeline (
    order_id uuid        NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    seq      int         NOT NULL,
    step     text        NOT NULL,
    detail   text        NOT NULL DEFAULT '',
    at       timestamptz NOT NULL,
    PRIMARY KEY (order_id, seq)
);

-- One row per (customer, Idempotency-Key): a repeated checkout finds the
-- order of the first one instead of creating another.
CREATE TABLE idempotency_keys (
    user_id      uuid        NOT NULL,
    key          text        NOT NULL,
    request_hash text        NOT NULL,
    order_id     uuid        NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    created_at   timestamptz NOT NULL,
    PRIMARY KEY (user_id, key)
);
