-- A capture, void or refund left pending (its caller gave up after a
-- gateway failure, or the process died) is finished by a background sweep.
-- attempted_at is when the pending operation was last taken up: set when it
-- starts, and again when a sweep claims it, so that a claimed payment is
-- left alone by the other replicas' sweeps for a grace period while the
-- claiming one calls the gateway outside any transaction.
ALTER TABLE payments ADD COLUMN attempted_at timestamptz;

-- Operations pending before this column existed are due at once.
UPDATE payments SET attempted_at = updated_at WHERE pending_operation <> '';

ALTER TABLE payments ADD CONSTRAINT payments_attempted_check
    CHECK ((pending_operation = '') = (attempted_at IS NULL));

-- What the sweep looks for: the oldest attempts of pending operations.
CREATE INDEX payments_pending_idx ON payments (attempted_at) WHERE pending_operation <> '';
