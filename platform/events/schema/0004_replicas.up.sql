-- The processes that run this module, each refreshing its row every few
-- seconds (platform/ops): the replicas behind a load balancer, as the ops
-- page lists them. A row not refreshed lately is a process that stopped.
CREATE TABLE process_heartbeats (
    instance   text        PRIMARY KEY, -- a process's id, new at every start
    hostname   text        NOT NULL,
    version    text        NOT NULL,
    address    text        NOT NULL,    -- its internal listener, or empty
    modules    text[]      NOT NULL,    -- every module it hosts
    started_at timestamptz NOT NULL,
    seen_at    timestamptz NOT NULL DEFAULT now()
);
