-- A customer's checkout in progress: one at a time per customer, so that two
-- checkouts sent at once with different Idempotency-Keys (a double click)
-- cannot both turn the same cart into an order. The cart lives in another
-- module; this row is orders' own record, kept only while the checkout runs
-- (a crashed one is taken over once started_at is old enough).
CREATE TABLE checkouts (
    user_id    uuid        PRIMARY KEY,
    key        text        NOT NULL,
    started_at timestamptz NOT NULL
);
