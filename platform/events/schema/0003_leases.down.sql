ALTER TABLE event_inbox DROP COLUMN IF EXISTS lease_token;
