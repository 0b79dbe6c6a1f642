package events

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"gorm.io/gorm"

	"github.com/shopmonolith/shop/platform/database"
	"github.com/shopmonolith/shop/platform/tracing"
)

// errNothing ends a claim transaction that found no ready event.
var errNothing = errors.New("no ready event")

// claimSQL takes the subscriber's oldest ready event that is the oldest
// pending event of its key (per-key order, also across replicas: an event
// being handled elsewhere is still pending, so its successors wait). SKIP
// LOCKED lets competing dispatchers take different keys. The scan follows
// event_inbox_ready_idx and stops at the first head of a key; the correlated
// min() is one probe of event_inbox_key_idx per row scanned. (A NOT EXISTS
// anti-join here costs a pass over the whole backlog per claim, which took
// seconds with 10,000 pending events.)
const claimSQL = `SELECT i.event_id::text, i.publisher, i.source_seq, i.type, i.key, i.payload::text, i.metadata::text, i.occurred_at, i.attempts
	` + readySQL

// claimPgx is claimSQL for pgx, which numbers its parameters.
var claimPgx = numbered(claimSQL)

// numbered replaces gorm's placeholders (?) with PostgreSQL's ($1, $2, …).
func numbered(query string) string {
	var b strings.Builder
	n := 0
	for _, r := range query {
		if r != '?' {
			b.WriteRune(r)
			continue
		}
		n++
		b.WriteString("$" + strconv.Itoa(n))
	}
	return b.String()
}

// scanClaimed reads claimSQL's rows.
func scanClaimed(rows pgx.Rows) ([]claimed, error) {
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (claimed, error) {
		var c claimed
		err := r.Scan(&c.EventID, &c.Publisher, &c.SourceSeq, &c.Type, &c.Key, &c.Payload, &c.Metadata, &c.OccurredAt, &c.Attempts)
		return c, err
	})
}

// readySQL selects and locks the claimable events (see claimSQL); its
// parameters are the subscriber and how many to take.
const readySQL = `FROM event_inbox i
	WHERE i.subscriber = ? AND i.status = 'pending' AND i.next_attempt_at <= now()
	  AND i.source_seq = (SELECT min(o.source_seq) FROM event_inbox o
		WHERE o.subscriber = i.subscriber AND o.publisher = i.publisher AND o.key = i.key AND o.status = 'pending')
	ORDER BY i.next_attempt_at, i.source_seq
	LIMIT ?
	FOR UPDATE OF i SKIP LOCKED`

// dispatchBatch is how many events (each the head of a different key) one
// transaction handles: one commit, and so one WAL flush, for all of them.
// Every event of a batch is handled only when the whole batch commits, so a
// larger batch buys throughput with latency (with 4 dispatchers on the 2-core
// CI machine, 32 gave ~4,000 events/s but 26 ms p50 at half that rate; 8 gave
// ~3,000 and 11 ms).
const dispatchBatch = 8

// markDoneSQL records one event of a dispatch transaction as handled; a
// batch sends one per event, all with the COMMIT. One statement per event
// names the whole primary key, which every plan of it uses: a cached generic
// plan of "event_id = ANY($2)", made while the inbox was still nearly empty,
// kept only the subscriber as its index condition and went on reading every
// row of the subscriber once the inbox had grown (3 to 90 ms per commit at a
// few hundred events a second).
const markDoneSQL = `UPDATE event_inbox SET status = 'done', attempts = attempts + 1, handled_at = now(), last_error = NULL
	WHERE subscriber = $1 AND event_id = $2::uuid`

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
	LeaseToken *string // set for a leased event (a call handler's); its records are guarded by it
}

// runWorker handles a subscriber's events until the bus stops.
func (b *Bus) runWorker(ctx context.Context, s *subscription) {
	tick := time.NewTicker(b.cfg.PollInterval)
	defer tick.Stop()
	for {
		for ctx.Err() == nil {
			handled, err := b.dispatch(ctx, s)
			if err != nil {
				b.log.Warn("dispatch failed", slog.String("subscriber", s.id), slog.String("error", err.Error()))
				break
			}
			if handled == 0 {
				break
			}
			if handled == s.batch {
				s.wakeOne() // more may be waiting: let another worker help
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-s.wake:
		case <-tick.C:
		}
	}
}

// outcome is what became of one claimed event in a dispatch transaction.
type outcome struct {
	c       claimed
	failure error // nil when handled
	dead    bool
}

// dispatch claims a batch of events — each the oldest pending event of its
// key — and runs the handler for each in the same transaction, which also
// marks them handled: the handlers' effects and the inbox records commit
// together or not at all. Each handler runs inside a savepoint, so a failing
// one is undone alone and its failure recorded in the claiming transaction,
// where no other worker can take the event before the failure is counted.
// Handlers run to completion even when the bus is stopping. It reports how
// many events it took.
func (b *Bus) dispatch(ctx context.Context, s *subscription) (int, error) {
	if s.calls {
		return b.dispatchCall(ctx, s)
	}
	hctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), b.cfg.HandlerTimeout)
	defer cancel()
	var (
		batch    []claimed
		outcomes []outcome
		current  = -1
	)
	// The claim travels with the BEGIN, and the record of the events handled
	// with the COMMIT: with a handler's statement (and its savepoint), a
	// batch costs three round trips.
	scan := func(rows pgx.Rows) (err error) {
		batch, err = scanClaimed(rows)
		if err == nil && len(batch) == 0 {
			err = errNothing
		}
		return err
	}
	err := s.db.InTxFrom(hctx, claimPgx, []any{s.id, s.batch}, scan, func(tx *gorm.DB) (err error) {
		outcomes, err = b.handleBatch(tx, s, batch, &current)
		return err
	})
	switch {
	case errors.Is(err, errNothing):
		return 0, nil
	case err == nil:
		b.hook("handler.after-commit")
		b.report(s, outcomes)
		return len(outcomes), nil
	case current < 0:
		return 0, err
	}
	// The transaction itself broke while a handler ran (a timeout, a lost
	// connection): that event's attempt is recorded outside it; the rest of
	// the batch rolled back untouched and is claimed again.
	c := batch[current]
	recorded, dead, rerr := b.recordFailure(s.db.Gorm.WithContext(context.WithoutCancel(ctx)), s, c, err)
	if recorded {
		b.reportFailure(s, c, err, dead)
	}
	return 1, rerr
}

// handleBatch runs the handler of each event of batch in tx, the
// transaction that holds them, each inside a savepoint: a handled event's
// record is sent with the COMMIT; a failed one is undone alone and its
// attempt recorded in tx. current follows the event whose handler runs (-1
// once all ran).
func (b *Bus) handleBatch(tx *gorm.DB, s *subscription, batch []claimed, current *int) ([]outcome, error) {
	outcomes := make([]outcome, 0, len(batch))
	for i, c := range batch {
		*current = i
		if failure := b.runHandler(tx, s, c, true); failure != nil {
			_, dead, err := b.recordFailure(tx, s, c, failure)
			if err != nil {
				return nil, err
			}
			outcomes = append(outcomes, outcome{c: c, failure: failure, dead: dead})
			continue
		}
		database.DeferToCommit(tx, markDoneSQL, s.id, c.EventID)
		outcomes = append(outcomes, outcome{c: c})
	}
	*current = -1
	b.hook("handler.before-commit")
	return outcomes, nil
}

// runHandler runs s's handler for c in tx, the transaction that holds c,
// under the span of its handling. With savepoint, the handler's writes are
// in a savepoint of their own, which its failure undoes alone; without, a
// failure leaves undoing to whoever ends tx.
func (b *Bus) runHandler(tx *gorm.DB, s *subscription, c claimed, savepoint bool) error {
	env := c.envelope()
	hc, span := handling(tx.Statement.Context, b.tr, s, env) // keeps the transaction's after-commit list
	var failure error
	if savepoint {
		failure = tx.WithContext(hc).Transaction(func(htx *gorm.DB) error { return s.handle(hc, htx, env) })
	} else {
		failure = s.handle(hc, tx.WithContext(hc), env)
	}
	tracing.End(span, failure)
	return failure
}

// report counts and logs what became of a committed batch's events.
func (b *Bus) report(s *subscription, outcomes []outcome) {
	for _, o := range outcomes {
		if o.failure != nil {
			b.reportFailure(s, o.c, o.failure, o.dead)
			continue
		}
		b.m.delivered.WithLabelValues(o.c.Type, s.id).Inc()
		b.m.latency.WithLabelValues(o.c.Type, s.id).Observe(time.Since(o.c.OccurredAt).Seconds())
	}
}

// recordFailure schedules a retry with exponential backoff and jitter, or
// dead-letters the event after its last attempt. It records nothing when the
// attempt was recorded already (attempts moved on) or, for a leased event,
// when the lease went to another worker, so one attempt never counts twice. A database refusing a connection for capacity, or one that
// cannot be reached, says nothing about the event: it is retried after the
// first backoff step without using up an attempt, so a busy or unreachable
// server never dead-letters anything.
func (b *Bus) recordFailure(db *gorm.DB, s *subscription, c claimed, cause error) (recorded, dead bool, err error) {
	attempt, counted := c.Attempts+1, 1
	if momentary(cause) {
		attempt, counted = 1, 0
	}
	dead = counted == 1 && attempt >= b.cfg.MaxAttempts
	delay := backoff(b.cfg.BackoffBase, b.cfg.BackoffMax, attempt)
	status := "pending"
	if dead {
		status = "dead"
	}
	res := db.Exec(`UPDATE event_inbox
		SET attempts = attempts + ?, last_error = ?, status = ?, next_attempt_at = now() + make_interval(secs => ?), lease_token = NULL
		WHERE subscriber = ? AND event_id = ? AND status = 'pending' AND attempts = ? AND (?::uuid IS NULL OR lease_token = ?::uuid)`,
		counted, failureText(cause), status, delay.Seconds(), s.id, c.EventID, c.Attempts, c.LeaseToken, c.LeaseToken)
	return res.RowsAffected > 0, dead, res.Error
}

// reportFailure counts and logs a recorded failed attempt. The line carries
// the event's trace id and request id, as its handler's span and log lines
// do.
func (b *Bus) reportFailure(s *subscription, c claimed, cause error, dead bool) {
	ctx := contextFrom(context.Background(), c.envelope().Metadata)
	attrs := []slog.Attr{slog.String("subscriber", s.id), slog.String("event", c.Type), slog.String("event_id", c.EventID),
		slog.Int("attempt", c.Attempts+1), slog.String("error", failureText(cause))}
	if dead {
		b.m.deadLettered.WithLabelValues(c.Type, s.id).Inc()
		b.log.LogAttrs(ctx, slog.LevelError, "event dead-lettered", attrs...)
		return
	}
	b.m.retried.WithLabelValues(c.Type, s.id).Inc()
	b.log.LogAttrs(ctx, slog.LevelWarn, "event handler failed; will retry", attrs...)
}

func failureText(err error) string {
	msg := err.Error()
	if len(msg) > 2000 {
		msg = msg[:2000]
	}
	return msg
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
