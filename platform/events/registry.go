package events

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/jackc/pgx/v5"

	"github.com/shopmonolith/shop/platform/database"
)

// registration is one row of a publisher's subscription registry
// (event_subscriptions): events of eventType go to subscriber, whose inbox
// is in module.
type registration struct {
	subscriber, eventType, module string
}

// registrations lists this process's subscriptions to a publisher's events.
func (b *Bus) registrations(publisher string) []registration {
	var regs []registration
	for _, s := range b.subs {
		for typ := range s.handlers {
			if publisherOf(typ) == publisher {
				regs = append(regs, registration{subscriber: s.id, eventType: typ, module: s.db.Module})
			}
		}
	}
	return regs
}

// register records this process's subscriptions to db's events in db's
// registry, through the publisher's own connection, or refreshes their
// seen_at. From then on every relay of db, in any replica, forwards the
// events committed afterwards to them.
func (b *Bus) register(ctx context.Context, db *database.DB) error {
	regs := b.registrations(db.Module)
	if len(regs) == 0 {
		return nil
	}
	subs, types, modules := make([]string, len(regs)), make([]string, len(regs)), make([]string, len(regs))
	for i, r := range regs {
		subs[i], types[i], modules[i] = r.subscriber, r.eventType, r.module
	}
	_, err := db.Pool.Exec(ctx, `INSERT INTO event_subscriptions (subscriber, event_type, module)
		SELECT * FROM unnest($1::text[], $2::text[], $3::text[])
		ON CONFLICT (subscriber, event_type) DO UPDATE SET module = excluded.module, seen_at = now()`,
		subs, types, modules)
	if err != nil {
		return fmt.Errorf("register subscriptions with %s: %w", db.Module, err)
	}
	return nil
}

// registerAll registers every subscription with its publisher's registry
// before anything relays. A subscription whose publisher this process does
// not host cannot be registered here: in this transport a process hosts
// both sides, and the broker transport of split modules carries such events
// (its durable consumers are the registry there).
func (b *Bus) registerAll(ctx context.Context) error {
	for _, db := range sorted(b.publishers) {
		if err := b.register(ctx, db); err != nil {
			return fmt.Errorf("events: %w", err)
		}
	}
	for _, s := range b.subs {
		for typ := range s.handlers {
			if _, ok := b.publishers[publisherOf(typ)]; !ok {
				b.log.Warn("subscription not registered: its publisher is not hosted in this process, so nothing relays its events here",
					slog.String("subscriber", s.id), slog.String("type", typ), slog.String("publisher", publisherOf(typ)))
			}
		}
	}
	return nil
}

// registry reads a publisher's whole registry (a few rows) by event type.
func registry(rows pgx.Rows) (map[string][]registration, error) {
	regs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (registration, error) {
		var reg registration
		err := r.Scan(&reg.subscriber, &reg.eventType, &reg.module)
		return reg, err
	})
	if err != nil {
		return nil, err
	}
	byType := map[string][]registration{}
	for _, r := range regs {
		byType[r.eventType] = append(byType[r.eventType], r)
	}
	return byType, nil
}
