// Package events is the only event API modules see: durable, ordered,
// at-least-once events between modules with exactly-once effects.
//
// A publisher writes events into its own schema's outbox inside the same
// transaction as the change that caused them (Outbox.Publish): a rollback
// publishes nothing, a commit is never lost. A relay per publisher forwards
// committed events, in commit order, into each subscriber's inbox (in the
// subscriber's schema, through the subscriber's connection). Dispatchers run
// each subscriber's handler in the subscriber's own transaction and mark the
// inbox row handled in that same transaction, so a redelivery has no second
// effect; a handler that calls another module runs outside any transaction
// instead, on a lease, at least once (SubscribeCalls). Events of one key are
// handled in order; failures are retried with
// exponential backoff and jitter and, after the last attempt, dead-lettered
// with their error, visible and replayable. Commits wake the pipeline through
// LISTEN/NOTIFY; a slow poll is the safety net. The design is in README.md
// beside this file.
package events

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// Event is implemented by every event struct a module declares in its public
// package. The type is a stable, versioned name ("catalog.product_created.v1")
// whose first segment names the publishing module; the key names the
// aggregate, and events of one key are delivered in order.
type Event interface {
	EventType() string
	EventKey() string
}

// Envelope is an event as delivered: its identity, its place in the
// publisher's order, and the payload.
type Envelope struct {
	ID         string
	Type       string
	Key        string
	Publisher  string
	Seq        int64
	OccurredAt time.Time
	Payload    json.RawMessage
	Metadata   map[string]string
	Attempt    int // 1 on first delivery
}

// Handler handles one event inside the subscriber's transaction tx. Returning
// an error rolls back everything it did and schedules a retry.
type Handler func(ctx context.Context, tx *gorm.DB, env Envelope) error

// On adapts a typed handler: the payload is decoded into E.
func On[E Event](fn func(ctx context.Context, tx *gorm.DB, e E, env Envelope) error) (string, Handler) {
	var zero E
	return zero.EventType(), func(ctx context.Context, tx *gorm.DB, env Envelope) error {
		e, err := decode[E](env)
		if err != nil {
			return err
		}
		return fn(ctx, tx, e, env)
	}
}

// CallHandler handles one event with no transaction open: what a handler
// needs that calls another module (a saga step), since no transaction or row
// lock may be held across such a call. It calls first, then opens its own
// short transactions to lock, check and record. Delivery is at least once
// without the exactly-once record of Handler: the inbox row is marked
// handled after the handler returns, in a transaction of its own, so a crash
// in between runs it again. A CallHandler must therefore be idempotent: its
// calls keyed by something of the event (an order id), its records checking
// what is recorded already. Returning an error schedules a retry.
type CallHandler func(ctx context.Context, env Envelope) error

// OnCall adapts a typed CallHandler: the payload is decoded into E.
func OnCall[E Event](fn func(ctx context.Context, e E, env Envelope) error) (string, CallHandler) {
	var zero E
	return zero.EventType(), func(ctx context.Context, env Envelope) error {
		e, err := decode[E](env)
		if err != nil {
			return err
		}
		return fn(ctx, e, env)
	}
}

func decode[E Event](env Envelope) (E, error) {
	var e E
	if err := json.Unmarshal(env.Payload, &e); err != nil {
		return e, fmt.Errorf("decode %s %s: %w", env.Type, env.ID, err)
	}
	return e, nil
}
