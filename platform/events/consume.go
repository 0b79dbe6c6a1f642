package events

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// runConsumer feeds a subscriber's inbox from its durable consumer on one
// publisher's stream until the bus stops, resuming after broker outages.
func (b *Bus) runConsumer(ctx context.Context, s *subscription, publisher string) {
	for ctx.Err() == nil {
		err := b.consume(ctx, s, publisher)
		if ctx.Err() != nil {
			return
		}
		if !errors.Is(err, errBrokerDown) {
			b.log.Warn("event consumer failed", slog.String("subscriber", s.id), slog.String("publisher", publisher),
				slog.String("error", err.Error()))
		}
		if !sleep(ctx, b.cfg.PollInterval) {
			return
		}
	}
}

// consumeBatch is how many messages a consumer takes at once, and so how
// many of its messages may be unacknowledged (MaxAckPending): a batch is
// written into the inbox in one transaction, then acknowledged.
const consumeBatch = relayBatch

// consume feeds the inbox batch by batch: it takes every message the
// consumer has ready (up to consumeBatch; when there is none, it waits for
// the next), writes them in one transaction and acknowledges them once it
// committed. A crash between the commit and the acks redelivers them, and
// the inbox's primary key drops the duplicates. When the bus stops, the
// batch in hand is still written; a wait for messages ends by its own
// expiry, so that no message is left delivered to a request nobody reads.
func (b *Bus) consume(ctx context.Context, s *subscription, publisher string) error {
	if err := b.setupBroker(ctx); err != nil {
		return err
	}
	k := b.broker
	cons, err := k.js.Consumer(ctx, streamName(publisher), durableName(s.id))
	if err != nil {
		if errors.Is(err, jetstream.ErrConsumerNotFound) || errors.Is(err, jetstream.ErrStreamNotFound) {
			k.ready.Store(false)
		}
		return err
	}
	wait := min(b.cfg.PollInterval, time.Second)
	for ctx.Err() == nil {
		msgs, err := fetch(cons, wait)
		if err != nil {
			if errors.Is(err, jetstream.ErrConsumerDeleted) || errors.Is(err, jetstream.ErrConsumerNotFound) {
				k.ready.Store(false)
			}
			return err
		}
		if len(msgs) == 0 {
			continue
		}
		if err := b.take(ctx, s, publisher, cons, msgs); err != nil {
			return err
		}
	}
	return ctx.Err()
}

// fetch returns the consumer's ready messages, in stream order, up to
// consumeBatch; when none is ready it waits up to wait for the next one and
// then takes those that came with it. Every message delivered to a request
// is in the result, so the caller knows exactly what it holds.
func fetch(cons jetstream.Consumer, wait time.Duration) ([]jetstream.Msg, error) {
	msgs, err := drain(cons.FetchNoWait(consumeBatch))
	if len(msgs) > 0 || err != nil {
		return msgs, err
	}
	first, err := cons.Next(jetstream.FetchMaxWait(wait))
	if err != nil {
		if errors.Is(err, nats.ErrTimeout) {
			return nil, nil
		}
		return nil, err
	}
	msgs = []jetstream.Msg{first}
	if md, err := first.Metadata(); err == nil && md.NumPending > 0 {
		// The rest is taken all the same on a failure: what was delivered
		// is held, and the next round fetches the remainder.
		more, _ := drain(cons.FetchNoWait(consumeBatch - 1))
		msgs = append(msgs, more...)
	}
	return msgs, nil
}

// drain reads a fetch's messages until its request ends.
func drain(batch jetstream.MessageBatch, err error) ([]jetstream.Msg, error) {
	if err != nil {
		return nil, err
	}
	var msgs []jetstream.Msg
	for m := range batch.Messages() {
		msgs = append(msgs, m)
	}
	return msgs, batch.Error()
}

// take writes a fetched batch into the inbox and acknowledges it — but only
// when it is every message of the consumer in flight. Messages are
// delivered in stream order and acknowledged only once committed, so then
// every earlier one is already in the inbox, and per-key order holds
// however many processes share the consumer. Otherwise another process
// holds some (a competing replica, or one that died holding them until
// their ack wait ends), and an earlier event may be among them: the batch
// is handed back for one process to take them all together.
func (b *Bus) take(ctx context.Context, s *subscription, publisher string, cons jetstream.Consumer, msgs []jetstream.Msg) error {
	info, err := cons.Info(ctx)
	if err != nil {
		nakAll(msgs, 0)
		return err
	}
	if info.NumAckPending != len(msgs) {
		nakAll(msgs, 0)
		sleep(ctx, rand.N(min(b.cfg.PollInterval, 100*time.Millisecond))) // unequal pauses, so that one process takes all
		return nil
	}
	rows := make([]outboxRow, 0, len(msgs))
	events := make([]jetstream.Msg, 0, len(msgs))
	for _, msg := range msgs {
		o, err := received(msg)
		if err != nil {
			// Nothing can ever write it into an inbox; redelivering it
			// would hold back every later event of the subscriber.
			b.log.Error("event message dropped: it is not an event of this shop", slog.String("subscriber", s.id),
				slog.String("subject", msg.Subject()), slog.String("error", err.Error()))
			_ = msg.Term()
			continue
		}
		rows, events = append(rows, o), append(events, msg)
	}
	if len(rows) == 0 {
		return nil
	}
	if err := b.receive(context.WithoutCancel(ctx), s, publisher, rows); err != nil {
		b.log.Warn("events not written to the inbox; they are redelivered", slog.String("subscriber", s.id),
			slog.Int("events", len(rows)), slog.String("first_event_id", rows[0].id), slog.String("error", err.Error()))
		nakAll(events, b.cfg.PollInterval)
		sleep(ctx, b.cfg.PollInterval)
		return nil
	}
	b.hook("consumer.after-commit")
	b.ackAll(ctx, s, events)
	return nil
}

// ackAll acknowledges a written batch. The last ack waits for the server's
// confirmation, by which time it has applied the others (one connection,
// one consumer, in order): the next batch's check must not count these as
// still in flight. A lost ack redelivers after the ack wait; the inbox drops
// the copy then.
func (b *Bus) ackAll(ctx context.Context, s *subscription, msgs []jetstream.Msg) {
	last := len(msgs) - 1
	var err error
	for _, msg := range msgs[:last] {
		err = errors.Join(err, msg.Ack())
	}
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err = errors.Join(err, msgs[last].DoubleAck(actx)); err != nil {
		b.log.Warn("event ack failed", slog.String("subscriber", s.id), slog.String("error", err.Error()))
	}
}

// nakAll hands messages back for redelivery after delay (at once for 0).
func nakAll(msgs []jetstream.Msg, delay time.Duration) {
	for _, msg := range msgs {
		if delay > 0 {
			_ = msg.NakWithDelay(delay)
		} else {
			_ = msg.Nak()
		}
	}
}

// receive writes events into the subscriber's inbox and wakes the
// dispatchers of every replica, in one round trip: the statements of a
// pipeline run in one implicit transaction, committed synchronously — once
// acknowledged, the events exist only here. Then it wakes this process's.
func (b *Bus) receive(ctx context.Context, s *subscription, publisher string, rows []outboxRow) error {
	ib := &inboxBatch{db: s.db}
	for _, o := range rows {
		ib.add(s.id, o)
	}
	ctx, cancel := context.WithTimeout(ctx, b.cfg.NATSAckWait)
	defer cancel()
	q := &pgx.Batch{}
	q.Queue(`SELECT pg_notify($1, $2)`, notifyChannel, "inbox:"+s.db.Module+":"+b.id)
	q.Queue(insertInboxSQL, ib.args(publisher)...)
	if err := s.db.Pool.SendBatch(ctx, q).Close(); err != nil {
		return err
	}
	s.wakeOne()
	return nil
}
