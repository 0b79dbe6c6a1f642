package events

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
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

// dispatchCall leases the subscriber's next ready event, runs its call
// handler with no transaction open and no connection held, then records the
// outcome in a statement of its own: handled, or failed (retried with
// backoff, dead-lettered after the last attempt) as in dispatch. Every
// record is guarded by the lease token: a worker whose lease expired and
// went to another records nothing. The handler runs to completion even when
// the bus is stopping. It reports how many events it took (0 or 1).
func (b *Bus) dispatchCall(ctx context.Context, s *subscription) (int, error) {
	var leased []claimed
	err := s.db.Gorm.WithContext(ctx).Raw(leaseSQL, s.id, 1, uuid.NewString(), b.lease().Seconds(), leaseExpired).
		Scan(&leased).Error
	if err != nil || len(leased) == 0 {
		return 0, err
	}
	c := leased[0]
	db := s.db.Gorm.WithContext(context.WithoutCancel(ctx))
	if c.Attempts >= b.cfg.MaxAttempts {
		// Its leases expired one after another (a handler that takes its
		// process down): the attempts are used up without a recorded failure.
		return 1, b.deadLetterLeased(db, s, c)
	}
	hctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), b.cfg.HandlerTimeout)
	env := c.envelope()
	failure := s.call(contextFrom(hctx, env.Metadata), env)
	cancel()
	if failure != nil {
		recorded, dead, err := b.recordFailure(db, s, c, failure)
		switch {
		case recorded:
			b.reportFailure(s, c, failure, dead)
		case err == nil:
			b.lostLease(s, c)
		}
		return 1, err
	}
	b.hook("handler.before-commit")
	res := db.Exec(`UPDATE event_inbox SET status = 'done', attempts = attempts + 1, handled_at = now(), last_error = NULL, lease_token = NULL
		WHERE subscriber = ? AND event_id = ? AND lease_token = ?::uuid`, s.id, c.EventID, c.LeaseToken)
	if res.Error != nil {
		return 1, res.Error // the lease expires and the event is handled again
	}
	b.hook("handler.after-commit")
	if res.RowsAffected == 0 {
		b.lostLease(s, c)
		return 1, nil
	}
	b.m.delivered.WithLabelValues(c.Type, s.id).Inc()
	b.m.latency.WithLabelValues(c.Type, s.id).Observe(time.Since(c.OccurredAt).Seconds())
	return 1, nil
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
// outcome was recorded: that worker's outcome counts, this one's does not.
func (b *Bus) lostLease(s *subscription, c claimed) {
	b.log.Warn("event handler finished after its lease expired; its outcome is not recorded",
		slog.String("subscriber", s.id), slog.String("event", c.Type), slog.String("event_id", c.EventID),
		slog.Duration("lease", b.lease()))
}
