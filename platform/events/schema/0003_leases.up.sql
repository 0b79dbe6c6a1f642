-- Leases of the events whose handlers run outside any transaction (call
-- handlers): the claim commits the token and moves next_attempt_at to the
-- lease's end, so other workers skip the event (and the later events of its
-- key wait) until the handler is done or the lease has expired. The token
-- guards the records of the worker holding the lease.
ALTER TABLE event_inbox ADD COLUMN lease_token uuid;
