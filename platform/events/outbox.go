package events

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"go.opentelemetry.io/otel/propagation"
	"gorm.io/gorm"

	"github.com/shopmonolith/shop/platform/database"
	"github.com/shopmonolith/shop/platform/logging"
)

// notifyChannel is the LISTEN/NOTIFY channel that wakes relays
// ("outbox:<module>") and dispatchers ("inbox:<module>").
const notifyChannel = "shop_events"

// propagator carries W3C trace context in event metadata.
var propagator = propagation.TraceContext{}

// Outbox publishes one module's events.
type Outbox struct {
	module string
	now    func() time.Time
	wake   func() // pokes the local relay
}

// Publish records events in the caller's transaction tx, which must be a
// transaction on the publishing module's own database. They are delivered
// only if tx commits. Each event's type must start with the module's name.
func (o *Outbox) Publish(ctx context.Context, tx *gorm.DB, evs ...Event) error {
	if len(evs) == 0 {
		return nil
	}
	meta := metadataFrom(ctx)
	metaJSON, err := json.Marshal(meta)
	if err != nil {
		return fmt.Errorf("event metadata: %w", err)
	}
	now := o.now().UTC()
	for _, e := range evs {
		if publisherOf(e.EventType()) != o.module {
			return fmt.Errorf("module %s cannot publish %s", o.module, e.EventType())
		}
		payload, err := json.Marshal(e)
		if err != nil {
			return fmt.Errorf("encode %s: %w", e.EventType(), err)
		}
		id, err := uuid.NewV7()
		if err != nil {
			return fmt.Errorf("event id: %w", err)
		}
		// In a transaction of database.InTx the row travels with the COMMIT,
		// in the same round trip; elsewhere it goes straight to the
		// transaction's connection (gorm's statement processing would cost
		// more than the insert).
		const insert = `INSERT INTO event_outbox (id, type, key, payload, metadata, occurred_at) VALUES ($1, $2, $3, $4, $5, $6)`
		args := []any{id, e.EventType(), e.EventKey(), payload, metaJSON, now}
		if database.DeferToCommit(tx, insert, args...) {
			continue
		}
		if _, err := tx.Statement.ConnPool.ExecContext(ctx, insert, args...); err != nil {
			return fmt.Errorf("publish %s: %w", e.EventType(), err)
		}
	}
	// Wake this process's relay once the transaction commits. A NOTIFY here
	// would serialise every publishing commit on PostgreSQL's notify lock;
	// the relay notifies other replicas itself when it is not the one
	// relaying. Transactions not opened by database.InTx fall back to NOTIFY,
	// which PostgreSQL delivers at commit.
	if o.wake != nil && database.AfterCommit(tx, o.wake) {
		return nil
	}
	if err := tx.WithContext(ctx).Exec(`SELECT pg_notify(?, ?)`, notifyChannel, "outbox:"+o.module).Error; err != nil {
		return fmt.Errorf("notify: %w", err)
	}
	return nil
}

// publisherOf returns the module an event type belongs to.
func publisherOf(eventType string) string {
	module, _, _ := strings.Cut(eventType, ".")
	return module
}

// metadataFrom captures what travels with an event: trace context and the
// request id.
func metadataFrom(ctx context.Context) map[string]string {
	meta := map[string]string{}
	propagator.Inject(ctx, propagation.MapCarrier(meta))
	if id := logging.RequestID(ctx); id != "" {
		meta["request_id"] = id
	}
	return meta
}

// contextFrom restores trace context and request id from metadata.
func contextFrom(ctx context.Context, meta map[string]string) context.Context {
	ctx = propagator.Extract(ctx, propagation.MapCarrier(meta))
	if id := meta["request_id"]; id != "" {
		ctx = logging.WithRequestID(ctx, id)
	}
	return ctx
}

// Translate returns the publishing function of a module whose internals
// speak of facts of type F rather than of its public events (internal
// packages never import the module's public package): each fact becomes its
// event through toEvent, and all are recorded in the caller's transaction.
// A fact without an event fails the publish, so the change rolls back
// instead of going unannounced.
func Translate[F any](o *Outbox, toEvent func(F) (Event, error)) func(ctx context.Context, tx *gorm.DB, facts ...F) error {
	return func(ctx context.Context, tx *gorm.DB, facts ...F) error {
		evs := make([]Event, len(facts))
		for i, f := range facts {
			e, err := toEvent(f)
			if err != nil {
				return err
			}
			evs[i] = e
		}
		return o.Publish(ctx, tx, evs...)
	}
}
