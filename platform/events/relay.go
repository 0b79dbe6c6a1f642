package events

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"gorm.io/gorm"

	"github.com/shopmonolith/shop/platform/database"
)

const relayBatch = 500

// outboxRow is one committed, not yet forwarded event.
type outboxRow struct {
	seq        int64
	id         string
	typ        string
	key        string
	payload    string
	metadata   string
	occurredAt time.Time
}

// runRelay forwards a publisher's committed events to its subscribers'
// inboxes whenever a commit wakes it, or on the safety poll. When it cannot
// relay — another replica holds the relay, or an event has a subscriber in
// a module this process has no connection to — it notifies the other
// replicas so that one that can relay wakes: always after a commit of this
// process woke it, and otherwise once per event it stopped at, so that
// replicas that all lack a module do not wake each other for good.
func (b *Bus) runRelay(ctx context.Context, db *database.DB, wake <-chan bool) {
	tick := time.NewTicker(b.cfg.PollInterval)
	defer tick.Stop()
	local := false
	var lastHeld int64
	for {
		for {
			r, err := b.relayOnce(ctx, db)
			if err != nil {
				// A lost connection or a leader election is logged by the
				// connection's handlers and the NATS servers; the relay
				// goes on once they woke it.
				if ctx.Err() == nil && !errors.Is(err, errBrokerDown) && !errors.Is(err, errTurnEnded) {
					b.log.Warn("relay failed", slog.String("module", db.Module), slog.String("error", err.Error()))
				}
				break
			}
			mine, held := r.mine, r.held
			if (!mine && local) || (held != 0 && (local || held != lastHeld)) {
				if _, err := db.Pool.Exec(ctx, `SELECT pg_notify($1, $2)`, notifyChannel, "outbox:"+db.Module); err != nil && ctx.Err() == nil {
					b.log.Warn("relay notify failed", slog.String("module", db.Module), slog.String("error", err.Error()))
				}
			}
			if held != 0 {
				lastHeld = held
			}
			if !r.more {
				break
			}
		}
		select {
		case <-ctx.Done():
			return
		case local = <-wake:
		case <-tick.C:
			local = false
		}
	}
}

// relayed is what one relay round did.
type relayed struct {
	n    int   // events delivered and marked forwarded
	mine bool  // this process held the publisher's relay
	held int64 // the seq of the first event left to a replica that reaches its subscriber
	more bool  // more may be ready at once
}

// relayOnce forwards one batch. One relay per publisher works at a time
// (a transaction-scoped advisory lock), which keeps inbox order (or stream
// order) equal to the outbox's commit order. The events are delivered
// before the outbox rows are marked forwarded; a crash in between delivers
// them again, and the inbox's primary key (or the stream's duplicate
// window, then the inbox) drops the duplicates. Events delivered before a
// failure are marked, and the failure returned.
//
// Its own transaction costs two round trips: BEGIN, the lock, the batch and
// the registry in one pipeline, and the marks with the COMMIT in another
// (an empty round: the ROLLBACK instead).
func (b *Bus) relayOnce(ctx context.Context, db *database.DB) (r relayed, err error) {
	conn, err := db.Pool.Acquire(ctx)
	if err != nil {
		return r, err
	}
	defer conn.Release()
	open := true
	defer func() {
		if open {
			// Also after a failed round trip: a connection left in a
			// transaction is closed by the pool on release.
			_, _ = conn.Exec(context.WithoutCancel(ctx), "ROLLBACK")
		}
	}()
	batch, regs, mine, err := readBatch(ctx, conn.Conn(), db.Module)
	r.mine = mine
	if err != nil || !mine || len(batch) == 0 {
		return r, err
	}
	n, held, again, deliverErr := b.deliver(ctx, db.Module, batch, regs)
	r.held = held
	if n == 0 {
		return r, deliverErr
	}
	batch = batch[:n]
	seqs := make([]int64, len(batch))
	for i, o := range batch {
		seqs[i] = o.seq
	}
	q := &pgx.Batch{}
	// The marks are planned for their seqs each time: a generic plan made
	// while the outbox was nearly empty read the whole outbox at every
	// round once it had grown, where no autovacuum analyzed the table to
	// have it planned again (1.1 ms per round at 70,000 rows, on the
	// relay's path). The batch's read keeps its generic plan, which follows
	// the index of unforwarded rows.
	q.Queue(`SELECT set_config('plan_cache_mode', 'force_custom_plan', true)`)
	q.Queue(`UPDATE event_outbox SET forwarded_at = now() WHERE seq = ANY($1)`, seqs)
	q.Queue("COMMIT")
	if err := conn.SendBatch(ctx, q).Close(); err != nil {
		return r, err
	}
	open = false
	for _, o := range batch {
		b.m.published.WithLabelValues(o.typ).Inc()
	}
	r.n, r.more = n, n == relayBatch || again
	return r, deliverErr
}

// deliver hands a batch on by the configured transport and returns how many
// events from its start were delivered. The postgres transport inserts them
// into the inboxes of the publisher's registered subscribers, up to the
// first event with a subscriber in a module this process cannot reach
// (held: its seq); the nats transport publishes every event to the
// publisher's stream (again: go on at once).
//
// In a relay of the postgres transport, an event goes to every subscriber
// in the publisher's registry, read after the batch (an event committed
// after a registration is never read before it). It is delivered only once
// every one of them has it; at the first event with a subscriber in a
// module this process cannot reach, the batch stops: it and its successors
// wait for a replica that can reach every subscriber, and nobody's order
// changes.
func (b *Bus) deliver(ctx context.Context, publisher string, batch []outboxRow, regs map[string][]registration) (n int, held int64, again bool, err error) {
	if b.broker != nil {
		// The same crash points as the postgres transport's: committed but
		// not published; published, the outbox not told yet (a re-publish
		// that JetStream's duplicate window drops).
		b.hook("relay.before-forward")
		n, again, err = b.publishBatch(ctx, publisher, batch)
		if n > 0 {
			b.hook("relay.after-forward") // stored in the stream; the outbox does not know yet
		}
		return n, 0, again, err
	}
	ready := b.reachable(publisher, batch, regs)
	if ready < len(batch) {
		held = batch[ready].seq
	}
	if ready == 0 {
		return 0, held, false, nil
	}
	b.hook("relay.before-forward")
	if err := b.forward(ctx, publisher, batch[:ready], regs); err != nil {
		return 0, 0, false, err
	}
	b.hook("relay.after-forward")
	return ready, held, false, nil
}

// readBatch opens the relay's transaction and takes the publisher's relay
// lock, then reads the oldest unforwarded events and the publisher's
// registry (a few rows), all in one round trip; the transaction stays open.
// Losing its commit in a server crash only means forwarding again (the inbox
// drops duplicates), so it need not wait for its WAL flush: set_config(…,
// true) is SET LOCAL. The registry is read after the batch, so an event
// committed after a registration is never read before it. The batch is read
// only under the lock (the same lock again, which a transaction holding it
// takes again at once), and used only when the first statement took it.
func readBatch(ctx context.Context, conn *pgx.Conn, publisher string) (batch []outboxRow, regs map[string][]registration, mine bool, err error) {
	key := lockKey("relay." + publisher)
	q := &pgx.Batch{}
	q.Queue("BEGIN")
	q.Queue(`SELECT pg_try_advisory_xact_lock($1), set_config('synchronous_commit', 'off', true) IS NOT NULL`, key)
	q.Queue(`SELECT seq, id::text, type, key, payload::text, metadata::text, occurred_at
		FROM event_outbox WHERE forwarded_at IS NULL AND (SELECT pg_try_advisory_xact_lock($2)) ORDER BY seq LIMIT $1`, relayBatch, key)
	q.Queue(`SELECT subscriber, event_type, module FROM event_subscriptions`)
	res := conn.SendBatch(ctx, q)
	defer res.Close()
	if _, err := res.Exec(); err != nil {
		return nil, nil, false, err
	}
	if err := res.QueryRow().Scan(&mine, new(bool)); err != nil {
		return nil, nil, false, err
	}
	rows, err := res.Query()
	if err != nil {
		return nil, nil, false, err
	}
	batch, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (outboxRow, error) {
		var o outboxRow
		err := r.Scan(&o.seq, &o.id, &o.typ, &o.key, &o.payload, &o.metadata, &o.occurredAt)
		return o, err
	})
	if err != nil {
		return nil, nil, false, err
	}
	rows, err = res.Query()
	if err != nil {
		return nil, nil, false, err
	}
	if regs, err = registry(rows); err != nil {
		return nil, nil, false, err
	}
	return batch, regs, mine, res.Close()
}

// reachable returns how many events, from the start of the batch, have all
// their registered subscribers in modules this process has a connection to.
// The first module it lacks is logged once, and counted each time.
func (b *Bus) reachable(publisher string, batch []outboxRow, regs map[string][]registration) int {
	for i, o := range batch {
		for _, r := range regs[o.typ] {
			if _, ok := b.hosted[r.module]; ok {
				continue
			}
			b.m.relayHeld.WithLabelValues(publisher, r.module).Inc()
			if _, logged := b.unreachable.LoadOrStore(publisher+"/"+r.module, true); !logged {
				b.log.Warn("events wait for a replica that hosts their subscriber's module; this process has no connection to it",
					slog.String("publisher", publisher), slog.String("module", r.module), slog.String("subscriber", r.subscriber))
			}
			return i
		}
	}
	return len(batch)
}

// inboxBatch is what one subscribing module receives from one relay batch,
// as columns for a single INSERT … SELECT FROM unnest(…).
type inboxBatch struct {
	db                                               *database.DB
	subscriber, eventID, typ, key, payload, metadata []string
	seq                                              []int64
	occurredAt                                       []time.Time
}

// add appends an event for a subscriber.
func (ib *inboxBatch) add(subscriber string, o outboxRow) {
	ib.subscriber = append(ib.subscriber, subscriber)
	ib.eventID = append(ib.eventID, o.id)
	ib.typ = append(ib.typ, o.typ)
	ib.key = append(ib.key, o.key)
	ib.payload = append(ib.payload, o.payload)
	ib.metadata = append(ib.metadata, o.metadata)
	ib.seq = append(ib.seq, o.seq)
	ib.occurredAt = append(ib.occurredAt, o.occurredAt)
}

// insertInboxSQL writes an inboxBatch (its args) into the module's inbox;
// an event the inbox holds already (a redelivery) is dropped by its primary
// key.
const insertInboxSQL = `INSERT INTO event_inbox
		(subscriber, event_id, publisher, source_seq, type, key, payload, metadata, occurred_at)
		SELECT s, e::uuid, $3, q, t, k, p::jsonb, m::jsonb, o
		FROM unnest($1::text[], $2::text[], $4::bigint[], $5::text[], $6::text[], $7::text[], $8::text[], $9::timestamptz[])
			AS x(s, e, q, t, k, p, m, o)
		ON CONFLICT (subscriber, event_id) DO NOTHING`

// row returns the event of the batch's i-th entry.
func (ib *inboxBatch) row(i int) outboxRow {
	return outboxRow{seq: ib.seq[i], id: ib.eventID[i], typ: ib.typ[i], key: ib.key[i],
		payload: ib.payload[i], metadata: ib.metadata[i], occurredAt: ib.occurredAt[i]}
}

// slice returns the batch's entries [i, j).
func (ib *inboxBatch) slice(i, j int) *inboxBatch {
	return &inboxBatch{db: ib.db, subscriber: ib.subscriber[i:j], eventID: ib.eventID[i:j], typ: ib.typ[i:j], key: ib.key[i:j],
		payload: ib.payload[i:j], metadata: ib.metadata[i:j], seq: ib.seq[i:j], occurredAt: ib.occurredAt[i:j]}
}

// byKey splits the batch into at most n batches, each in the batch's
// order, with every event of a key in the same one.
func (ib *inboxBatch) byKey(n int) []*inboxBatch {
	if n <= 1 {
		return []*inboxBatch{ib}
	}
	parts := make([]*inboxBatch, n)
	h := fnv.New32a()
	for i := range ib.subscriber {
		h.Reset()
		h.Write([]byte(ib.key[i]))
		p := int(h.Sum32() % uint32(n))
		if parts[p] == nil {
			parts[p] = &inboxBatch{db: ib.db}
		}
		parts[p].add(ib.subscriber[i], ib.row(i))
	}
	return slices.DeleteFunc(parts, func(p *inboxBatch) bool { return p == nil })
}

// args are insertInboxSQL's arguments.
func (ib *inboxBatch) args(publisher string) []any {
	return []any{ib.subscriber, ib.eventID, publisher, ib.seq, ib.typ, ib.key, ib.payload, ib.metadata, ib.occurredAt}
}

// write inserts the batch into its module's inbox and notifies notice on the
// channel, in one round trip: the statements of a pipeline run in one
// implicit transaction. With async its commit does not wait for the WAL
// flush.
func (ib *inboxBatch) write(ctx context.Context, publisher, notice string, async bool) error {
	q := &pgx.Batch{}
	if async {
		q.Queue(`SELECT set_config('synchronous_commit', 'off', true), pg_notify($1, $2)`, notifyChannel, notice)
	} else {
		q.Queue(`SELECT pg_notify($1, $2)`, notifyChannel, notice)
	}
	q.Queue(insertInboxSQL, ib.args(publisher)...)
	return ib.db.Pool.SendBatch(ctx, q).Close()
}

// forward inserts a batch into the inbox of every registered subscriber of
// each event, one transaction per subscribing module, and wakes that
// module's dispatchers.
func (b *Bus) forward(ctx context.Context, publisher string, batch []outboxRow, regs map[string][]registration) error {
	byModule := map[string]*inboxBatch{}
	for _, o := range batch {
		for _, r := range regs[o.typ] {
			ib := byModule[r.module]
			if ib == nil {
				ib = &inboxBatch{db: b.hosted[r.module]}
				byModule[r.module] = ib
			}
			ib.add(r.subscriber, o)
		}
	}
	start := time.Now()
	for module, ib := range byModule {
		notice := "inbox:" + module + ":" + b.id
		rest := ib
		if local := b.handledHere(module, ib); len(local) > 0 && b.cfg.RelayHandling > 0 && ctx.Err() == nil {
			if rest = b.handleOnArrival(ctx, start, publisher, notice, ib, local, true); rest == nil {
				continue
			}
		}
		// Asynchronous commit is safe here: WAL is written in order, so if
		// this commit were lost in a crash, the later one marking the outbox
		// rows forwarded would be lost too, and they would be forwarded
		// again. (Across two databases this no longer holds; split modules
		// take the broker path.)
		if err := rest.write(ctx, publisher, notice, true); err != nil {
			return fmt.Errorf("forward to %s: %w", module, err)
		}
		// The NOTIFY reaches other replicas' dispatchers; this process's
		// own are woken directly.
		b.wakeSubscribers(module)
	}
	return nil
}

// handleOnArrival runs this process's handlers of a batch in the
// transactions that insert it into the inbox (forwardHandling): as many
// transactions at once as a subscriber has workers (SHOP_EVENTS_WORKERS),
// each on its own keys, and, for each, one after another of up to
// arrivalHandlingMax events, in order, so that each sees what the previous
// one left pending. It returns what is left to write for the dispatchers:
// in each part, the events from its first transaction that failed on, or
// from where the budget was spent or ctx ended (nil when none are left).
// What committed stands whatever becomes of ctx. A transaction that broke
// leaves these subscribers to the dispatchers for arrivalHandlingPause, as
// does a handler slower than the budget; a handler that failed quickly does
// not. It wakes the dispatchers when events were left pending. The relay calls it with async (its commits
// need not wait for the WAL flush), the NATS consumer without (once
// acknowledged, the events exist only in the inbox).
func (b *Bus) handleOnArrival(ctx context.Context, start time.Time, publisher, notice string, ib *inboxBatch, local map[string]*subscription, async bool) *inboxBatch {
	parts := ib.byKey(b.cfg.Workers)
	rests := make([]*inboxBatch, len(parts))
	lefts := make([]bool, len(parts))
	var wg sync.WaitGroup
	for i, part := range parts {
		wg.Go(func() {
			for from := 0; from < len(part.subscriber); from += arrivalHandlingMax {
				if from > 0 && (time.Since(start) >= b.cfg.RelayHandling || ctx.Err() != nil) {
					// The budget is spent, or the caller gives up: the rest
					// goes in plainly, in one statement, for the dispatchers.
					rests[i] = part.slice(from, len(part.subscriber))
					return
				}
				chunk := part.slice(from, min(from+arrivalHandlingMax, len(part.subscriber)))
				left, err := b.forwardHandling(ctx, start, publisher, notice, chunk, local, async)
				if err != nil {
					// The events are left to the dispatchers, which count a
					// failing handler's attempts. A transaction that broke
					// (not a handler that failed) may break again: the relay
					// leaves the subscribers to the dispatchers for a while.
					var failed *arrivalHandlerFailed
					switch {
					case errors.As(err, &failed):
						b.log.Debug("event handler failed on arrival; its events are left to the dispatchers", slog.String("subscriber", failed.s.id),
							slog.String("event", failed.c.Type), slog.String("event_id", failed.c.EventID), slog.String("error", failureText(failed.err)))
						if failed.took > b.cfg.RelayHandling {
							// As for a slow handler that succeeds.
							b.pauseArrivalHandling(fmt.Sprintf("one of its handlers took %s on arrival, and failed",
								failed.took.Round(time.Millisecond)), failed.s)
						}
					case ctx.Err() == nil:
						b.pauseArrivalHandling(err.Error(), slices.Collect(maps.Values(local))...)
					}
					rests[i] = part.slice(from, len(part.subscriber))
					return
				}
				lefts[i] = lefts[i] || left
			}
		})
	}
	wg.Wait()
	if slices.Contains(lefts, true) {
		b.wakeSubscribers(ib.db.Module)
	}
	var rest *inboxBatch
	for _, r := range rests {
		switch {
		case r == nil:
		case rest == nil:
			rest = r
		default:
			rest = rest.join(r)
		}
	}
	return rest
}

// join returns the batch of ib's entries followed by o's.
func (ib *inboxBatch) join(o *inboxBatch) *inboxBatch {
	return &inboxBatch{db: ib.db, subscriber: slices.Concat(ib.subscriber, o.subscriber), eventID: slices.Concat(ib.eventID, o.eventID),
		typ: slices.Concat(ib.typ, o.typ), key: slices.Concat(ib.key, o.key), payload: slices.Concat(ib.payload, o.payload),
		metadata: slices.Concat(ib.metadata, o.metadata), seq: slices.Concat(ib.seq, o.seq), occurredAt: slices.Concat(ib.occurredAt, o.occurredAt)}
}

// arrivalHandlerFailed is a handler's failure in a transaction that writes
// its event into the inbox (the relay's or the NATS consumer's), which rolls
// that transaction back.
type arrivalHandlerFailed struct {
	s    *subscription
	c    claimed
	err  error
	took time.Duration
}

func (f *arrivalHandlerFailed) Error() string {
	return fmt.Sprintf("%s failed on %s %s: %v", f.s.id, f.c.Type, f.c.EventID, f.err)
}

func (f *arrivalHandlerFailed) Unwrap() error { return f.err }

// arrivalHandlingPause is how long, after one of a subscriber's handlers
// outlasted SHOP_EVENTS_RELAY_HANDLING on arrival, or a transaction broke,
// the subscriber's events are left to the dispatchers: a slow handler would
// otherwise hold back the publisher's relay (or the subscriber's NATS
// consumer) at every round.
const arrivalHandlingPause = 30 * time.Second

// pauseArrivalHandling leaves these subscriptions' events to their
// dispatchers for arrivalHandlingPause.
func (b *Bus) pauseArrivalHandling(why string, subs ...*subscription) {
	for _, s := range subs {
		s.arrivalPausedUntil.Store(time.Now().Add(arrivalHandlingPause).UnixNano())
		b.log.Warn("this subscriber's events go to its dispatchers for a while, not handled on arrival",
			slog.String("subscriber", s.id), slog.Duration("for", arrivalHandlingPause), slog.String("why", why))
	}
}

// insertInboxHandledSQL is insertInboxSQL for the relay's handling
// transactions: it inserts the events as handled, as a dispatcher's record
// of a first attempt (markDoneSQL) leaves them, and reports for each row it
// inserted whether it is the head of its key: no earlier event of its
// publisher and key is pending for its subscriber. (Rows of the same
// statement do not see each other; the caller orders those.) The rows the
// transaction does not handle after all are set back to pending
// (unhandledSQL) before it commits; no other transaction sees them before.
const insertInboxHandledSQL = `INSERT INTO event_inbox
		(subscriber, event_id, publisher, source_seq, type, key, payload, metadata, occurred_at, status, attempts, handled_at)
		SELECT s, e::uuid, $3, q, t, k, p::jsonb, m::jsonb, o, 'done', 1, now()
		FROM unnest($1::text[], $2::text[], $4::bigint[], $5::text[], $6::text[], $7::text[], $8::text[], $9::timestamptz[])
			AS x(s, e, q, t, k, p, m, o)
		ON CONFLICT (subscriber, event_id) DO NOTHING
		RETURNING subscriber, event_id::text, NOT EXISTS (SELECT 1 FROM event_inbox o
			WHERE o.subscriber = event_inbox.subscriber AND o.publisher = event_inbox.publisher AND o.key = event_inbox.key
			  AND o.status = 'pending' AND o.source_seq < event_inbox.source_seq)`

// unhandledSQL sets an event that insertInboxHandledSQL inserted back to
// pending, for the dispatchers. One statement per event names the whole
// primary key, which every plan of it uses (see markDoneSQL).
const unhandledSQL = `UPDATE event_inbox SET status = 'pending', attempts = 0, handled_at = NULL
	WHERE subscriber = $1 AND event_id = $2::uuid`

// handlesOnArrival reports whether s's handlers can run in the transaction
// that writes its events into the inbox (at now, in Unix nanoseconds): they
// run in a transaction, one per event was not asked for, nor the
// dispatchers, and a slow handler or a broken transaction has not paused it.
func (s *subscription) handlesOnArrival(now int64) bool {
	return !s.calls && !s.dispatched && s.batch != 1 && s.arrivalPausedUntil.Load() <= now
}

// arrivalHandlingMax is how many events one handling-on-arrival
// transaction takes: the work a failing handler undoes, and how long its
// locks are held.
const arrivalHandlingMax = 32

// handledHere returns this process's subscriptions of module with events in
// ib that handle on arrival (handlesOnArrival): the relay can run their
// handlers in the transaction that inserts their events (forwardHandling).
func (b *Bus) handledHere(module string, ib *inboxBatch) map[string]*subscription {
	var local map[string]*subscription
	now := time.Now().UnixNano()
	for _, s := range b.subs {
		if !s.handlesOnArrival(now) || s.db != ib.db || !slices.Contains(ib.subscriber, s.id) {
			continue
		}
		if local == nil {
			local = map[string]*subscription{}
		}
		local[s.id] = s
	}
	return local
}

// forwardHandling inserts a batch into its module's inbox and, in the same
// transaction, runs the handlers this process has for its events: the
// insert (insertInboxHandledSQL) writes them as handled; a subscriber's event
// is handled there when the inbox did not hold it yet, it is the head of its
// key (no earlier one pending, also none earlier in the batch left) and the
// round (since start) has not taken SHOP_EVENTS_RELAY_HANDLING. The rows not
// handled are set back to pending for the dispatchers (left: notified with
// the COMMIT). The events handled are never pending, never claimed, never
// updated. Handlers run without savepoints: one that fails
// (arrivalHandlerFailed) rolls the transaction back, and the caller leaves its
// events to the dispatchers, which give each its counted attempts (a handler
// may refuse to start work it cannot finish in the relay's budget).
// Handlers are not cut off at the budget — cancelling a statement midway
// only breaks the transaction — but a subscriber one of whose handlers took
// longer than it is left to the dispatchers for arrivalHandlingPause (a
// machine too busy for the relay's pace slows every handler a little, and
// the dispatchers would only add their claims to its load). A transaction
// that breaks (a lost connection, a handler past
// SHOP_EVENTS_HANDLER_TIMEOUT) commits nothing either.
func (b *Bus) forwardHandling(ctx context.Context, start time.Time, publisher, notice string, ib *inboxBatch, local map[string]*subscription, async bool) (left bool, err error) {
	// The transaction ends within the handler timeout, and within ctx's
	// deadline where it has one (the NATS consumer's: its messages'
	// ack wait), but is not cut short when ctx is cancelled.
	timeout := b.cfg.HandlerTimeout
	if deadline, ok := ctx.Deadline(); ok {
		timeout = min(timeout, time.Until(deadline))
	}
	hctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer cancel()
	heads := map[[2]string]bool{} // (subscriber, event id) → head of its key; absent: not inserted (a redelivery)
	scan := func(rows pgx.Rows) error {
		clear(heads)
		var sub, id string
		var head bool
		_, err := pgx.ForEachRow(rows, []any{&sub, &id, &head}, func() error {
			heads[[2]string{sub, id}] = head
			return nil
		})
		return err
	}
	type handled struct {
		s        *subscription
		outcomes []outcome
		slowest  time.Duration // its slowest handler
	}
	var done []handled
	err = ib.db.InTxFrom(hctx, insertInboxHandledSQL, ib.args(publisher), scan, func(tx *gorm.DB) error {
		left, done = false, nil
		taken := map[string][]int{}  // subscriber → the events (indexes into ib) it handles here
		held := map[[2]string]bool{} // (subscriber, key) with an event taken or left pending
		for i, sub := range ib.subscriber {
			head, inserted := heads[[2]string{sub, ib.eventID[i]}]
			k := [2]string{sub, ib.key[i]}
			if !inserted {
				// The inbox held it already, maybe pending (left by another
				// transaction, one this insert's snapshot may not have seen
				// commit): the later events of its key wait for it.
				held[k] = true
				continue
			}
			s := local[sub]
			if s == nil || !head || held[k] || !s.handles(ib.typ[i]) {
				held[k], left = true, true
				continue
			}
			// Taken: a later event of its key in this batch waits for it.
			held[k] = true
			taken[sub] = append(taken[sub], i)
		}
		handledOK := make([]bool, len(ib.subscriber))
		for sub, events := range taken {
			h := handled{s: local[sub]}
			for _, i := range events {
				if time.Since(start) >= b.cfg.RelayHandling {
					left = true
					break
				}
				e := ib.row(i)
				c := claimed{EventID: e.id, Publisher: publisher, SourceSeq: e.seq, Type: e.typ, Key: e.key, Payload: e.payload,
					Metadata: e.metadata, OccurredAt: e.occurredAt}
				began := time.Now()
				failure := b.runHandler(tx, h.s, c, false) // a failure rolls back the whole transaction
				took := time.Since(began)
				h.slowest = max(h.slowest, took)
				if failure != nil {
					return &arrivalHandlerFailed{s: h.s, c: c, err: failure, took: took}
				}
				handledOK[i] = true
				h.outcomes = append(h.outcomes, outcome{c: c})
			}
			done = append(done, h)
		}
		b.hook("handler.before-commit")
		for i, sub := range ib.subscriber {
			if _, inserted := heads[[2]string{sub, ib.eventID[i]}]; inserted && !handledOK[i] {
				database.DeferToCommit(tx, unhandledSQL, sub, ib.eventID[i])
			}
		}
		if left {
			database.DeferToCommit(tx, `SELECT pg_notify($1, $2)`, notifyChannel, notice)
		}
		if async {
			// As for the plain inbox write, the commit need not wait for its
			// WAL flush: were it lost in a crash, so would be every later
			// commit, the outbox marks included, and the events would be
			// forwarded and handled again.
			database.DeferToCommit(tx, `SELECT set_config('synchronous_commit', 'off', true)`)
		}
		return nil
	})
	if err != nil {
		return false, err
	}
	for _, h := range done {
		if h.slowest > b.cfg.RelayHandling {
			b.pauseArrivalHandling(fmt.Sprintf("one of its handlers took %s on arrival", h.slowest.Round(time.Millisecond)), h.s)
		}
	}
	if len(done) > 0 {
		b.hook("handler.after-commit")
	}
	for _, h := range done {
		b.report(h.s, h.outcomes)
	}
	return left, nil
}
