package events_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/shopmonolith/shop/platform/config"
	"github.com/shopmonolith/shop/platform/database"
	"github.com/shopmonolith/shop/platform/events"
	"github.com/shopmonolith/shop/platform/events/eventstest"
)

// A call handler runs with no transaction of its module open: the claim and
// the record are transactions of their own. The same probe run on a handler
// inside the dispatch transaction finds that transaction, so it would see
// one left open.
func TestCallHandlerHoldsNoTransactionWhileItRuns(t *testing.T) {
	t.Parallel()
	onEachTransportAndKind(t, func(t *testing.T, transport string, calls bool) {
		ctx := context.Background()
		cfg := fastConfig(transport)
		cfg.Events.Workers = 1
		w := newWorld(t, cfg)
		w.calls = calls
		role := w.cfg.DB.RolePrefix + "_" + subModule
		open := make(chan int, 1)
		s := &sink{before: func(ctx context.Context, _ thingHappened, _ events.Envelope) error {
			// Sessions of the subscriber's role inside a transaction that
			// wrote or locked rows, waiting for the client: a transaction
			// held across Go code. (One that has not locked anything yet,
			// such as another dispatcher's between its BEGIN and its claim,
			// has no transaction id.)
			var n int
			err := w.owner.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
				WHERE usename = $1 AND state = 'idle in transaction' AND backend_xid IS NOT NULL`, role).Scan(&n)
			open <- n
			return err
		}}
		r := w.replica(s).start(t)
		r.publish(t, ctx, thing("probe", 1))
		var n int
		select {
		case n = <-open:
		case <-time.After(10 * time.Second):
			t.Fatal("handler never ran")
		}
		if want := map[bool]int{true: 0, false: 1}[calls]; n != want {
			t.Errorf("%d transactions of %s open while the handler ran, want %d", n, subModule, want)
		}
		eventstest.Eventually(t, 10*time.Second, "event handled", func() bool { return w.effects() == 1 })
	})
}

// While a handler runs, the later events of its key wait, whichever the
// kind of handler; events of other keys go on.
func TestAHandlerInProgressHoldsBackTheLaterEventsOfItsKey(t *testing.T) {
	t.Parallel()
	onEachTransportAndKind(t, func(t *testing.T, transport string, calls bool) {
		ctx := context.Background()
		cfg := fastConfig(transport) // two workers
		// The held handler ignores its context: run by the relay, it would
		// hold back the relay (handlers must return when their context ends).
		cfg.Events.RelayHandling = 0
		w := newWorld(t, cfg)
		w.calls = calls
		entered, release := make(chan struct{}), make(chan struct{})
		var mu sync.Mutex
		started := map[string]bool{}
		s := &sink{before: func(_ context.Context, e thingHappened, _ events.Envelope) error {
			mu.Lock()
			started[e.ID] = true
			mu.Unlock()
			if e.Key == "a" && e.N == 1 {
				close(entered)
				<-release
			}
			return nil
		}}
		r := w.replica(s).start(t)
		free := closer(t, release)
		a1, a2, b1 := thing("a", 1), thing("a", 2), thing("b", 1)
		r.publish(t, ctx, a1, a2)
		waitClosed(t, entered)
		// b1 comes after a2 in the inbox: had a2 been claimable, the other
		// worker would have taken it before b1.
		r.publish(t, ctx, b1)
		eventstest.Eventually(t, 10*time.Second, "the other key's event handled", func() bool {
			return w.count(`SELECT count(*) FROM evtsub.effects WHERE key = 'b'`) == 1
		})
		mu.Lock()
		a2Started := started[a2.ID]
		mu.Unlock()
		if a2Started {
			t.Error("the next event of the key started while the first was still being handled")
		}
		free()
		eventstest.Eventually(t, 10*time.Second, "all handled", func() bool { return w.effects() == 3 })
		w.checkKeyOrder()
	})
}

// Call handlers of different keys run at once, up to SHOP_EVENTS_CALL_WORKERS
// per process whatever SHOP_EVENTS_WORKERS is: each of n events (n keys) is
// held in its handler until all n are inside, which only n handlers in
// flight at once can reach; with one handler per worker the barrier would
// never open and the test would fail at its deadline. The later event of
// each key still waits for the first.
func TestCallHandlersOfDifferentKeysRunAtOnce(t *testing.T) {
	t.Parallel()
	onEachTransport(t, func(t *testing.T, transport string) {
		ctx := context.Background()
		const n = 12
		cfg := fastConfig(transport)
		cfg.Events.Workers = 2
		cfg.Events.CallWorkers = n
		w := newWorld(t, cfg)
		w.calls = true
		var (
			mu      sync.Mutex
			inside  int
			firsts  = map[string]bool{}
			overlap []string // a key's second event started while its first was inside
		)
		all := make(chan struct{})
		free := closer(t, all)
		s := &sink{before: func(ctx context.Context, e thingHappened, _ events.Envelope) error {
			mu.Lock()
			if e.N == 2 && firsts[e.Key] {
				overlap = append(overlap, e.Key)
			}
			if e.N != 1 {
				mu.Unlock()
				return nil
			}
			firsts[e.Key] = true
			if inside++; inside == n {
				free()
			}
			mu.Unlock()
			defer func() {
				mu.Lock()
				delete(firsts, e.Key)
				mu.Unlock()
			}()
			select {
			case <-all:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}}
		r := w.replica(s).start(t)
		evs := make([]thingHappened, 0, 2*n)
		for i := range n {
			evs = append(evs, thing(fmt.Sprintf("k%d", i), 1), thing(fmt.Sprintf("k%d", i), 2))
		}
		r.publish(t, ctx, evs...)
		select {
		case <-all:
		case <-time.After(20 * time.Second):
			mu.Lock()
			got := inside
			mu.Unlock()
			t.Fatalf("%d of %d call handlers of different keys were in flight at once", got, n)
		}
		eventstest.Eventually(t, 20*time.Second, "all handled", func() bool { return w.effects() == 2*n })
		mu.Lock()
		defer mu.Unlock()
		if len(overlap) > 0 {
			t.Errorf("the second event of keys %v started while their first was in its handler", overlap)
		}
		w.checkKeyOrder()
	})
}

// A call handler that calls events.Handled in its transaction has the event
// recorded handled by that transaction's commit: the inbox row is done as
// soon as it commits, before the handler returns; a transaction that rolls
// back records nothing, and the event is retried. Handled refuses another
// module's transaction and a context that is not a call handler's.
func TestHandledRecordsTheEventWithTheHandlersTransaction(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newWorld(t, fastConfig(config.EventsPostgres))
	r := w.replica(nil)
	statuses := make(chan string, 4)
	var attempts atomic.Int32
	typ, h := events.OnCall(func(ctx context.Context, e thingHappened, env events.Envelope) error {
		failing := attempts.Add(1) == 1
		if err := r.pub.InTx(ctx, func(tx *gorm.DB) error {
			if events.Handled(ctx, tx) {
				return errors.New("Handled accepted a transaction of another module")
			}
			return nil
		}); err != nil {
			return err
		}
		err := r.sub.InTx(ctx, func(tx *gorm.DB) error {
			if !events.Handled(ctx, tx) {
				return errors.New("Handled refused the handler's own transaction")
			}
			if err := tx.Exec(`INSERT INTO effects (event_id, key, seq, n) VALUES (?, ?, ?, ?)`, env.ID, env.Key, env.Seq, e.N).Error; err != nil {
				return err
			}
			if failing {
				return errors.New("first attempt rolls back")
			}
			return nil
		})
		var status string
		if qerr := w.owner.QueryRow(ctx, `SELECT status FROM evtsub.event_inbox WHERE event_id = $1`, env.ID).Scan(&status); qerr != nil {
			return qerr
		}
		statuses <- status
		return err
	})
	if err := r.bus.SubscribeCalls(r.sub, subscriber, typ, h); err != nil {
		t.Fatal(err)
	}
	r.start(t)
	if events.Handled(ctx, r.sub.Gorm) {
		t.Error("Handled accepted a context that is not a call handler's")
	}
	r.publish(t, ctx, thing("a", 1))
	for i, want := range []string{"pending", "done"} {
		select {
		case got := <-statuses:
			if got != want {
				t.Errorf("attempt %d: inbox row %s right after the handler's transaction, want %s", i+1, got, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("attempt %d never ran", i+1)
		}
	}
	eventstest.Eventually(t, 10*time.Second, "event handled", func() bool {
		return w.count(`SELECT count(*) FROM evtsub.event_inbox WHERE status = 'done' AND attempts = 2`) == 1
	})
	if n := w.effects(); n != 1 {
		t.Errorf("%d effects, want 1", n)
	}
}

// A call handler whose process stops dead (here: a handler that does not
// return, as far as the pipeline can tell) keeps its event only for its
// lease: another replica then takes it, and when the first handler returns
// after all, it does not mark the event the second one holds.
func TestAnExpiredLeaseIsClaimedAgainAndTheLateOutcomeIgnored(t *testing.T) {
	t.Parallel()
	onEachTransport(t, func(t *testing.T, transport string) {
		ctx := context.Background()
		cfg := fastConfig(transport)
		cfg.Events.HandlerTimeout = time.Second // a lease of 1.5 s
		cfg.Events.Workers = 1                  // the first replica's only worker and
		cfg.Events.CallWorkers = 1              // only call slot are stuck
		w := newWorldOf(t, cfg, 2)
		entered1, release1 := make(chan struct{}), make(chan struct{})
		first := w.idempotentReplica(func(events.Envelope) {
			close(entered1)
			<-release1 // deaf to its context, as a dead process would be
		})
		free1 := closer(t, release1)
		first.publish(t, ctx, thing("lease", 1))
		waitClosed(t, entered1)

		entered2, release2 := make(chan struct{}), make(chan struct{})
		var attempt atomic.Int64
		second := w.idempotentReplica(func(env events.Envelope) {
			attempt.Store(int64(env.Attempt))
			close(entered2)
			<-release2
		})
		free2 := closer(t, release2)
		waitClosed(t, entered2) // once the first lease expired
		if a := attempt.Load(); a != 2 {
			t.Errorf("second replica's handler runs attempt %d, want 2 (the expired lease counts)", a)
		}

		free1()
		if err := first.bus.Stop(ctx); err != nil { // the late handler returns and tries to record
			t.Fatal(err)
		}
		if status := inboxStatus(t, w); status != "pending" {
			t.Errorf("inbox row after the late success = %s, want pending: the second replica's lease stands", status)
		}
		free2()
		eventstest.Eventually(t, 10*time.Second, "event done", func() bool { return inboxStatus(t, w) == "done" })
		if n := w.count(`SELECT attempts FROM evtsub.event_inbox`); n != 2 {
			t.Errorf("attempts = %d, want 2", n)
		}
		checkDeliveredOnceBy(t, second, first)
	})
}

// idempotentReplica starts a replica whose call handler is idempotent(gate).
func (w *world) idempotentReplica(gate func(events.Envelope)) *replica {
	w.t.Helper()
	r := w.replica(nil)
	typ, h := idempotent(r.sub, gate)
	if err := r.bus.SubscribeCalls(r.sub, subscriber, typ, h); err != nil {
		w.t.Fatal(err)
	}
	return r.start(w.t)
}

// checkDeliveredOnceBy fails unless the event was counted delivered by
// winner, once, and not by late, whose handler's outcome came after its
// lease was gone.
func checkDeliveredOnceBy(t *testing.T, winner, late *replica) {
	t.Helper()
	labels := map[string]string{"subscriber": subscriber}
	if got := metric(t, late.reg, "shop_events_delivered_total", labels); got != 0 {
		t.Errorf("the late handler was counted as delivered (%v)", got)
	}
	if got := metric(t, winner.reg, "shop_events_delivered_total", labels); got != 1 {
		t.Errorf("the replica holding the lease delivered %v, want 1", got)
	}
}

// idempotent is a call handler that records its event's effect once however
// often it runs; gate runs first. It ignores its deadline (the handler
// timeout), so that it can succeed after its lease expired.
func idempotent(db *database.DB, gate func(events.Envelope)) (string, events.CallHandler) {
	return events.OnCall(func(ctx context.Context, e thingHappened, env events.Envelope) error {
		gate(env)
		return db.InTx(context.WithoutCancel(ctx), func(tx *gorm.DB) error {
			return tx.Exec(`INSERT INTO effects (event_id, key, seq, n) VALUES (?, ?, ?, ?) ON CONFLICT (event_id) DO NOTHING`,
				env.ID, env.Key, env.Seq, e.N).Error
		})
	})
}

func inboxStatus(t *testing.T, w *world) string {
	t.Helper()
	var status string
	if err := w.owner.QueryRow(context.Background(), `SELECT status FROM evtsub.event_inbox`).Scan(&status); err != nil {
		t.Fatal(err)
	}
	return status
}

// A call handler that loses every lease (it takes its process down each
// time) uses up its attempts and is dead-lettered like a failing one.
func TestLeasesLostOnEveryAttemptDeadLetterTheEvent(t *testing.T) {
	t.Parallel()
	onEachTransport(t, func(t *testing.T, transport string) {
		ctx := context.Background()
		cfg := fastConfig(transport) // MaxAttempts 3
		// A lease this long also covers a handler's start on a loaded
		// machine (at 200 ms, a race build beside other tests once saw a
		// lease expire before its handler started).
		cfg.Events.HandlerTimeout = time.Second
		cfg.Events.Workers = 4 // each lost attempt keeps its worker
		w := newWorld(t, cfg)
		w.calls = true
		release := make(chan struct{})
		s := &sink{before: func(context.Context, thingHappened, events.Envelope) error {
			<-release
			return nil
		}}
		r := w.replica(s).start(t)
		closer(t, release)
		r.publish(t, ctx, thing("crashing", 1))
		d := waitDead(t, r.bus, 1)[0]
		if d.Attempts != 3 || !strings.Contains(d.Error, "lease expired") {
			t.Errorf("dead letter after %d attempts with %q, want 3 and an expired lease", d.Attempts, d.Error)
		}
		if n := s.calls.Load(); n != 3 {
			t.Errorf("handler started %d times, want 3", n)
		}
	})
}

// One subscriber id cannot mix handlers inside and outside transactions:
// its events form one stream, dispatched one way.
func TestOneSubscriberIDIsDispatchedOneWay(t *testing.T) {
	t.Parallel()
	w := newWorld(t, fastConfig(config.EventsPostgres))
	r := w.replica(nil)
	typ, h := events.On(func(context.Context, *gorm.DB, thingHappened, events.Envelope) error { return nil })
	if err := r.bus.Subscribe(r.sub, subscriber, typ, h); err != nil {
		t.Fatal(err)
	}
	other, oh := events.OnCall(func(context.Context, thingUndone, events.Envelope) error { return nil })
	if err := r.bus.SubscribeCalls(r.sub, subscriber, other, oh); err == nil {
		t.Error("a call handler under a transactional subscriber's id = nil, want an error")
	}
	if err := r.bus.SubscribeCalls(r.sub, "evtsub.calls", other, oh); err != nil {
		t.Errorf("SubscribeCalls under an id of its own = %v", err)
	}
	if err := r.bus.SubscribeCalls(r.sub, "evtsub.calls", other, oh); err == nil {
		t.Error("a call handler registered twice for one type = nil, want an error")
	}
}

func waitClosed(t *testing.T, c <-chan struct{}) {
	t.Helper()
	select {
	case <-c:
	case <-time.After(10 * time.Second):
		t.Fatal("handler never ran")
	}
}

// closer returns a function that closes c once; the test's cleanup calls it
// too, before the buses registered earlier are stopped, so that a failing
// test does not leave handlers blocked on c.
func closer(t *testing.T, c chan struct{}) func() {
	var once sync.Once
	free := func() { once.Do(func() { close(c) }) }
	t.Cleanup(free)
	return free
}
