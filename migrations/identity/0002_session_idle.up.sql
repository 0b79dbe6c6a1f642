-- A session also ends when unused for the idle timeout. last_seen_at is when
-- it last authenticated a request, refreshed at most once a minute. The
-- default serves a replica still running the previous release during a
-- rolling deploy (it inserts without the column), and gives the sessions
-- open now a fresh idle window rather than ending them at once.
ALTER TABLE sessions ADD COLUMN last_seen_at timestamptz NOT NULL DEFAULT now();

-- Prune deletes sessions idle for long.
CREATE INDEX sessions_last_seen_at_idx ON sessions (last_seen_at);

-- A successful login takes back the hit it counted against its client IP,
-- which may bring a window back to zero.
ALTER TABLE login_attempts
    DROP CONSTRAINT login_attempts_count_check,
    ADD CONSTRAINT login_attempts_count_check CHECK (count >= 0);
