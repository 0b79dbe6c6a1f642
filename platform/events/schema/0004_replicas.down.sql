DROP TABLE IF EXISTS process_heartbeats;
