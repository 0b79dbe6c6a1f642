DROP INDEX IF EXISTS payments_pending_idx;
ALTER TABLE payments
    DROP CONSTRAINT IF EXISTS payments_attempted_check,
    DROP COLUMN IF EXISTS attempted_at;
