package events

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgconn"
	"gorm.io/gorm"

	"github.com/shopmonolith/shop/platform/database"
	"github.com/shopmonolith/shop/platform/errs"
	"github.com/shopmonolith/shop/platform/tracing"
)

// leaseSQL leases the subscriber's next claimable event (readySQL) to a
// call handler in one statement, committed at once: the token marks whose
// lease it is, and next_attempt_at moves to the lease's end, so the claim
// query of every worker and replica skips the event until the lease has
// expired, while the event, still pending, holds back the later events of
// its key. A lease found expired (a token still set: the worker holding it
// recorded nothing, its process died or overran the handler timeout) counts
// as a failed attempt. Parameters: subscriber, how many, token, lease
// seconds, the error recorded for an expired lease.
const leaseSQL = `WITH c AS (SELECT i.subscriber, i.event_id ` + readySQL + `)
	UPDATE event_inbox i
	SET lease_token = ?::uuid, next_attempt_at = now() + make_interval(secs => ?),
	    attempts = i.attempts + (i.lease_token IS NOT NULL)::int,
	    last_error = CASE WHEN i.lease_token IS NULL THEN i.last_error ELSE ? END
	FROM c WHERE i.subscriber = c.subscriber AND i.event_id = c.event_id
	RETURNING i.event_id::text, i.publisher, i.source_seq, i.type, i.key, i.payload::text, i.metadata::text,
	    i.occurred_at, i.attempts, i.lease_token::text`

const leaseExpired = "the lease expired before the handler's outcome was recorded (its process stopped, or it overran the handler timeout)"

var errLeaseExpired = errors.New(leaseExpired)

// lease is how long a call handler's event is left alone: the handler's
// timeout, and half as much again for recording the outcome after it.
func (b *Bus) lease() time.Duration { return b.cfg.HandlerTimeout * 3 / 2 }

// dispatchCall leases up to as many of the subscriber's ready events as it
// has call slots free (SHOP_EVENTS_CALL_WORKERS per subscriber and process),
// in one statement — each event the head of its key, so the keys differ and
// per-key order holds — and starts each handler in a goroutine of its own.
// A handler runs with no transaction open and no connection held, then its
// outcome is recorded (handleLeased). It reports how many events it leased;
// none when every slot is taken (the slot freed next wakes a worker), or
// when the bus is stopping.
//
// Once sent, the lease statement is not cut short by the bus stopping: the
// server may have run and committed it already, whatever its client then
// does, and a client that gave up on the answer would leave the events it
// leased with no handler until the lease expired (a handler timeout and a
// half) — and every later event of their keys behind them, such as an
// order's next saga step. The answer is awaited, for as long as a lease
// lasts at most, and what it leased runs; Stop waits for those handlers as
// for any other. An answer that comes after Stop gave the leases back (its
// time was running out) is given back at once, its handlers not started.
func (b *Bus) dispatchCall(ctx context.Context, s *subscription) (int, error) {
	if ctx.Err() != nil {
		return 0, nil
	}
	want := s.reserve(s.batch)
	if want == 0 {
		return 0, nil
	}
	lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), b.lease())
	defer cancel()
	var leased []claimed
	token := uuid.NewString()
	err := s.db.Gorm.WithContext(lctx).Raw(leaseSQL, s.id, want, token, b.lease().Seconds(), leaseExpired).
		Scan(&leased).Error
	s.release(want - len(leased))
	if err != nil {
		s.release(len(leased)) // nothing came back to run
		if answerMissing(err) {
			b.wg.Go(func() { b.giveBackUnanswered(ctx, s, token) })
		}
		return 0, err
	}
	if !b.leases.add(s, leased) {
		defer s.release(len(leased))
		n, err := b.giveBack(ctx, s.db, map[*subscription][]claimed{s: leased})
		if err != nil {
			return 0, fmt.Errorf("giving back leases answered after the bus stopped: %w", err)
		}
		b.log.Info("gave back leases answered after the bus stopped", slog.String("subscriber", s.id), slog.Int("leases", n))
		return 0, nil
	}
	for _, c := range leased {
		b.wg.Go(func() {
			defer s.release(1)
			defer b.leases.drop(s, c)
			if err := b.handleLeased(ctx, s, c); err != nil && ctx.Err() == nil {
				b.log.Warn("recording a call handler's outcome failed", slog.String("subscriber", s.id),
					slog.String("event_id", c.EventID), slog.String("error", err.Error()))
			}
		})
	}
	return len(leased), nil
}

// answerMissing reports a failed statement that may have run on the server
// all the same: its answer never came (the connection broke or went
// silent). An error the server answered with means the statement failed
// whole; one pgx reports safe to retry was never sent.
func answerMissing(err error) bool {
	var answered *pgconn.PgError
	return !errors.As(err, &answered) && !pgconn.SafeToRetry(err)
}

// giveBackUnansweredSQL gives back every lease of a lease statement whose
// answer never came, by its token; see giveBackSQL. Parameters:
// subscriber, token, the notification's channel and payload. The leased
// events are pending with next_attempt_at at the lease's end, which the
// ready index reaches without reading the subscriber's handled events.
const giveBackUnansweredSQL = `WITH given AS (
	UPDATE event_inbox SET lease_token = NULL, next_attempt_at = now()
	WHERE subscriber = $1 AND status = 'pending' AND next_attempt_at > now() AND lease_token = $2::uuid
	RETURNING 1)
	SELECT count(pg_notify($3, $4)) FROM given`

// giveBackUnanswered gives back what a lease statement whose answer never
// came took on the server, if anything: nobody runs those events' handlers,
// and without it they — and the later events of their keys, such as an
// order's next saga step — would wait for the lease to expire (a handler
// timeout and a half, 45 s by default) after a moment's network or database
// trouble. It tries again while the database stays unreachable, until the
// lease would have ended or the bus stops.
func (b *Bus) giveBackUnanswered(ctx context.Context, s *subscription, token string) {
	gctx, cancel := context.WithTimeout(ctx, b.lease())
	defer cancel()
	var n int
	err := recordAgain(gctx, func() error {
		return s.db.Pool.QueryRow(gctx, giveBackUnansweredSQL, s.id, token, notifyChannel, "inbox:"+s.db.Module).Scan(&n)
	})
	switch {
	case err != nil && ctx.Err() == nil:
		b.log.Warn("giving back the leases of an unanswered lease statement failed; they expire",
			slog.String("subscriber", s.id), slog.String("error", err.Error()))
	case n > 0:
		b.log.Info("gave back the leases of a lease statement whose answer never came",
			slog.String("subscriber", s.id), slog.Int("leases", n))
		s.wakeOne()
	}
}

// giveBackMargin is how much of a stop's time (at most half of it) is kept
// to give back the leases of call handlers that have not finished by then,
// and how long giving them back may take. One short statement per module
// database: a second leaves room for a busy server and a new connection.
const giveBackMargin = 2 * time.Second

// giveBackTimer fires when the leases still held should be given back: at
// ctx's deadline less giveBackMargin, or half of the time left when that is
// shorter. Without a deadline it never fires (nil channel).
func giveBackTimer(ctx context.Context) (<-chan time.Time, func()) {
	deadline, ok := ctx.Deadline()
	if !ok {
		return nil, func() {}
	}
	left := time.Until(deadline)
	t := time.NewTimer(left - min(giveBackMargin, left/2))
	return t.C, func() { t.Stop() }
}

// heldLeases are the leases this process's call handlers hold, from the
// lease to the end of the handler's record; once given back (when a stop
// runs out of time) it takes no more, and the handlers still running are
// cancelled (abandoned ends).
type heldLeases struct {
	mu        sync.Mutex
	given     bool
	held      map[*subscription]map[string]claimed // by event id
	abandoned context.Context
	abandon   context.CancelFunc
}

func newHeldLeases() *heldLeases {
	h := &heldLeases{held: map[*subscription]map[string]claimed{}}
	h.abandoned, h.abandon = context.WithCancel(context.Background())
	return h
}

// add notes leases taken; it reports false, noting nothing, once the leases
// were given back.
func (h *heldLeases) add(s *subscription, cs []claimed) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.given {
		return false
	}
	for _, c := range cs {
		if h.held[s] == nil {
			h.held[s] = map[string]claimed{}
		}
		h.held[s][c.EventID] = c
	}
	return true
}

// drop forgets a lease whose handler has ended (its outcome recorded or not).
func (h *heldLeases) drop(s *subscription, c claimed) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.held[s], c.EventID)
}

// take returns the leases still held, by subscription, and takes no more.
func (h *heldLeases) take() map[*subscription][]claimed {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.given = true
	out := map[*subscription][]claimed{}
	for s, byID := range h.held {
		for _, c := range byID {
			out[s] = append(out[s], c)
		}
	}
	clear(h.held)
	return out
}

// giveBackLeases gives back every lease this process still holds, one
// statement per module database, then cancels the handlers that hold them:
// their outcome, should it still come, is not recorded (every record is
// guarded by the lease token, which is gone). It reports how many leases it
// gave back.
func (b *Bus) giveBackLeases(ctx context.Context) int {
	held := b.leases.take()
	byDB := map[*database.DB]map[*subscription][]claimed{}
	for s, cs := range held {
		if byDB[s.db] == nil {
			byDB[s.db] = map[*subscription][]claimed{}
		}
		byDB[s.db][s] = cs
	}
	total := 0
	for db, leases := range byDB {
		n, err := b.giveBack(ctx, db, leases)
		if err != nil {
			b.log.Warn("giving back the leases of unfinished call handlers failed; they expire",
				slog.String("module", db.Module), slog.String("error", err.Error()))
			continue
		}
		total += n
		b.log.Info("gave back the leases of call handlers unfinished at stop", slog.String("module", db.Module), slog.Int("leases", n))
	}
	b.leases.abandon()
	return total
}

// giveBackSQL gives leases back: the events are ready at once, for any
// worker or replica, and the other replicas are woken. Only a lease still
// held (the token unchanged: not recorded, not expired and taken by another
// worker) is given back. The token goes, so the next lease does not count
// the given-back one as a failed attempt (see leaseSQL): the handler was
// stopped by its process, not by its event. Parameters: subscribers, event
// ids and tokens (one element per lease), the notification's channel and
// payload.
const giveBackSQL = `WITH given AS (
	UPDATE event_inbox i SET lease_token = NULL, next_attempt_at = now()
	FROM unnest($1::text[], $2::text[]::uuid[], $3::text[]::uuid[]) AS l(subscriber, event_id, token)
	WHERE i.subscriber = l.subscriber AND i.event_id = l.event_id AND i.lease_token = l.token AND i.status = 'pending'
	RETURNING 1)
	SELECT count(pg_notify($4, $5)) FROM given`

// giveBack gives back leases of one module database's subscriptions in one
// statement, which may take giveBackMargin, whatever ctx says.
func (b *Bus) giveBack(ctx context.Context, db *database.DB, leases map[*subscription][]claimed) (int, error) {
	var subscribers, ids, tokens []string
	for s, cs := range leases {
		for _, c := range cs {
			if c.LeaseToken == nil {
				continue
			}
			subscribers, ids, tokens = append(subscribers, s.id), append(ids, c.EventID), append(tokens, *c.LeaseToken)
		}
	}
	if len(ids) == 0 {
		return 0, nil
	}
	gctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), giveBackMargin)
	defer cancel()
	var n int
	err := db.Pool.QueryRow(gctx, giveBackSQL, subscribers, ids, tokens, notifyChannel, "inbox:"+db.Module).Scan(&n)
	return n, err
}

// callLeaseBatch bounds how many events one lease statement takes (unless
// OneAtATime): a worker that leased that many leases again at once, and
// wakes another to help.
const callLeaseBatch = 16

// reserve takes up to n of the subscription's free call slots and returns
// how many it took; with none free it notes that a worker waits for one.
func (s *subscription) reserve(n int) int {
	for {
		used := s.inflight.Load()
		free := int32(s.callSlots) - used
		if free <= 0 {
			s.starved.Store(true)
			// A slot freed between the load and the flag would have found
			// no worker waiting: look again.
			if s.inflight.Load() < int32(s.callSlots) && s.starved.CompareAndSwap(true, false) {
				continue
			}
			return 0
		}
		take := min(int32(n), free)
		if s.inflight.CompareAndSwap(used, used+take) {
			return int(take)
		}
	}
}

// release gives n call slots back and wakes a worker if one waits for a slot.
func (s *subscription) release(n int) {
	if n <= 0 {
		return
	}
	s.inflight.Add(-int32(n))
	if s.starved.CompareAndSwap(true, false) {
		s.wakeOne()
	}
}

// handleLeased runs a leased event's call handler, then records its outcome
// in a statement of its own — unless the handler recorded it in its own
// last transaction (Handled): handled, or failed (retried with backoff,
// dead-lettered after the last attempt) as in dispatch. Every record is
// guarded by the lease token: a worker whose lease expired and went to
// another, or was given back by a stopping bus, records nothing. The handler
// runs to completion even when the bus is stopping, unless the stop runs out
// of time first: then its lease is given back and its context cancelled.
func (b *Bus) handleLeased(ctx context.Context, s *subscription, c claimed) error {
	// The records are worth trying until the lease ends, and no longer.
	rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), b.lease())
	defer rcancel()
	db := s.db.Gorm.WithContext(rctx)
	if c.Attempts >= b.cfg.MaxAttempts {
		// Its leases expired one after another (a handler that takes its
		// process down): the attempts are used up without a recorded failure.
		return b.deadLetterLeased(db, s, c)
	}
	hctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), b.cfg.HandlerTimeout)
	abandoned := context.AfterFunc(b.leases.abandoned, cancel) // its lease was given back
	defer abandoned()
	env := c.envelope()
	rec := &leaseRecord{db: s.db, subscriber: s.id, eventID: c.EventID, token: c.LeaseToken}
	cctx, span := handling(hctx, b.tr, s, env)
	failure := s.call(context.WithValue(cctx, leaseKey{}, rec), env)
	tracing.End(span, failure)
	cancel()
	if failure != nil {
		var recorded, dead bool
		err := recordAgain(rctx, func() (err error) {
			recorded, dead, err = b.recordFailure(db, s, c, failure)
			return err
		})
		switch {
		case recorded:
			b.reportFailure(s, c, failure, dead)
		case err == nil && !rec.done.Load():
			b.lostLease(s, c)
		}
		return err
	}
	if !rec.done.Load() {
		b.hook("handler.before-commit")
		var res *gorm.DB
		_ = recordAgain(rctx, func() error {
			res = db.Exec(markHandledSQL, s.id, c.EventID, c.LeaseToken)
			return res.Error
		})
		if res.Error != nil {
			return res.Error // the lease expires and the event is handled again
		}
		b.hook("handler.after-commit")
		if res.RowsAffected == 0 {
			b.lostLease(s, c)
			return nil
		}
	}
	b.m.delivered.WithLabelValues(c.Type, s.id).Inc()
	b.m.latency.WithLabelValues(c.Type, s.id).Observe(time.Since(c.OccurredAt).Seconds())
	return nil
}

// recordAgain runs record, one of a leased event's records, again while it
// fails for the database's momentary state (unreachable or overloaded) and
// ctx (the lease) lasts. The record is guarded by the lease token, so
// another try is safe; without it the event would wait for its lease to
// expire, long after the database came back, before it is handled again.
func recordAgain(ctx context.Context, record func() error) error {
	wait := 100 * time.Millisecond
	for {
		err := record()
		if err == nil || !momentary(err) || !sleep(ctx, wait) {
			return err
		}
		wait = min(2*wait, time.Second)
	}
}

// momentary reports a failure that says nothing about the event: the
// database refused the work for capacity or could not be reached.
func momentary(err error) bool { return errs.Overloaded(err) || errs.Unreachable(err) }

// markHandledSQL records a leased event handled, guarded by its lease
// token. Parameters: subscriber, event id, token.
const markHandledSQL = `UPDATE event_inbox SET status = 'done', attempts = attempts + 1, handled_at = now(), last_error = NULL, lease_token = NULL
	WHERE subscriber = $1 AND event_id = $2::uuid AND lease_token = $3::uuid`

// leaseRecord is what a call handler's context carries of its lease, for
// Handled.
type leaseRecord struct {
	db                  *database.DB
	subscriber, eventID string
	token               *string
	done                atomic.Bool // the record committed with the handler's transaction
}

type leaseKey struct{}

// Handled records the event a call handler is running as handled in tx, a
// transaction of the subscribing module's own database opened by
// database.InTx: the record travels with tx's COMMIT, in the same round trip,
// so the handler's last transaction and the inbox record commit together and
// the pipeline writes no record of its own. Call it in the transaction that
// records the handler's final outcome; once that transaction has committed
// the handler must not fail (the event is handled). It reports false, and
// records nothing, outside a call handler or for any other transaction; the
// pipeline then records the outcome after the handler returns, as usual. The
// record is guarded by the lease token like the pipeline's own.
func Handled(ctx context.Context, tx *gorm.DB) bool {
	rec, ok := ctx.Value(leaseKey{}).(*leaseRecord)
	if !ok || !rec.db.Holds(tx) {
		return false
	}
	return database.DeferToCommit(tx, markHandledSQL, rec.subscriber, rec.eventID, rec.token) &&
		database.AfterCommit(tx, func() { rec.done.Store(true) })
}

// deadLetterLeased dead-letters a leased event whose attempts were all lost
// with their leases.
func (b *Bus) deadLetterLeased(db *gorm.DB, s *subscription, c claimed) error {
	res := db.Exec(`UPDATE event_inbox SET status = 'dead', lease_token = NULL, next_attempt_at = now()
		WHERE subscriber = ? AND event_id = ? AND lease_token = ?::uuid`, s.id, c.EventID, c.LeaseToken)
	if res.Error == nil && res.RowsAffected > 0 {
		c.Attempts-- // reportFailure names the attempt that failed
		b.reportFailure(s, c, errLeaseExpired, true)
	}
	return res.Error
}

// lostLease logs a handler whose event went to another worker before its
// outcome was recorded (its lease expired, or was given back by a stopping
// bus): that worker's outcome counts, this one's does not.
func (b *Bus) lostLease(s *subscription, c claimed) {
	b.log.Warn("event handler finished after its lease expired or was given back; its outcome is not recorded",
		slog.String("subscriber", s.id), slog.String("event", c.Type), slog.String("event_id", c.EventID),
		slog.Duration("lease", b.lease()))
}
