ALTER TABLE mailbox
    DROP CONSTRAINT IF EXISTS mailbox_sent_at_check,
    DROP COLUMN IF EXISTS sent_at,
    DROP COLUMN IF EXISTS status;

-- Order emails already in the mailbox stay (NOT VALID skips them); only
-- new rows must be welcome messages again.
ALTER TABLE mailbox
    DROP CONSTRAINT mailbox_kind_check,
    ADD CONSTRAINT mailbox_kind_check CHECK (kind IN ('welcome')) NOT VALID;
