DROP INDEX IF EXISTS deals_end_pending_idx;
DROP INDEX IF EXISTS deals_start_pending_idx;
ALTER TABLE deals
    DROP COLUMN IF EXISTS ended_announced_at,
    DROP COLUMN IF EXISTS started_announced_at;
