-- A message the mail server refused for good (an SMTP 5xx reply to its
-- recipient or its content) stays in the mailbox as failed, with the
-- server's reply as the reason: retrying it could never succeed.

ALTER TABLE mailbox
    DROP CONSTRAINT mailbox_status_check,
    ADD CONSTRAINT mailbox_status_check CHECK (status IN ('kept', 'sent', 'failed')),
    ADD COLUMN failure text,
    -- A replica still running the previous release inserts kept or sent
    -- messages without a failure, which this admits.
    ADD CONSTRAINT mailbox_failure_check CHECK ((status = 'failed') = (failure IS NOT NULL));
