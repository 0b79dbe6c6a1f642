DROP TABLE IF EXISTS event_inbox;
DROP TABLE IF EXISTS event_outbox;
