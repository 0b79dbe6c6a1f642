-- The payments module's tables, in the module's own schema.

-- The card vault of the simulated gateway: a token stands for a card
-- number. A real deployment keeps no numbers here: the provider's hosted
-- fields tokenize the card and this table would hold the provider's token
-- and display data only. The simulated gateway keeps its test numbers.
CREATE TABLE cards (
    token      text        PRIMARY KEY, -- tok_<random>
    number     text        NOT NULL CHECK (number ~ '^[0-9]{12,19}$'),
    brand      text        NOT NULL CHECK (brand IN ('visa', 'mastercard', 'amex', 'card')),
    last4      text        NOT NULL CHECK (last4 ~ '^[0-9]{4}$'),
    created_at timestamptz NOT NULL
);

-- One payment per order. The unique order_id decides which of two
-- concurrent authorizations of an order is recorded.
CREATE TABLE payments (
    id            uuid        PRIMARY KEY,
    order_id      text        NOT NULL,
    status        text        NOT NULL
                  CHECK (status IN ('authorized', 'declined', 'failed', 'captured', 'voided', 'refunded')),
    amount        bigint      NOT NULL CHECK (amount > 0),
    currency      text        NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    card_token    text        NOT NULL,
    brand         text        NOT NULL,
    last4         text        NOT NULL,
    reason        text        NOT NULL DEFAULT '', -- why it was declined or failed
    provider_ref  text        NOT NULL DEFAULT '', -- the gateway's reference of the authorization
    -- The gateway operation under way (capture, void or refund): recorded
    -- before the gateway is called and cleared when its outcome is, so that a
    -- retry after a crash or a lost answer finishes it with the same
    -- idempotency key, and no opposite operation starts meanwhile.
    pending_operation text    NOT NULL DEFAULT '' CHECK (pending_operation IN ('', 'capture', 'void', 'refund')),
    authorized_at timestamptz,
    captured_at   timestamptz,
    refunded_at   timestamptz, -- voided or refunded
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL,
    CONSTRAINT payments_order_id_key UNIQUE (order_id),
    CONSTRAINT payments_pending_check CHECK (
        pending_operation = ''
        OR (pending_operation IN ('capture', 'void') AND status = 'authorized')
        OR (pending_operation = 'refund' AND status = 'captured'))
);

-- The ledger of the simulated gateway: what the provider did, once per
-- idempotency key. A repeated key returns the first result, as a real
-- provider's idempotency keys do; tests count its rows to prove that
-- nothing was captured or refunded twice.
CREATE TABLE gateway_operations (
    idempotency_key text        PRIMARY KEY,
    kind            text        NOT NULL CHECK (kind IN ('authorize', 'capture', 'void', 'refund')),
    -- For an authorization the reference it created; for the others the
    -- authorization they apply to (or, for a void of an authorization whose
    -- answer was lost, the reference the void was asked for).
    provider_ref    text        NOT NULL,
    amount          bigint      NOT NULL,
    currency        text        NOT NULL,
    outcome         text        NOT NULL CHECK (outcome IN ('approved', 'declined')),
    decline_reason  text        NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL
);
CREATE INDEX gateway_operations_ref_idx ON gateway_operations (provider_ref, kind);
