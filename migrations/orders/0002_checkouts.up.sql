-- A customer's checkout in progress: one at a time per customer, so that two
-- checkouts sent at once with different Idempotency-Keys (a double click)
-- cannot both turn the same cart into an order. The cart lives in another
-- module; this row is orders' own record of the checkouts of one key that
-- run (holders: a retry with the same key runs beside the first), kept
-- while any does; one left by a stopped process is taken over once
-- started_at is old enough. A row with no holders is free.
CREATE TABLE checkouts (
    user_id    uuid        PRIMARY KEY,
    key        text        NOT NULL,
    holders    int         NOT NULL,
    started_at timestamptz NOT NULL
);
