-- The subscription registry of a publishing module: who receives its
-- events. The relay fans an event out to the subscribers registered here,
-- not to those the relaying process happens to know, so a replica of an
-- older version relays a newer subscription's events too. Each process that
-- runs a subscription registers it at start and refreshes seen_at on the
-- janitor's cadence; an id no code runs any more keeps its rows (and keeps
-- receiving events) until an operator retires it (shop events forget).
CREATE TABLE event_subscriptions (
    subscriber    text        NOT NULL,
    event_type    text        NOT NULL,
    module        text        NOT NULL, -- the module whose inbox receives the events
    registered_at timestamptz NOT NULL DEFAULT now(),
    seen_at       timestamptz NOT NULL DEFAULT now(), -- when a process running it last said so
    PRIMARY KEY (subscriber, event_type)
);
