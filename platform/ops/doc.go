// Package ops answers what operators ask of a running shop, for the ops
// page of the admin (GET /api/admin/ops): every module, where it runs, its
// health, its event backlog and dead letters and the p99 latency of its
// routes; the module graph; and the replicas running.
//
// A process knows its hosted modules first hand (its readiness checks, its
// event tables, its own Prometheus histograms). Of a module it reaches at
// another process's URL it asks that process, on its internal endpoints,
// with the same service-to-service call as any other (remote.StatusMethod,
// signed by the edge): one generic method every process serves for the
// modules it hosts. A neighbour that does not answer within Timeout (1 s)
// is shown "unreachable"; it never holds the page up.
//
// Replicas: the shop keeps no registry of processes, and a process holds
// the database credentials of its own modules only, so each process
// refreshes a heartbeat row (process_heartbeats, one of the platform
// tables in every module schema) in each module it hosts every
// HeartbeatEvery, and removes it when it stops. The replicas of a module
// are the rows refreshed within SeenWithin; the page lists those of the
// hosted modules' tables and those the remote modules' processes report,
// which holds as well in one process as with a module in its own.
package ops
