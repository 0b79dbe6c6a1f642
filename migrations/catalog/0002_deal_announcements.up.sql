-- Deals start and end with time, not with a write, so a background worker
-- announces them (catalog.deal_started.v1, catalog.deal_ended.v1). These
-- columns record that an announcement was published, in the same
-- transaction as its outbox row, so each is made once across replicas.
ALTER TABLE deals
    ADD COLUMN started_announced_at timestamptz,
    ADD COLUMN ended_announced_at   timestamptz;

-- What the worker looks for: active deals whose start is not announced yet,
-- and announced deals whose end is not.
CREATE INDEX deals_start_pending_idx ON deals (starts_at)
    WHERE active AND started_announced_at IS NULL;
CREATE INDEX deals_end_pending_idx ON deals (ends_at)
    WHERE started_announced_at IS NOT NULL AND ended_announced_at IS NULL;
