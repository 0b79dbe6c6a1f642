-- Notices already in the mailbox stay (NOT VALID skips them); only new rows
-- must be of the earlier kinds again.
ALTER TABLE mailbox
    DROP CONSTRAINT mailbox_kind_check,
    ADD CONSTRAINT mailbox_kind_check
        CHECK (kind IN ('welcome', 'order_confirmed', 'order_failed', 'order_shipped')) NOT VALID;
