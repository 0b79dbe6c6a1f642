DROP TABLE IF EXISTS event_subscriptions;
