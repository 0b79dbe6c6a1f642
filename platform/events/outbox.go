package events

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
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
	tr     trace.Tracer
	wake   func() // pokes the local relay
}

// Publish records events in the caller's transaction tx, which must be a
// transaction on the publishing module's own database. They are delivered
// only if tx commits. Each event's type must start with the module's name.
func (o *Outbox) Publish(ctx context.Context, tx *gorm.DB, evs ...Event) error {
	if len(evs) == 0 {
		return nil
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
		metaJSON, err := json.Marshal(o.announce(ctx, e, id.String()))
		if err != nil {
			return fmt.Errorf("event metadata: %w", err)
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

// announce records the publishing of event id in a producer span of its
// own ("publish orders.order_placed.v1"), and returns the metadata the event
// carries: that span's context, which the handlers' spans link to, and the
// request id.
func (o *Outbox) announce(ctx context.Context, e Event, id string) map[string]string {
	ctx, span := o.tr.Start(ctx, "publish "+e.EventType(), trace.WithSpanKind(trace.SpanKindProducer),
		trace.WithAttributes(messageAttributes(o.module, e.EventType(), id)...))
	span.SetAttributes(attribute.String("messaging.operation.type", "create"))
	span.End() // the row goes with the transaction: there is nothing more to time
	return metadataFrom(ctx)
}

// messageAttributes describe an event on the spans of its publishing and
// of its handling.
func messageAttributes(module, eventType, id string) []attribute.KeyValue {
	return []attribute.KeyValue{attribute.String("messaging.system", "shop"), attribute.String("messaging.destination.name", eventType),
		attribute.String("messaging.message.id", id), attribute.String("shop.module", module)}
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

// handling starts the consumer span of subscriber's handling of env ("handle
// orders.order_placed.v1"), under the publisher's span (so a checkout's
// events stay in its trace) and linked to it (the link says the handling is
// a later, asynchronous consequence, as messaging spans do), with the
// request id of the publisher's request on the context.
func handling(ctx context.Context, tr trace.Tracer, subscriber *subscription, env Envelope) (context.Context, trace.Span) {
	ctx = contextFrom(ctx, env.Metadata)
	opts := []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindConsumer),
		trace.WithAttributes(messageAttributes(subscriber.db.Module, env.Type, env.ID)...),
		trace.WithAttributes(attribute.String("messaging.operation.type", "process"), attribute.String("messaging.consumer.group.name", subscriber.id),
			attribute.Int("shop.event.attempt", env.Attempt))}
	if publisher := trace.SpanContextFromContext(ctx); publisher.IsValid() {
		opts = append(opts, trace.WithLinks(trace.Link{SpanContext: publisher}))
	}
	return tr.Start(ctx, "handle "+env.Type, opts...)
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
