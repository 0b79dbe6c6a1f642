package events_test

import (
	"context"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/shopmonolith/shop/platform/config"
	"github.com/shopmonolith/shop/platform/errs"
	"github.com/shopmonolith/shop/platform/events"
	"github.com/shopmonolith/shop/platform/events/eventstest"
)

// During a rolling deploy that adds a subscription, an older replica runs
// beside the new one and relays too. Whichever replica relays an event, it
// reaches every subscriber registered when it was committed: the older
// replica hands it on if it hosts the subscribing module, and leaves it to
// a replica that does otherwise.
func TestAnOlderReplicaRelayingLosesNoEventOfANewSubscriber(t *testing.T) {
	t.Parallel()
	onEachTransport(t, func(t *testing.T, transport string) {
		for _, tc := range []struct {
			name        string
			hostsEvtsub bool // the older replica runs another subscription of evtsub
		}{
			{"older replica without the subscribing module", false},
			{"older replica hosting the subscribing module", true},
		} {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				ctx := context.Background()
				w := newWorldOf(t, fastConfig(transport), 2)
				current := w.replica(&sink{})
				older := w.replica(nil)
				if tc.hostsEvtsub {
					typ, h := events.On(func(context.Context, *gorm.DB, thingUndone, events.Envelope) error { return nil })
					if err := older.bus.Subscribe(older.sub, "evtsub.older", typ, h); err != nil {
						t.Fatal(err)
					}
				}
				current.start(t)
				older.start(t)

				const total = 60
				for n := range total {
					// Requests land on either replica.
					[]*replica{current, older}[n%2].publish(t, ctx, thing("k", n))
				}
				waitRelayed(t, w)
				// Relayed is not yet in the inbox with the nats transport (the
				// consumer writes it there): wait for the effects themselves.
				eventstest.Eventually(t, 10*time.Second, "every event handled", func() bool {
					return w.effects() >= total
				})
				if n := w.effects(); n != total {
					t.Errorf("the new subscriber handled %d of %d events", n, total)
				}
				if n := current.sink.calls.Load(); n != total {
					t.Errorf("handler called %d times, want %d", n, total)
				}
				w.checkKeyOrder()
			})
		}
	})
}

// A relay whose process has no connection to a registered subscriber's
// module marks nothing forwarded from the first event that subscriber
// should get; a replica that can reach it delivers them all.
func TestEventsOfASubscriberOutOfReachWaitForAReplicaThatReachesIt(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newWorldOf(t, fastConfig(config.EventsPostgres), 3)
	// The subscription is registered by a replica that then stops.
	registrar := w.replica(&sink{}).start(t)
	if err := registrar.bus.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	blind := w.replica(nil).start(t) // hosts evtpub only

	// Nobody subscribes to thingUndone: the first event goes through.
	blind.publishUndone(t, ctx, thingUndone{Key: "k", N: 0})
	eventstest.Eventually(t, 10*time.Second, "the unsubscribed event relayed", func() bool {
		return w.count(`SELECT count(*) FROM evtpub.event_outbox WHERE forwarded_at IS NOT NULL`) == 1
	})
	const total = 10
	for n := range total {
		blind.publish(t, ctx, thing("k", n))
	}
	blind.publishUndone(t, ctx, thingUndone{Key: "k", N: total})
	held := map[string]string{"module": pubModule, "subscriber_module": subModule}
	eventstest.Eventually(t, 10*time.Second, "the relay held back", func() bool { return metric(t, blind.reg, "shop_events_relay_held_total", held) > 0 })
	if n := w.count(`SELECT count(*) FROM evtpub.event_outbox WHERE forwarded_at IS NOT NULL`); n != 1 {
		t.Errorf("%d events marked forwarded by a relay that cannot reach their subscriber, want only the first", n)
	}
	if n := w.count(`SELECT count(*) FROM evtsub.event_inbox`); n != 0 {
		t.Errorf("%d events in the inbox", n)
	}

	reaching := w.replica(&sink{}).start(t)
	waitRelayed(t, w)
	eventstest.Eventually(t, 10*time.Second, "every event handled", func() bool { return w.effects() == total })
	if n := reaching.sink.calls.Load(); n != total {
		t.Errorf("handler called %d times, want %d", n, total)
	}
	w.checkKeyOrder()
}

// publishUndone commits thingUndone events in one transaction of evtpub.
func (r *replica) publishUndone(t *testing.T, ctx context.Context, evs ...thingUndone) {
	t.Helper()
	batch := make([]events.Event, len(evs))
	for i, e := range evs {
		batch[i] = e
	}
	if err := r.pub.InTx(ctx, func(tx *gorm.DB) error { return r.outbox.Publish(ctx, tx, batch...) }); err != nil {
		t.Fatalf("publish: %v", err)
	}
}

// A subscriber id that no code runs any more stays registered and keeps
// receiving events; its undelivered events are listed as orphaned with when
// it last ran, and Forget retires it — never an id still registered.
func TestARetiredSubscriberIsReportedAndForgotten(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newWorldOf(t, fastConfig(config.EventsPostgres), 2)
	const retired = "evtsub.retired"
	old := w.replica(&sink{})
	typ, h := events.On(func(context.Context, *gorm.DB, thingHappened, events.Envelope) error { return nil })
	if err := old.bus.Subscribe(old.sub, retired, typ, h); err != nil {
		t.Fatal(err)
	}
	old.start(t)
	if err := old.bus.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	// The next version has no such subscriber.
	current := w.replica(&sink{}).start(t)
	current.publish(t, ctx, thing("k", 1), thing("k", 2))
	eventstest.Eventually(t, 10*time.Second, "events handled", func() bool { return w.effects() == 2 })
	if n := w.count(`SELECT count(*) FROM evtsub.event_inbox WHERE subscriber = $1 AND status = 'pending'`, retired); n != 2 {
		t.Fatalf("the retired id received %d events, want 2: it is still registered", n)
	}

	// While its registration is fresh some process may still run it.
	if dead, err := current.bus.DeadLetters(ctx); err != nil || len(dead) != 0 {
		t.Errorf("DeadLetters of a subscriber run lately = %+v, %v; want none", dead, err)
	}
	if _, err := current.bus.Forget(ctx, retired); errs.KindOf(err) != errs.KindConflict {
		t.Errorf("Forget of a subscriber run lately = %v, want KindConflict", err)
	}
	lastRun := time.Now().Add(-24 * time.Hour).UTC().Truncate(time.Second)
	w.exec(`UPDATE evtpub.event_subscriptions SET seen_at = $2 WHERE subscriber = $1`, retired, lastRun)
	dead, err := current.bus.DeadLetters(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(dead) != 2 {
		t.Fatalf("DeadLetters = %+v, want the retired id's 2 events", dead)
	}
	for _, d := range dead {
		if !d.Orphaned || d.Subscriber != retired || d.LastRun == nil || !d.LastRun.Equal(lastRun) {
			t.Errorf("dead letter = %+v, want orphaned, last run %s", d, lastRun)
		}
	}

	if _, err := current.bus.Forget(ctx, "Not an id"); errs.KindOf(err) != errs.KindInvalid {
		t.Errorf("Forget of a malformed id = %v, want KindInvalid", err)
	}
	if _, err := current.bus.Forget(ctx, subscriber); errs.KindOf(err) != errs.KindConflict {
		t.Errorf("Forget of a registered id = %v, want KindConflict", err)
	}
	got, err := current.bus.Forget(ctx, retired)
	if err != nil || got != (events.Forgotten{Registrations: 1, Undelivered: 2}) {
		t.Fatalf("Forget = %+v, %v; want 1 registration and 2 undelivered events", got, err)
	}
	if n := w.count(`SELECT count(*) FROM evtpub.event_subscriptions WHERE subscriber = $1`, retired); n != 0 {
		t.Errorf("%d registry rows left", n)
	}
	if n := w.count(`SELECT count(*) FROM evtpub.event_subscriptions WHERE subscriber = $1`, subscriber); n != 1 {
		t.Errorf("the registered subscriber has %d registry rows, want 1", n)
	}

	// Later events no longer reach it.
	current.publish(t, ctx, thing("k", 3))
	eventstest.Eventually(t, 10*time.Second, "event handled", func() bool { return w.effects() == 3 })
	if n := w.count(`SELECT count(*) FROM evtsub.event_inbox WHERE subscriber = $1`, retired); n != 0 {
		t.Errorf("the forgotten id has %d inbox rows", n)
	}
	if dead, err := current.bus.DeadLetters(ctx); err != nil || len(dead) != 0 {
		t.Errorf("DeadLetters after Forget = %+v, %v; want none", dead, err)
	}
}

// A process running a subscription refreshes its registration on the
// janitor's cadence (a tenth of the retention, here 6 s).
func TestRunningSubscriptionsRefreshTheirRegistration(t *testing.T) {
	t.Parallel()
	cfg := fastConfig(config.EventsPostgres)
	cfg.Events.Retention = time.Minute
	w := newWorld(t, cfg)
	w.replica(&sink{}).start(t)
	w.exec(`UPDATE evtpub.event_subscriptions SET seen_at = seen_at - interval '1 hour'`)
	eventstest.Eventually(t, 20*time.Second, "registration refreshed", func() bool {
		return w.count(`SELECT count(*) FROM evtpub.event_subscriptions WHERE subscriber = $1 AND seen_at > now() - interval '1 minute'`, subscriber) == 1
	})
}
