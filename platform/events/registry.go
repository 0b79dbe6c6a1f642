package events

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/shopmonolith/shop/platform/database"
	"github.com/shopmonolith/shop/platform/errs"
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
	if b.broker != nil {
		return nil // the durable consumers carry events whoever hosts their publisher
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

// refreshEvery is the janitor's cadence, on which running subscriptions
// refresh their seen_at.
func (b *Bus) refreshEvery() time.Duration { return min(b.cfg.Retention/10, 10*time.Minute) }

// staleAfter is how long after its last refresh a subscription counts as
// run by no process: three missed refreshes.
func (b *Bus) staleAfter() time.Duration { return 3 * b.refreshEvery() }

// sighting is when a process last ran a subscriber id, by the registries.
type sighting struct {
	at   time.Time
	live bool // refreshed within staleAfter
}

// sightings reads the registries of this process's publishers.
func (b *Bus) sightings(ctx context.Context) (map[string]sighting, error) {
	b.mu.Lock()
	pubs := sorted(b.publishers)
	b.mu.Unlock()
	seen := map[string]sighting{}
	for _, db := range pubs {
		rows, err := db.Pool.Query(ctx, `SELECT subscriber, max(seen_at), max(seen_at) > now() - make_interval(secs => $1)
			FROM event_subscriptions GROUP BY subscriber`, b.staleAfter().Seconds())
		if err != nil {
			return nil, fmt.Errorf("subscriptions of %s: %w", db.Module, err)
		}
		var id string
		var s sighting
		_, err = pgx.ForEachRow(rows, []any{&id, &s.at, &s.live}, func() error {
			if prev, ok := seen[id]; !ok || s.at.After(prev.at) {
				seen[id] = s
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("subscriptions of %s: %w", db.Module, err)
		}
	}
	return seen, nil
}

// Forgotten is what Forget removed.
type Forgotten struct {
	Registrations int // rows of the publishers' subscription registries
	Consumers     int // durable consumers on the broker's streams (nats transport)
	Undelivered   int // pending and dead-lettered inbox rows
}

// Forget retires a subscriber id that no code runs any more: it leaves the
// registry of every publisher (so relays stop sending it events), with the
// nats transport its durable consumers are deleted from every publisher's
// stream (so the broker stops keeping events for it), and its undelivered
// events are deleted from its module's inbox. Forgetting an id again finds
// nothing and deletes nothing. It returns KindInvalid for a malformed id,
// KindConflict for an id this process registers or that another process ran
// recently (stop that first), KindNotFound when this process has no
// connection to the id's module, and KindUnavailable when the broker cannot
// be reached (the registry and the inbox are left alone then, for a retry).
func (b *Bus) Forget(ctx context.Context, subscriber string) (Forgotten, error) {
	var out Forgotten
	if !subscriberPattern.MatchString(subscriber) {
		return out, errs.E(errs.KindInvalid, "%q is not a subscriber id", subscriber)
	}
	module := publisherOf(subscriber) // an id starts with its module's name
	if slices.Contains(b.registered(module), subscriber) {
		return out, errs.E(errs.KindConflict, "%s is registered by this version of the shop; it is not retired", subscriber)
	}
	seen, err := b.sightings(ctx)
	if err != nil {
		return out, err
	}
	if s := seen[subscriber]; s.live {
		return out, errs.E(errs.KindConflict, "%s was run by a process at %s; stop every process that runs it first",
			subscriber, s.at.Format(time.RFC3339))
	}
	b.mu.Lock()
	inbox, pubs := b.modules[module], sorted(b.publishers)
	b.mu.Unlock()
	if inbox == nil {
		return out, errs.E(errs.KindNotFound, "module %s has no event tables in use in this process", module)
	}
	if b.broker != nil {
		if out.Consumers, err = b.broker.deleteConsumers(ctx, subscriber); err != nil {
			return out, err
		}
	}
	for _, db := range pubs {
		n, err := unregister(ctx, db, subscriber)
		if err != nil {
			return out, err
		}
		out.Registrations += n
	}
	// No relay forwards to the id any more (unregister waited for the one
	// in progress), so nothing arrives after this delete.
	tag, err := inbox.Pool.Exec(ctx, `DELETE FROM event_inbox WHERE subscriber = $1 AND status <> 'done'`, subscriber)
	if err != nil {
		return out, fmt.Errorf("forget %s in %s: %w", subscriber, module, err)
	}
	out.Undelivered = int(tag.RowsAffected())
	return out, nil
}

// unregister deletes a subscriber id's rows from db's registry, holding the
// publisher's relay lock so that no relay that read them is still
// forwarding.
func unregister(ctx context.Context, db *database.DB, subscriber string) (int, error) {
	var n int64
	err := pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, lockKey("relay."+db.Module)); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `DELETE FROM event_subscriptions WHERE subscriber = $1`, subscriber)
		n = tag.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("unregister %s from %s: %w", subscriber, db.Module, err)
	}
	return int(n), nil
}
