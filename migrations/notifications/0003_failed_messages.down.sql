ALTER TABLE mailbox
    DROP CONSTRAINT IF EXISTS mailbox_failure_check,
    DROP CONSTRAINT IF EXISTS mailbox_status_check;

-- The previous release knows no failed messages. They were never sent, so
-- they become what that release calls a message in the mailbox only; their
-- reason goes with the column.
UPDATE mailbox SET status = 'kept' WHERE status = 'failed';

ALTER TABLE mailbox
    DROP COLUMN IF EXISTS failure,
    ADD CONSTRAINT mailbox_status_check CHECK (status IN ('kept', 'sent'));
