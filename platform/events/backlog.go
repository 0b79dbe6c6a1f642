package events

import (
	"context"
	"fmt"

	"github.com/shopmonolith/shop/platform/database"
)

// Backlog is what a module's event tables hold undone: its events not yet
// relayed (the outbox), and per subscriber of its inbox the events waiting
// to be handled and those given up on (dead letters).
type Backlog struct {
	Module      string              `json:"module"`
	Outbox      int64               `json:"outbox"`
	Subscribers []SubscriberBacklog `json:"subscribers"`
}

// SubscriberBacklog is one subscriber's share of its module's inbox.
type SubscriberBacklog struct {
	Subscriber string `json:"subscriber"`
	Pending    int64  `json:"pending"`
	Dead       int64  `json:"dead"`
}

// Backlog counts the undone events of a module whose database this process
// holds; false when it holds none.
func (b *Bus) Backlog(ctx context.Context, module string) (Backlog, bool, error) {
	b.mu.Lock()
	db, ok := b.modules[module]
	b.mu.Unlock()
	if !ok {
		return Backlog{}, false, nil
	}
	out, err := backlogOf(ctx, db)
	return out, true, err
}

func backlogOf(ctx context.Context, db *database.DB) (Backlog, error) {
	out := Backlog{Module: db.Module, Subscribers: []SubscriberBacklog{}}
	if err := db.Pool.QueryRow(ctx, `SELECT count(*) FROM event_outbox WHERE forwarded_at IS NULL`).Scan(&out.Outbox); err != nil {
		return out, fmt.Errorf("outbox backlog of %s: %w", db.Module, err)
	}
	rows, err := db.Pool.Query(ctx, `SELECT subscriber, count(*) FILTER (WHERE status = 'pending'), count(*) FILTER (WHERE status = 'dead')
		FROM event_inbox WHERE status IN ('pending', 'dead') GROUP BY subscriber ORDER BY subscriber`)
	if err != nil {
		return out, fmt.Errorf("inbox backlog of %s: %w", db.Module, err)
	}
	defer rows.Close()
	for rows.Next() {
		var s SubscriberBacklog
		if err := rows.Scan(&s.Subscriber, &s.Pending, &s.Dead); err != nil {
			return out, fmt.Errorf("inbox backlog of %s: %w", db.Module, err)
		}
		out.Subscribers = append(out.Subscribers, s)
	}
	return out, rows.Err()
}

// Databases lists the module databases the bus works on (the modules this
// process hosts that publish or subscribe), by module name.
func (b *Bus) Databases() []*database.DB { return b.sortedModules() }
