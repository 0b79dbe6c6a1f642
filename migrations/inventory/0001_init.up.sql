-- Inventory: the stock of every product and the reservations orders hold on
-- it. Tables live in the module's own schema (the connection's search_path);
-- nothing here refers to another schema. The CHECK constraints are the last
-- line of defence: whatever the code does, the database itself refuses
-- negative or over-reserved stock.

CREATE TABLE stock (
    product_id uuid        PRIMARY KEY, -- catalog's product id; no foreign key across schemas
    on_hand    integer     NOT NULL,
    reserved   integer     NOT NULL,
    updated_at timestamptz NOT NULL,
    CONSTRAINT stock_on_hand_check CHECK (on_hand >= 0),
    CONSTRAINT stock_reserved_check CHECK (reserved >= 0),
    CONSTRAINT stock_reserved_on_hand_check CHECK (reserved <= on_hand)
);

CREATE TABLE reservations (
    id         text        PRIMARY KEY, -- the caller's id (an order id)
    status     text        NOT NULL,
    -- When held stock is given back unless committed. NULL when nothing was
    -- ever held: a rejected reservation, or one released before it was
    -- reserved (a tombstone, which has no lines).
    expires_at timestamptz,
    shortages  jsonb       NOT NULL DEFAULT '[]', -- [{product_id, requested, available}] of a rejection
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    CONSTRAINT reservations_id_check CHECK (length(id) BETWEEN 1 AND 128),
    CONSTRAINT reservations_status_check CHECK (status IN ('held', 'committed', 'released', 'expired', 'rejected')),
    CONSTRAINT reservations_held_expires_check CHECK (status <> 'held' OR expires_at IS NOT NULL)
);

-- The sweeper looks for held reservations past their expiry.
CREATE INDEX reservations_due_idx ON reservations (expires_at) WHERE status = 'held';

CREATE TABLE reservation_lines (
    reservation_id text    NOT NULL REFERENCES reservations (id) ON DELETE CASCADE,
    position       integer NOT NULL, -- the line's place in the request, from 1
    product_id     uuid    NOT NULL,
    quantity       integer NOT NULL,
    PRIMARY KEY (reservation_id, product_id),
    CONSTRAINT reservation_lines_position_key UNIQUE (reservation_id, position),
    CONSTRAINT reservation_lines_quantity_check CHECK (quantity BETWEEN 1 AND 1000)
);
