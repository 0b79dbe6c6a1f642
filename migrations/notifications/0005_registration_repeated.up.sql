-- The notice to an account's owner that someone tried to sign up with its
-- address joins the message kinds.
ALTER TABLE mailbox
    DROP CONSTRAINT mailbox_kind_check,
    ADD CONSTRAINT mailbox_kind_check
        CHECK (kind IN ('welcome', 'registration_repeated', 'order_confirmed', 'order_failed', 'order_shipped'));
