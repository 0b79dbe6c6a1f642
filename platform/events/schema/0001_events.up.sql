-- The event tables every module carries in its own schema: the outbox of
-- what it publishes and the inbox of what it receives. Owned by
-- platform/events, versioned in events_schema_migrations.

CREATE TABLE event_outbox (
    seq          bigserial   PRIMARY KEY,
    id           uuid        NOT NULL, -- UUIDv7; subscribers' inboxes deduplicate by it
    type         text        NOT NULL,
    key          text        NOT NULL,
    payload      jsonb       NOT NULL,
    metadata     jsonb       NOT NULL DEFAULT '{}',
    occurred_at  timestamptz NOT NULL,
    forwarded_at timestamptz
);
-- The relay reads what is not forwarded yet, in commit order. Pruning walks
-- the primary key from the oldest row, so the write path pays for no other
-- index.
CREATE INDEX event_outbox_pending_idx ON event_outbox (seq) WHERE forwarded_at IS NULL;

CREATE TABLE event_inbox (
    subscriber      text        NOT NULL,
    event_id        uuid        NOT NULL,
    publisher       text        NOT NULL,
    source_seq      bigint      NOT NULL,
    type            text        NOT NULL,
    key             text        NOT NULL,
    payload         jsonb       NOT NULL,
    metadata        jsonb       NOT NULL DEFAULT '{}',
    occurred_at     timestamptz NOT NULL,
    received_at     timestamptz NOT NULL DEFAULT now(),
    status          text        NOT NULL DEFAULT 'pending',
    attempts        integer     NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_error      text,
    handled_at      timestamptz,
    PRIMARY KEY (subscriber, event_id),
    CONSTRAINT event_inbox_status_check CHECK (status IN ('pending', 'done', 'dead'))
);
-- Claiming: the oldest ready event of a subscriber whose key has no older
-- pending event.
CREATE INDEX event_inbox_ready_idx ON event_inbox (subscriber, next_attempt_at, source_seq) WHERE status = 'pending';
CREATE INDEX event_inbox_key_idx ON event_inbox (subscriber, publisher, key, source_seq) WHERE status = 'pending';
CREATE INDEX event_inbox_dead_idx ON event_inbox (subscriber) WHERE status = 'dead';
CREATE INDEX event_inbox_done_idx ON event_inbox (handled_at) WHERE status = 'done';
