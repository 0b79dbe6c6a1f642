-- The reporting module's read model of the orders module's events. Nothing
-- here is read from another schema: journal keeps every consumed event (the
-- publisher prunes its outbox after a week, so this is what a rebuild
-- replays), and the projections are derived from it. Everything lives in the
-- module's own schema.

CREATE TABLE journal (
    event_id    uuid        PRIMARY KEY, -- a redelivered event is journalled (and counted) once
    type        text        NOT NULL,    -- the event type, e.g. orders.order_confirmed.v1
    order_id    uuid        NOT NULL,    -- orders' id; no foreign key across schemas
    occurred_at timestamptz NOT NULL,    -- when the publisher published it
    payload     jsonb       NOT NULL,    -- the event as published
    seq         bigserial   NOT NULL,    -- handling order; a rebuild replays in it
    recorded_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT journal_seq_key UNIQUE (seq)
);

-- Whether an event changes the figures depends on the order's earlier
-- events; a rebuild walks the journal order by order.
CREATE INDEX journal_order_idx ON journal (order_id, seq);

-- Sales per day (UTC, of the confirmation) and currency.
CREATE TABLE sales_daily (
    day           date   NOT NULL,
    currency      text   NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    orders        bigint NOT NULL,
    units         bigint NOT NULL,
    revenue_minor bigint NOT NULL,
    PRIMARY KEY (day, currency)
);

-- Sales per product and currency, of all time.
CREATE TABLE product_sales (
    product_id    uuid   NOT NULL, -- catalog's id; no foreign key across schemas
    currency      text   NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    sku           text   NOT NULL,
    name          text   NOT NULL,
    -- The journal seq of the sale sku and name were taken from: the latest
    -- sale names the product, whatever order rows are written in.
    name_seq      bigint NOT NULL,
    orders        bigint NOT NULL,
    units         bigint NOT NULL,
    revenue_minor bigint NOT NULL,
    PRIMARY KEY (product_id, currency)
);

-- Top products of a currency.
CREATE INDEX product_sales_top_idx ON product_sales (currency, revenue_minor DESC, units DESC, product_id) WHERE orders > 0;
