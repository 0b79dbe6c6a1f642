-- The notifications module's mailbox: every message the shop has sent (or
-- will send) to a user. Everything lives in the module's own schema.

CREATE TABLE mailbox (
    id                uuid        PRIMARY KEY, -- UUIDv7: id order is creation order
    -- The event that caused the message. Unique as defence in depth next to
    -- the inbox: a redelivered event can never add a second message.
    event_id          uuid        NOT NULL,
    recipient_user_id uuid        NOT NULL, -- identity's user id; no foreign key across schemas
    recipient_email   text        NOT NULL,
    kind              text        NOT NULL CHECK (kind IN ('welcome')),
    subject           text        NOT NULL,
    body              text        NOT NULL,
    created_at        timestamptz NOT NULL,
    CONSTRAINT mailbox_event_id_key UNIQUE (event_id)
);

-- An operator looks at one recipient's messages, page by page.
CREATE INDEX mailbox_recipient_idx ON mailbox (recipient_user_id, id);
