package events_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"gorm.io/gorm"

	"github.com/shopmonolith/shop/platform/config"
	"github.com/shopmonolith/shop/platform/errs"
	"github.com/shopmonolith/shop/platform/events"
	"github.com/shopmonolith/shop/platform/events/eventstest"
)

var errInjected = errors.New("boom: injected fault")

func TestRollbackPublishesNothing(t *testing.T) {
	t.Parallel()
	onEachTransport(t, func(t *testing.T, transport string) {
		ctx := context.Background()
		w := newWorld(t, fastConfig(transport))
		r := w.replica(&sink{}).start(t)

		err := r.pub.InTx(ctx, func(tx *gorm.DB) error {
			if err := r.outbox.Publish(ctx, tx, thing("rolled", 1)); err != nil {
				return err
			}
			return errInjected
		})
		if !errors.Is(err, errInjected) {
			t.Fatalf("InTx = %v, want the injected error", err)
		}
		// A committed marker, handled, shows the pipeline ran past the rollback.
		r.publish(t, ctx, thing("marker", 1))
		eventstest.Eventually(t, 10*time.Second, "marker handled", func() bool { return w.effects() == 1 })

		if n := w.count(`SELECT count(*) FROM evtpub.event_outbox`); n != 1 {
			t.Errorf("outbox holds %d events, want only the marker", n)
		}
		if n := w.count(`SELECT count(*) FROM evtsub.effects WHERE key = 'rolled'`); n != 0 {
			t.Errorf("rolled-back event handled %d times", n)
		}
		if n := r.sink.calls.Load(); n != 1 {
			t.Errorf("handler called %d times, want 1 (the marker)", n)
		}
	})
}

func TestCommittedEventIsDelivered(t *testing.T) {
	t.Parallel()
	onEachTransportAndKind(t, func(t *testing.T, transport string, calls bool) {
		ctx := context.Background()
		w := newWorld(t, fastConfig(transport))
		w.calls = calls
		r := w.replica(&sink{}).start(t)

		e := thing("k", 1)
		r.publish(t, ctx, e)
		// A call handler's effect commits before its event is marked done:
		// wait for both.
		eventstest.Eventually(t, 10*time.Second, "event handled", func() bool {
			return w.count(`SELECT count(*) FROM evtsub.effects WHERE key = 'k' AND n = 1`) == 1 &&
				w.count(`SELECT count(*) FROM evtsub.event_inbox WHERE status = 'done'`) == 1
		})
		if n := w.count(`SELECT count(*) FROM evtsub.event_inbox WHERE status = 'done' AND handled_at IS NOT NULL AND attempts = 1`); n != 1 {
			t.Errorf("%d inbox rows done at the first attempt, want 1", n)
		}
		if n := r.sink.calls.Load(); n != 1 {
			t.Errorf("handler called %d times, want 1", n)
		}
	})
}

func TestEventsCommittedWhileNoBusRanAreDeliveredOnStart(t *testing.T) {
	t.Parallel()
	onEachTransport(t, func(t *testing.T, transport string) {
		ctx := context.Background()
		w := newWorld(t, fastConfig(transport))
		r := w.replica(&sink{})
		for i := range 5 {
			r.publish(t, ctx, thing("offline", i))
		}
		if n := w.effects(); n != 0 {
			t.Fatalf("%d events handled before the bus started", n)
		}
		r.start(t)
		eventstest.Eventually(t, 10*time.Second, "events committed before start handled", func() bool { return w.effects() == 5 })
		w.checkKeyOrder()
	})
}

func TestFailingHandlerIsRetriedThenDeadLetteredAndReplayed(t *testing.T) {
	t.Parallel()
	onEachTransportAndKind(t, func(t *testing.T, transport string, calls bool) {
		ctx := context.Background()
		cfg := fastConfig(transport)
		// However slow the machine, the try on arrival (in a transaction)
		// runs to its end: the count of calls below is exact.
		cfg.Events.RelayHandling = time.Minute
		w := newWorld(t, cfg)
		w.calls = calls
		var broken atomic.Bool
		broken.Store(true)
		s := &sink{before: func(context.Context, thingHappened, events.Envelope) error {
			if broken.Load() {
				return errInjected
			}
			return nil
		}}
		r := w.replica(s).start(t)
		labels := map[string]string{"type": thingType, "subscriber": subscriber}

		r.publish(t, ctx, thing("bad", 1))
		dead := waitDead(t, r.bus, 1)
		d := dead[0]
		if d.Module != subModule || d.Subscriber != subscriber || d.Type != thingType || d.Key != "bad" || d.Orphaned {
			t.Errorf("dead letter = %+v", d)
		}
		if d.Attempts != 3 || !strings.Contains(d.Error, errInjected.Error()) {
			t.Errorf("dead letter after %d attempts with error %q, want 3 and %q", d.Attempts, d.Error, errInjected)
		}
		// A transactional handler is first tried as the event reaches the
		// inbox (by the relay, or by the NATS consumer); failed there, the
		// event is left to the dispatchers with no attempt counted.
		want := int64(3)
		if !calls {
			want++
		}
		if n := s.calls.Load(); n != want {
			t.Errorf("handler called %d times before dead-lettering, want %d (MaxAttempts = 3)", n, want)
		}
		if got := metric(t, r.reg, "shop_events_retried_total", labels); got != 2 {
			t.Errorf("retried = %v, want 2", got)
		}
		if got := metric(t, r.reg, "shop_events_dead_lettered_total", labels); got != 1 {
			t.Errorf("dead lettered = %v, want 1", got)
		}

		broken.Store(false)
		if n, err := r.bus.Replay(ctx, d.EventID, ""); err != nil || n != 1 {
			t.Fatalf("Replay = %d, %v; want 1", n, err)
		}
		eventstest.Eventually(t, 10*time.Second, "replayed event handled", func() bool { return w.effects() == 1 })
		if dead, err := r.bus.DeadLetters(ctx); err != nil || len(dead) != 0 {
			t.Errorf("DeadLetters after replay = %v, %v; want none", dead, err)
		}

		broken.Store(true)
		r.publish(t, ctx, thing("bad", 2), thing("worse", 1))
		waitDead(t, r.bus, 2)
		broken.Store(false)
		if n, err := r.bus.Replay(ctx, "", ""); err != nil || n != 2 {
			t.Fatalf("Replay all = %d, %v; want 2", n, err)
		}
		eventstest.Eventually(t, 10*time.Second, "all replayed events handled", func() bool { return w.effects() == 3 })
		if n, err := r.bus.Replay(ctx, "", ""); err != nil || n != 0 {
			t.Errorf("Replay all with nothing dead = %d, %v; want 0, nil", n, err)
		}
		for _, id := range []string{"0190b0e4-8f7a-7c3e-9d41-000000000000", "not-a-uuid", d.EventID} {
			if _, err := r.bus.Replay(ctx, id, ""); errs.KindOf(err) != errs.KindNotFound {
				t.Errorf("Replay(%s) = %v, want KindNotFound", id, err)
			}
		}
		// A call handler's delivery is counted after its effect commits.
		eventstest.Eventually(t, 10*time.Second, "every delivery counted", func() bool {
			return metric(t, r.reg, "shop_events_delivered_total", labels) >= 3
		})
		if got := metric(t, r.reg, "shop_events_delivered_total", labels); got != 3 {
			t.Errorf("delivered = %v, want 3 (each event once)", got)
		}
	})
}

func TestRefusedConnectionIsRetriedWithoutUsingAnAttempt(t *testing.T) {
	t.Parallel()
	onEachTransportAndKind(t, func(t *testing.T, transport string, calls bool) {
		ctx := context.Background()
		w := newWorld(t, fastConfig(transport)) // MaxAttempts 3
		w.calls = calls
		const refusals = 5
		var refused atomic.Int64
		s := &sink{before: func(context.Context, thingHappened, events.Envelope) error {
			if refused.Add(1) <= refusals {
				// What a neighbour's pool returns when PostgreSQL is out of connections.
				return fmt.Errorf("call neighbour: %w", &pgconn.PgError{Code: "53300", Message: "sorry, too many clients already"})
			}
			return nil
		}}
		r := w.replica(s).start(t)
		r.publish(t, ctx, thing("busy", 1))
		eventstest.Eventually(t, 10*time.Second, "event handled after the refusals", func() bool { return w.effects() == 1 })
		// A call handler's outcome is recorded after its own transaction commits.
		eventstest.Eventually(t, 10*time.Second, "the outcome recorded", func() bool { return inboxStatus(t, w) == "done" })
		if n := s.calls.Load(); n != refusals+1 {
			t.Errorf("handler called %d times, want %d", n, refusals+1)
		}
		if dead, err := r.bus.DeadLetters(ctx); err != nil || len(dead) != 0 {
			t.Errorf("DeadLetters = %v, %v; want none", dead, err)
		}
		if n := w.count(`SELECT attempts FROM evtsub.event_inbox`); n != 1 {
			t.Errorf("attempts recorded = %d, want 1 (refusals do not count)", n)
		}
	})
}

// waitDead waits until exactly n events are dead-lettered and returns them.
func waitDead(t *testing.T, bus *events.Bus, n int) []events.DeadLetter {
	t.Helper()
	var dead []events.DeadLetter
	eventstest.Eventually(t, 10*time.Second, "events dead-lettered", func() bool {
		var err error
		if dead, err = bus.DeadLetters(context.Background()); err != nil {
			t.Fatal(err)
		}
		return len(dead) == n
	})
	return dead
}

func TestDuplicateForwardingHasNoSecondEffect(t *testing.T) {
	t.Parallel()
	onEachTransport(t, func(t *testing.T, transport string) {
		ctx := context.Background()
		w := newWorld(t, fastConfig(transport))
		r := w.replica(&sink{}).start(t)

		r.publish(t, ctx, thing("dup", 1), thing("dup", 2))
		eventstest.Eventually(t, 10*time.Second, "events handled", func() bool { return w.effects() == 2 })

		// As if the relay crashed between forwarding and marking: it forwards
		// the same rows again.
		w.exec(`UPDATE evtpub.event_outbox SET forwarded_at = NULL`)
		eventstest.Eventually(t, 10*time.Second, "rows forwarded again", func() bool {
			return w.count(`SELECT count(*) FROM evtpub.event_outbox WHERE forwarded_at IS NULL`) == 0
		})
		// The marker comes later in the inbox; once it is handled, a redelivered
		// row would have been handled too.
		r.publish(t, ctx, thing("marker", 1))
		eventstest.Eventually(t, 10*time.Second, "marker handled", func() bool { return w.effects() == 3 })

		if n := w.count(`SELECT count(*) FROM evtsub.event_inbox`); n != 3 {
			t.Errorf("inbox holds %d rows, want 3", n)
		}
		if n := r.sink.calls.Load(); n != 3 {
			t.Errorf("handler called %d times, want 3", n)
		}
	})
}

func TestPerKeyOrderSurvivesTransientFailures(t *testing.T) {
	t.Parallel()
	onEachTransportAndKind(t, func(t *testing.T, transport string, calls bool) {
		ctx := context.Background()
		w := newWorld(t, fastConfig(transport))
		w.calls = calls
		// Some events fail before their effect, some after it (which must be
		// undone, or the retry's INSERT would fail on the duplicate).
		failedBefore, failedAfter := syncSet{}, syncSet{}
		s := &sink{
			before: func(_ context.Context, e thingHappened, env events.Envelope) error {
				if e.N%4 == 1 && failedBefore.add(env.ID) {
					return errInjected
				}
				return nil
			},
			after: func(_ context.Context, e thingHappened, env events.Envelope) error {
				if e.N%5 == 2 && failedAfter.add(env.ID) {
					return errInjected
				}
				return nil
			},
		}
		r := w.replica(s).start(t)

		const perKey = 40
		keys := []string{"a", "b", "c", "d", "e"}
		for batch := range perKey / 10 {
			var evs []thingHappened
			for i := range 10 {
				for _, k := range keys {
					evs = append(evs, thing(k, batch*10+i))
				}
			}
			r.publish(t, ctx, evs...)
		}
		total := perKey * len(keys)
		// A call handler's effect commits before its event is marked done:
		// wait for both.
		eventstest.Eventually(t, 30*time.Second, "all events handled and marked done", func() bool {
			return w.effects() == total && w.count(`SELECT count(*) FROM evtsub.event_inbox WHERE status = 'done'`) == total
		})
		w.checkKeyOrder()
		// Each injected fault costs exactly one extra call: nothing else failed.
		injected := int64(len(failedBefore.seen) + len(failedAfter.seen))
		if injected == 0 || s.failures.Load() != injected || s.calls.Load() != int64(total)+injected {
			t.Errorf("%d calls, %d failures for %d injected faults and %d events", s.calls.Load(), s.failures.Load(), injected, total)
		}
	})
}

func TestTraceContextAndRequestIDTravel(t *testing.T) {
	t.Parallel()
	onEachTransportAndKind(t, func(t *testing.T, transport string, calls bool) {
		w := newWorld(t, fastConfig(transport))
		w.calls = calls
		s := &sink{}
		r := w.replica(s).start(t)

		ctx, traceID := tracedContext(context.Background())
		r.publish(t, ctx, thing("traced", 1))
		eventstest.Eventually(t, 10*time.Second, "event handled", func() bool { return w.effects() == 1 })

		s.mu.Lock()
		hctx := s.lastCtx
		s.mu.Unlock()
		if got := spanTraceID(hctx); got != traceID {
			t.Errorf("handler trace id = %s, want %s", got, traceID)
		}
		if got := requestID(hctx); got != "req-42" {
			t.Errorf("handler request id = %q, want req-42", got)
		}
	})
}

func TestSubscribeAndPublishValidation(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newWorld(t, fastConfig(config.EventsPostgres))
	r := w.replica(&sink{})
	_, h := events.On((&sink{}).handle)
	bad := []struct{ id, typ string }{
		{"evtsub", thingType},                     // no name
		{"Evtsub.effects2", thingType},            // upper case
		{"evtpub.effects2", thingType},            // another module's prefix
		{"evtsub.", thingType},                    // empty name
		{"evtsub.ok", "evtpub.thing_happened"},    // no version
		{"evtsub.ok", "EvtPub.thing_happened.v1"}, // upper case
		{"evtsub.ok", "thing_happened.v1"},        // no module
		{subscriber, thingType},                   // registered already
	}
	for _, b := range bad {
		if err := r.bus.Subscribe(r.sub, b.id, b.typ, h); err == nil {
			t.Errorf("Subscribe(%q, %q) = nil, want an error", b.id, b.typ)
		}
	}
	if err := r.bus.Subscribe(r.sub, "evtsub.second", thingType, h); err != nil {
		t.Errorf("Subscribe of a second valid id = %v", err)
	}
	r.start(t)
	if err := r.bus.Subscribe(r.sub, "evtsub.late", thingType, h); err == nil {
		t.Error("Subscribe after Start = nil, want an error")
	}
	if err := r.bus.Start(ctx); err == nil {
		t.Error("second Start = nil, want an error")
	}

	err := r.pub.InTx(ctx, func(tx *gorm.DB) error { return r.outbox.Publish(ctx, tx, stranger{}) })
	if err == nil {
		t.Error("publishing another module's event type = nil, want an error")
	}
	if n := w.count(`SELECT count(*) FROM evtpub.event_outbox`); n != 0 {
		t.Errorf("outbox holds %d events after a refused publish", n)
	}
}

func TestMetricsCountThePipeline(t *testing.T) {
	t.Parallel()
	onEachTransport(t, func(t *testing.T, transport string) {
		ctx := context.Background()
		w := newWorld(t, fastConfig(transport))
		r := w.replica(&sink{}).start(t)
		labels := map[string]string{"type": thingType, "subscriber": subscriber}

		r.publish(t, ctx, thing("m", 1), thing("m", 2), thing("n", 1))
		eventstest.Eventually(t, 10*time.Second, "events handled", func() bool { return w.effects() == 3 })
		eventstest.Eventually(t, 5*time.Second, "delivered counted", func() bool {
			return metric(t, r.reg, "shop_events_delivered_total", labels) == 3
		})
		if got := metric(t, r.reg, "shop_events_published_total", map[string]string{"type": thingType}); got != 3 {
			t.Errorf("published = %v, want 3", got)
		}
		if got := metric(t, r.reg, "shop_events_commit_to_handled_seconds", labels); got != 3 {
			t.Errorf("latency samples = %v, want 3", got)
		}
		if got := metric(t, r.reg, "shop_events_dead_lettered_total", labels); got != 0 {
			t.Errorf("dead lettered = %v, want 0", got)
		}
	})
}

// TestAWakeUpGoesToAnIdleWorker: with one of the subscriber's two workers
// held by a slow handler, every event of another key published meanwhile is
// handled by the other worker at once — none waits for the slow batch to
// commit, or for the safety poll (a minute here). A wake-up sent to the
// workers in turn waited behind the slow one every second event.
func TestAWakeUpGoesToAnIdleWorker(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cfg := fastConfig(config.EventsPostgres)
	cfg.Events.Workers = 2
	cfg.Events.PollInterval = time.Minute
	cfg.Events.RelayHandling = 0 // the workers are what this test is about
	w := newWorld(t, cfg)
	inside, release := make(chan struct{}), make(chan struct{})
	free := closer(t, release)
	s := &sink{before: func(ctx context.Context, e thingHappened, _ events.Envelope) error {
		if e.Key != "slow" {
			return nil
		}
		close(inside)
		select {
		case <-release:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}}
	r := w.replica(s).start(t)
	r.publish(t, ctx, thing("slow", 1))
	select {
	case <-inside:
	case <-time.After(20 * time.Second):
		t.Fatal("the slow handler was not called")
	}
	for i := range 4 {
		r.publish(t, ctx, thing(fmt.Sprintf("k%d", i), 1))
		eventstest.Eventually(t, 10*time.Second, fmt.Sprintf("event %d handled while a worker is held", i+1),
			func() bool { return w.effects() == i+1 })
	}
	free()
	eventstest.Eventually(t, 10*time.Second, "the slow event handled", func() bool { return w.effects() == 5 })
}
