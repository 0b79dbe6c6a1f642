package events

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"math/rand/v2"
	"time"

	"gorm.io/gorm"
)

// errNothing ends a claim transaction that found no ready event.
var errNothing = errors.New("no ready event")

// claimSQL takes the subscriber's oldest ready event whose key has no older
// pending event (per-key order, also across replicas: an event being handled
// elsewhere is still pending, so its successors wait). SKIP LOCKED lets
// competing dispatchers take different keys.
const claimSQL = `SELECT i.event_id::text, i.publisher, i.source_seq, i.type, i.key, i.payload::text, i.metadata::text, i.occurred_at, i.attempts
	FROM event_inbox i
	WHERE i.subscriber = ? AND i.status = 'pending' AND i.next_attempt_at <= now()
	  AND NOT EXISTS (SELECT 1 FROM event_inbox o
		WHERE o.subscriber = i.subscriber AND o.publisher = i.publisher AND o.key = i.key
		  AND o.status = 'pending' AND o.source_seq < i.source_seq)
	ORDER BY i.received_at, i.source_seq
	LIMIT 1
	FOR UPDATE OF i SKIP LOCKED`

type claimed struct {
	EventID    string
	Publisher  string
	SourceSeq  int64
	Type       string
	Key        string
	Payload    string
	Metadata   string
	OccurredAt time.Time
	Attempts   int
}

// runWorker handles a subscriber's events until the bus stops.
func (b *Bus) runWorker(ctx context.Context, s *subscription, wake <-chan struct{}) {
	tick := time.NewTicker(b.cfg.PollInterval)
	defer tick.Stop()
	for {
		for ctx.Err() == nil {
			handled, err := b.dispatchOne(ctx, s)
			if err != nil {
				b.log.Warn("dispatch failed", slog.String("subscriber", s.id), slog.String("error", err.Error()))
				break
			}
			if !handled {
				break
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-wake:
		case <-tick.C:
		}
	}
}

// dispatchOne claims one event and runs the handler in the same transaction,
// which also marks the event handled: the handler's effects and the inbox
// record commit together or not at all. It reports whether it took an event.
// The handler runs to completion even when the bus is stopping.
func (b *Bus) dispatchOne(ctx context.Context, s *subscription) (bool, error) {
	hctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), b.cfg.HandlerTimeout)
	defer cancel()
	var c claimed
	took := false
	err := s.db.Gorm.WithContext(hctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Raw(claimSQL, s.id).Scan(&c)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return errNothing
		}
		took = true
		env := c.envelope()
		hc := contextFrom(hctx, env.Metadata)
		if err := s.handler(hc, tx.WithContext(hc), env); err != nil {
			return err
		}
		b.hook("handler.before-commit")
		return tx.Exec(`UPDATE event_inbox SET status = 'done', attempts = attempts + 1, handled_at = now(), last_error = NULL
			WHERE subscriber = ? AND event_id = ?`, s.id, c.EventID).Error
	})
	switch {
	case errors.Is(err, errNothing):
		return false, nil
	case err == nil:
		b.hook("handler.after-commit")
		b.m.delivered.WithLabelValues(c.Type, s.id).Inc()
		b.m.latency.WithLabelValues(c.Type, s.id).Observe(time.Since(c.OccurredAt).Seconds())
		return true, nil
	case !took:
		return false, err
	}
	return true, b.recordFailure(ctx, s, c, err)
}

// recordFailure schedules a retry with exponential backoff and jitter, or
// dead-letters the event after its last attempt.
func (b *Bus) recordFailure(ctx context.Context, s *subscription, c claimed, cause error) error {
	attempt := c.Attempts + 1
	dead := attempt >= b.cfg.MaxAttempts
	delay := backoff(b.cfg.BackoffBase, b.cfg.BackoffMax, attempt)
	status := "pending"
	if dead {
		status = "dead"
	}
	msg := cause.Error()
	if len(msg) > 2000 {
		msg = msg[:2000]
	}
	err := s.db.Gorm.WithContext(context.WithoutCancel(ctx)).Exec(`UPDATE event_inbox
		SET attempts = attempts + 1, last_error = ?, status = ?, next_attempt_at = now() + make_interval(secs => ?)
		WHERE subscriber = ? AND event_id = ? AND status = 'pending'`,
		msg, status, delay.Seconds(), s.id, c.EventID).Error
	if err != nil {
		return err
	}
	log := b.log.With(slog.String("subscriber", s.id), slog.String("event", c.Type), slog.String("event_id", c.EventID),
		slog.Int("attempt", attempt), slog.String("error", msg))
	if dead {
		b.m.deadLettered.WithLabelValues(c.Type, s.id).Inc()
		log.Error("event dead-lettered")
	} else {
		b.m.retried.WithLabelValues(c.Type, s.id).Inc()
		log.Warn("event handler failed; will retry", slog.Duration("in", delay))
	}
	return nil
}

// backoff is base·2^(attempt-1), capped at max, with "equal jitter": a random
// point in the upper half, so retries of many events spread out.
func backoff(base, max time.Duration, attempt int) time.Duration {
	d := base
	for i := 1; i < attempt && d < max; i++ {
		d *= 2
	}
	d = min(d, max)
	half := d / 2
	return half + rand.N(half+1)
}

func (c claimed) envelope() Envelope {
	meta := map[string]string{}
	_ = json.Unmarshal([]byte(c.Metadata), &meta) // written by Publish as a JSON object
	return Envelope{
		ID: c.EventID, Type: c.Type, Key: c.Key, Publisher: c.Publisher, Seq: c.SourceSeq,
		OccurredAt: c.OccurredAt, Payload: json.RawMessage(c.Payload), Metadata: meta, Attempt: c.Attempts + 1,
	}
}
