package ops

import (
	"context"
	"log/slog"
	"time"

	"github.com/shopmonolith/shop/platform/database"
	"github.com/shopmonolith/shop/platform/kernel"
)

// HeartbeatEvery is how often a process refreshes its heartbeat rows, and
// SeenWithin how recent a row must be for its process to be listed.
const (
	HeartbeatEvery = 5 * time.Second
	SeenWithin     = 15 * time.Second
	// forgetAfter prunes the rows of processes gone long ago.
	forgetAfter = time.Hour
)

// Process is one running shop process: the instance id it chose at start
// (a replica restarted is a new instance), where it runs and what.
type Process struct {
	Instance  string    `json:"instance"`
	Hostname  string    `json:"hostname"`
	Version   string    `json:"version"`
	Address   string    `json:"address" description:"its internal listener (host:port), empty when it serves none"`
	Modules   []string  `json:"modules"`
	StartedAt time.Time `json:"started_at"`
	SeenAt    time.Time `json:"seen_at" description:"its last heartbeat"`
}

// heartbeat writes this process's row into each hosted module's schema;
// it is a kernel worker.
type heartbeat struct {
	kernel.Background
	self func() Process
	dbs  func() []*database.DB
	log  *slog.Logger
}

// Start writes the first heartbeat, so that a process is listed as soon as
// it serves, then refreshes it in the background.
func (h *heartbeat) Start(ctx context.Context) error {
	h.beat(ctx)
	return h.Background.Start(ctx, func(ctx context.Context) {
		kernel.Every(ctx, HeartbeatEvery, h.beat)
	})
}

// Stop ends the refreshes and removes the rows: a process that stops
// cleanly leaves the list at once, one that dies after SeenWithin.
func (h *heartbeat) Stop(ctx context.Context) error {
	err := h.Background.Stop(ctx)
	me := h.self().Instance
	for _, db := range h.dbs() {
		if _, err := db.Pool.Exec(ctx, `DELETE FROM process_heartbeats WHERE instance = $1`, me); err != nil {
			h.log.Warn("removing the heartbeat failed", slog.String("module", db.Module), slog.String("error", err.Error()))
		}
	}
	return err
}

func (h *heartbeat) beat(ctx context.Context) {
	p := h.self()
	for _, db := range h.dbs() {
		_, err := db.Pool.Exec(ctx, `INSERT INTO process_heartbeats (instance, hostname, version, address, modules, started_at)
			VALUES ($1, $2, $3, $4, $5, $6)
			ON CONFLICT (instance) DO UPDATE SET address = excluded.address, seen_at = now()`,
			p.Instance, p.Hostname, p.Version, p.Address, p.Modules, p.StartedAt)
		if err == nil {
			_, err = db.Pool.Exec(ctx, `DELETE FROM process_heartbeats WHERE seen_at < now() - make_interval(secs => $1)`, forgetAfter.Seconds())
		}
		if err != nil && ctx.Err() == nil {
			h.log.Warn("heartbeat failed", slog.String("module", db.Module), slog.String("error", err.Error()))
		}
	}
}

// replicas lists the processes that refreshed their row in db within
// SeenWithin.
func replicas(ctx context.Context, db *database.DB) ([]Process, error) {
	rows, err := db.Pool.Query(ctx, `SELECT instance, hostname, version, address, modules, started_at, seen_at
		FROM process_heartbeats WHERE seen_at > now() - make_interval(secs => $1) ORDER BY started_at, instance`, SeenWithin.Seconds())
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Process
	for rows.Next() {
		var p Process
		if err := rows.Scan(&p.Instance, &p.Hostname, &p.Version, &p.Address, &p.Modules, &p.StartedAt, &p.SeenAt); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}
