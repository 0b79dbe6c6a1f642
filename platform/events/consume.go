package events

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

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
// written into the inbox (handled there where it can be), then
// acknowledged.
const consumeBatch = relayBatch

// priorityGroup is the one priority group of every subscriber's consumer.
// Its policy pins the consumer to one client: the server delivers its
// messages to one replica at a time, answers another's pull only once the
// pinned one stopped pulling for SHOP_NATS_PINNED_TTL (or gave the pin up),
// and tells a replica that lost the pin by a 423 status.
const priorityGroup = "inbox"

// headerPinID carries the pin of the client a message was delivered to.
const headerPinID = "Nats-Pin-Id"

// consume feeds the inbox batch by batch from one long-lived pull (see
// pullExpiry): the server delivers the consumer's messages as they come,
// without a request per batch, while the loop writes the previous one. The
// loop takes every message delivered so far and those the server said were
// pending behind them (up to consumeBatch; when there is none, it waits for
// the next), writes them (receive) once it holds every message of the
// consumer in flight, and acknowledges them once they committed. A crash
// between the commit and the acks redelivers them, and the inbox's primary
// key drops the duplicates. When the bus stops, a complete batch in hand is
// still written. What is held or delivered when the loop ends goes back to
// the server, and so does the pin.
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
	q := newDeliveries()
	pull, err := cons.Consume(func(m jetstream.Msg) { q.push(delivery{msg: m}) },
		jetstream.PullPriorityGroup(priorityGroup),
		jetstream.PullMaxMessages(consumeBatch),
		jetstream.PullExpiry(pullExpiry(b.cfg.NATSPinnedTTL)),
		jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) { q.push(delivery{err: err}) }))
	if err != nil {
		// The consumer as the server has it has no priority group: an
		// earlier version set it up again (see errNotPinned).
		k.ready.Store(false)
		return err
	}
	h := &holding{msgs: map[uint64]jetstream.Msg{}}
	defer k.letGo(s, cons, pull, q, h)
	wait := min(b.cfg.PollInterval, time.Second)
	for ctx.Err() == nil {
		if !k.ready.Load() {
			// Disconnected since (a restarted server may have lost the
			// consumer): the next round sets it up again.
			return errBrokerDown
		}
		err := h.fetch(ctx, q, pull.Closed(), wait)
		switch {
		case err != nil:
			// A bad request: the consumer's settings no longer fit this
			// version's pulls (see errNotPinned).
			if errors.Is(err, jetstream.ErrConsumerDeleted) || errors.Is(err, jetstream.ErrConsumerNotFound) ||
				errors.Is(err, jetstream.ErrBadRequest) {
				k.ready.Store(false)
			}
			return err
		case len(h.msgs) == 0:
			continue
		}
		all, err := h.holdsAll(context.WithoutCancel(ctx), cons)
		switch {
		case err != nil:
			if errors.Is(err, errNotPinned) {
				k.ready.Store(false)
			}
			return err
		case all:
			batch := h.batch()
			h.written(batch, b.take(ctx, s, publisher, batch))
			h.clear()
		case h.missing < 0 || time.Since(h.since) > b.cfg.NATSAckWait/2:
			// Some of what it holds is no longer in flight (acknowledged
			// or ended by another process), or its first message's ack wait
			// is half gone: it starts over rather than hold a message the
			// server may deliver again.
			h.handBack()
		}
	}
	return ctx.Err()
}

// pullExpiry is how long one pull of a consumer loop waits at the server
// before the client renews it: half the pinned TTL (at least a second), so
// that a healthy pinned replica pulls well within the TTL even when no
// message comes — its pin moves only when it stalls. An idle consumer costs
// the server one pull, its heartbeat and its expiry per period.
func pullExpiry(pinnedTTL time.Duration) time.Duration {
	return min(max(pinnedTTL/2, time.Second), 30*time.Second)
}

// delivery is one thing the consumer's pull subscription received: a
// message, or a status or failure the client reports (a lost pin, a missing
// heartbeat, a refused pull).
type delivery struct {
	msg jetstream.Msg
	err error
}

// deliveries queues what the pull subscription receives, in the order
// received, for the consumer loop; pushing never blocks the subscription.
// Messages are bounded by MaxAckPending.
type deliveries struct {
	mu    sync.Mutex
	items []delivery
	ready chan struct{}
}

func newDeliveries() *deliveries { return &deliveries{ready: make(chan struct{}, 1)} }

func (q *deliveries) push(d delivery) {
	q.mu.Lock()
	q.items = append(q.items, d)
	q.mu.Unlock()
	select {
	case q.ready <- struct{}{}:
	default:
	}
}

// take returns everything queued, emptying the queue.
func (q *deliveries) take() []delivery {
	q.mu.Lock()
	defer q.mu.Unlock()
	items := q.items
	q.items = nil
	return items
}

// errNotPinned ends a consumer loop whose consumer lost its priority policy
// (a replica of an earlier version set it up again during a rolling
// deploy): the loop's next round sets it up again, pinned.
var errNotPinned = errors.New("the consumer is not pinned to one client: set up again")

// holding is what a consumer loop holds: the messages delivered to this
// process and neither acknowledged nor handed back, by stream sequence (a
// redelivered one replaces its earlier delivery), since when, how many in
// flight it did not hold at the last check, and the pin it was given.
type holding struct {
	msgs    map[uint64]jetstream.Msg
	since   time.Time
	missing int
	pin     string

	// The session in which nothing else is in flight (see follows): the pin
	// under which this loop last wrote a batch holding every message in
	// flight, and the highest consumer sequence delivered in it; zero when
	// there is none.
	sessionPin    string
	lastDelivered uint64
}

// fetch adds the messages delivered to the loop to h: every one delivered
// so far, and then, while the last one said more were pending behind it (or,
// holding some, while fewer have come than were missing at the last check),
// those that follow, up to consumeBatch in all. Holding none, it waits for
// the first. It waits up to wait, or until the bus stops or the pull ends. A
// lost pin hands back what h holds (another replica takes it); every message
// delivered is held, failure or not, so the loop knows exactly what it holds.
func (h *holding) fetch(ctx context.Context, q *deliveries, ended <-chan struct{}, wait time.Duration) error {
	timer := time.NewTimer(wait)
	defer timer.Stop()
	want := 1
	if len(h.msgs) > 0 {
		want = h.missing
	}
	got, pending := 0, uint64(0)
	for {
		for _, d := range q.take() {
			switch {
			case d.msg != nil:
				h.add(d.msg)
				got++
				if md, err := d.msg.Metadata(); err == nil {
					pending = md.NumPending
				}
			case errors.Is(d.err, jetstream.ErrPinIDMismatch):
				// Another replica holds the pin: it takes what this one held.
				// The client pulls again, unpinned, and waits as a standby.
				h.handBack()
				h.pin = ""
				got, pending = 0, 0
			case errors.Is(d.err, jetstream.ErrConsumerDeleted) || errors.Is(d.err, jetstream.ErrBadRequest) ||
				errors.Is(d.err, jetstream.ErrConnectionClosed):
				return d.err
			}
			// Other reports (a missing heartbeat, a pull the server ended)
			// leave the pull to the client, which renews it.
		}
		if len(h.msgs) >= consumeBatch || (got >= want && pending == 0) {
			return nil
		}
		select {
		case <-q.ready:
		case <-timer.C:
			return nil
		case <-ctx.Done():
			return nil
		case <-ended:
			// The client ended the pull (a refused or deleted consumer, a
			// closed connection); what it reported is queued.
			for _, d := range q.take() {
				if d.err != nil {
					return d.err
				}
				if d.msg != nil {
					h.add(d.msg)
				}
			}
			return errors.New("the consumer's pull ended")
		}
	}
}

func (h *holding) add(m jetstream.Msg) {
	md, err := m.Metadata()
	if err != nil {
		// Not a JetStream delivery: nothing to hold, and no reply to take it back.
		return
	}
	if len(h.msgs) == 0 {
		h.since = time.Now()
	}
	h.msgs[md.Sequence.Stream] = m
	if pin := m.Headers().Get(headerPinID); pin != "" {
		h.pin = pin
	}
}

// holdsAll reports whether h holds every message of the consumer in flight
// (NumAckPending, one request). Messages are delivered in stream order and
// acknowledged only once committed, so then every earlier one is already in
// the inbox, and per-key order holds whichever process held the pin before.
// Otherwise another process holds some — one that held the pin before and
// died or is still writing, until its acks or its ack wait — and an earlier
// event may be among them: h keeps what it holds and waits for the rest.
func (h *holding) holdsAll(ctx context.Context, cons jetstream.Consumer) (bool, error) {
	if h.follows() {
		h.missing = 0
		return true, nil
	}
	info, err := cons.Info(ctx)
	if err != nil {
		return false, err
	}
	if info.Config.PriorityPolicy != jetstream.PriorityPolicyPinned {
		return false, errNotPinned
	}
	h.missing = info.NumAckPending - len(h.msgs)
	return h.missing == 0, nil
}

// follows reports whether the held messages are the consumer's deliveries
// right after the last batch this loop wrote, so that no other client can
// hold one of its messages and the consumer-info request is skipped.
//
// Why that suffices: when the last batch was written, nothing else was in
// flight (checked by NumAckPending, or by this same argument), and every
// message delivered up to it was then in the inbox. Each delivery of the
// consumer, a redelivery too, takes the next consumer sequence. If every
// held message carries the pin of that session (the server gives a new pin
// id whenever the pin moves, so no other client had it meanwhile), is a
// first delivery (none of them is an earlier message coming back) and
// their consumer sequences run on from the last one delivered with none
// missing, then every delivery since went to this loop and is held: none
// is in flight elsewhere, and no earlier message waits for redelivery (a
// nak or an expired ack wait keeps it in flight, and it would come back
// first, as a redelivery). Any doubt — the first batch of a loop or of a
// pin, a gap (a message delivered to a request this loop no longer reads,
// or to another client), a redelivery, a hand-back or a failed write —
// takes the full check.
func (h *holding) follows() bool {
	if h.lastDelivered == 0 {
		return false
	}
	seqs := make([]uint64, 0, len(h.msgs))
	for _, m := range h.msgs {
		md, err := m.Metadata()
		if err != nil || md.NumDelivered != 1 || m.Headers().Get(headerPinID) != h.sessionPin {
			return false
		}
		seqs = append(seqs, md.Sequence.Consumer)
	}
	slices.Sort(seqs)
	for i, seq := range seqs {
		if seq != h.lastDelivered+1+uint64(i) {
			return false
		}
	}
	return true
}

// written records the outcome of writing a batch that held every message
// in flight: written, it starts or continues the session of follows;
// otherwise (handed back for redelivery) it ends it.
func (h *holding) written(batch []jetstream.Msg, ok bool) {
	h.sessionPin, h.lastDelivered = "", 0
	if !ok || h.pin == "" {
		return
	}
	for _, m := range batch {
		md, err := m.Metadata()
		if err != nil || m.Headers().Get(headerPinID) != h.pin {
			return
		}
		h.lastDelivered = max(h.lastDelivered, md.Sequence.Consumer)
	}
	h.sessionPin = h.pin
}

// batch lists the held messages in stream order.
func (h *holding) batch() []jetstream.Msg {
	seqs := slices.Sorted(maps.Keys(h.msgs))
	msgs := make([]jetstream.Msg, len(seqs))
	for i, seq := range seqs {
		msgs[i] = h.msgs[seq]
	}
	return msgs
}

func (h *holding) clear() { clear(h.msgs) }

// handBack returns what h holds for redelivery at once.
func (h *holding) handBack() {
	nakAll(h.batch(), 0)
	h.clear()
	h.sessionPin, h.lastDelivered = "", 0
}

// letGo ends a consumer loop: when this process holds the consumer's pin,
// it gives the pin up first, so that the server delivers nothing more to
// this replica's pull and another replica takes over at once instead of
// after SHOP_NATS_PINNED_TTL; then it ends the pull, waits until every
// message delivered to it has been queued, and hands back what it holds and
// what was queued. Should the pin have moved meanwhile, the replica holding
// it now is unpinned and pinned again by its next pull: a round lost,
// nothing else.
func (k *broker) letGo(s *subscription, cons jetstream.Consumer, pull jetstream.ConsumeContext, q *deliveries, h *holding) {
	if h.pin != "" && k.nc.IsConnected() {
		k.unpin(s, cons, h.pin)
	}
	if k.nc.IsConnected() {
		pull.Drain()
		select {
		case <-pull.Closed():
		case <-time.After(5 * time.Second):
			// Not drained (the connection went down): what was not queued
			// is redelivered after the ack wait.
		}
	} else {
		// Nothing more comes; what was not queued is redelivered after the
		// ack wait.
		pull.Stop()
	}
	for _, d := range q.take() {
		if d.msg != nil {
			h.add(d.msg)
		}
	}
	h.handBack()
}

// unpin gives up the consumer's pin if it is still pin.
func (k *broker) unpin(s *subscription, cons jetstream.Consumer, pin string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	info, err := cons.Info(ctx)
	if err != nil {
		return
	}
	for _, g := range info.PriorityGroups {
		if g.Group != priorityGroup || g.PinnedClientID != pin {
			continue
		}
		stream, err := k.js.Stream(ctx, info.Stream)
		if err == nil {
			err = stream.UnpinConsumer(ctx, info.Name, priorityGroup)
		}
		if err != nil {
			k.log.Warn("event consumer's pin not given up; another replica takes over after the pinned TTL",
				slog.String("subscriber", s.id), slog.String("error", err.Error()))
		}
	}
}

// take writes a batch, every message of the consumer in flight, into the
// inbox and acknowledges it. A message that is not an event of this shop is
// terminated; a failed write hands the batch back, redelivered after the
// poll interval. It reports whether the batch is written (or had nothing to
// write); false when it was handed back.
func (b *Bus) take(ctx context.Context, s *subscription, publisher string, msgs []jetstream.Msg) bool {
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
		return true
	}
	if err := b.receive(context.WithoutCancel(ctx), s, publisher, rows); err != nil {
		b.log.Warn("events not written to the inbox; they are redelivered", slog.String("subscriber", s.id),
			slog.Int("events", len(rows)), slog.String("first_event_id", rows[0].id), slog.String("error", err.Error()))
		nakAll(events, b.cfg.PollInterval)
		sleep(ctx, b.cfg.PollInterval)
		return false
	}
	b.hook("consumer.after-commit")
	b.ackAll(s, events)
	return true
}

// ackAll acknowledges a written batch, each message with a plain ack that
// the server does not answer. A lost ack redelivers the message after the
// ack wait, and the inbox drops the copy then. An ack the server has not yet
// applied when the loop next asks how many messages are in flight is counted
// as still in flight: the loop then waits for it, and never writes early.
func (b *Bus) ackAll(s *subscription, msgs []jetstream.Msg) {
	var err error
	for _, msg := range msgs {
		err = errors.Join(err, msg.Ack())
	}
	if err != nil {
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

// receive writes events into the subscriber's inbox, committed
// synchronously (once acknowledged, the events exist only there), and wakes
// the dispatchers of every replica for what it left pending. Where the
// subscription handles on arrival, its handlers run in the transactions
// that write the events (handleOnArrival), split by key; the rest, or the
// whole batch otherwise, goes in with a NOTIFY in one round trip (the
// statements of a pipeline run in one implicit transaction).
func (b *Bus) receive(ctx context.Context, s *subscription, publisher string, rows []outboxRow) error {
	ib := &inboxBatch{db: s.db}
	for _, o := range rows {
		ib.add(s.id, o)
	}
	ctx, cancel := context.WithTimeout(ctx, b.cfg.NATSAckWait)
	defer cancel()
	notice := "inbox:" + s.db.Module + ":" + b.id
	if b.cfg.RelayHandling > 0 && s.handlesOnArrival(time.Now().UnixNano()) {
		// As the relay does: the handlers run in the transactions that
		// write the events, committed synchronously (once acknowledged,
		// the events exist only here); what they leave goes in plainly.
		if ib = b.handleOnArrival(ctx, time.Now(), publisher, notice, ib, map[string]*subscription{s.id: s}, false); ib == nil {
			return nil
		}
	}
	if err := ib.write(ctx, publisher, notice, false); err != nil {
		return err
	}
	s.wakeOne()
	return nil
}
