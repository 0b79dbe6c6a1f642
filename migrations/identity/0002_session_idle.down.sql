DELETE FROM login_attempts WHERE count = 0;
ALTER TABLE login_attempts
    DROP CONSTRAINT login_attempts_count_check,
    ADD CONSTRAINT login_attempts_count_check CHECK (count > 0);

DROP INDEX IF EXISTS sessions_last_seen_at_idx;
ALTER TABLE sessions DROP COLUMN IF EXISTS last_seen_at;
