-- Order emails join the welcome message, and each message records what
-- became of it: kept in the mailbox only, or sent by SMTP as well (and when).

ALTER TABLE mailbox
    DROP CONSTRAINT mailbox_kind_check,
    ADD CONSTRAINT mailbox_kind_check
        CHECK (kind IN ('welcome', 'order_confirmed', 'order_failed', 'order_shipped'));

-- The default stays: a replica still running the previous release during a
-- rolling deploy inserts without these columns, and its messages are kept
-- in the mailbox only, which is what that release did.
ALTER TABLE mailbox
    ADD COLUMN status  text NOT NULL DEFAULT 'kept' CHECK (status IN ('kept', 'sent')),
    ADD COLUMN sent_at timestamptz,
    ADD CONSTRAINT mailbox_sent_at_check CHECK ((status = 'sent') = (sent_at IS NOT NULL));
