package events_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/shopmonolith/shop/platform/config"
	"github.com/shopmonolith/shop/platform/events"
	"github.com/shopmonolith/shop/platform/events/eventstest"
)

// inboxRowVisible reports whether another connection sees the event's inbox
// row: a handler run in the relay's transaction, which writes that row, runs
// before it is committed; a dispatcher claims only committed rows.
func inboxRowVisible(ctx context.Context, w *world, eventID string) (bool, error) {
	var n int
	err := w.owner.QueryRow(context.WithoutCancel(ctx), `SELECT count(*) FROM evtsub.event_inbox WHERE event_id = $1`, eventID).Scan(&n)
	return n == 1, err
}

// The relay (postgres transport), or the NATS consumer, runs this process's
// transactional handlers in the transaction that writes their events into
// the inbox (SHOP_EVENTS_RELAY_HANDLING): the handler runs before its inbox
// row is committed. With the setting off, or for a subscription made with
// events.Dispatched, dispatchers claim the committed rows.
func TestEventsAreHandledInTheTransactionThatBringsThemIn(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		transport string
		setting   time.Duration
		inRelay   bool
		opts      []events.SubscribeOption
	}{
		// A minute, not the default 250 ms, so that a slow run (a race
		// build on a loaded machine) does not see the relay give up.
		{"on", config.EventsPostgres, time.Minute, true, nil},
		{"off", config.EventsPostgres, 0, false, nil},
		{"on, dispatched", config.EventsPostgres, time.Minute, false, []events.SubscribeOption{events.Dispatched()}},
		// The NATS consumer does as the relay: its inbox write runs them.
		{"nats, on", config.EventsNATS, time.Minute, true, nil},
		{"nats, off", config.EventsNATS, 0, false, nil},
	} {
		inRelay := tc.inRelay
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			cfg := fastConfig(tc.transport)
			cfg.Events.RelayHandling = tc.setting
			w := newWorld(t, cfg)
			w.opts = tc.opts
			var mu sync.Mutex
			visible := map[string]bool{}
			s := &sink{before: func(ctx context.Context, _ thingHappened, env events.Envelope) error {
				v, err := inboxRowVisible(ctx, w, env.ID)
				mu.Lock()
				visible[env.ID] = v
				mu.Unlock()
				return err
			}}
			r := w.replica(s).start(t)
			r.publish(t, ctx, thing("a", 1), thing("b", 1), thing("c", 1))
			eventstest.Eventually(t, 10*time.Second, "events handled", func() bool { return w.effects() == 3 })
			mu.Lock()
			defer mu.Unlock()
			for id, v := range visible {
				if v == inRelay {
					t.Errorf("event %s: its handler saw its inbox row committed: %v, want %v", id, v, !inRelay)
				}
			}
			if n := w.count(`SELECT count(*) FROM evtsub.event_inbox WHERE status = 'done' AND attempts = 1`); n != 3 {
				t.Errorf("%d inbox rows done after one attempt, want 3", n)
			}
		})
	}
}

// A handler in the relay that outlasts SHOP_EVENTS_RELAY_HANDLING is not
// cut off (cancelling a statement midway would only break the transaction),
// and the relay then leaves that subscriber's events to the dispatchers for
// a while — also when the slow handler fails, and its event goes to the
// dispatchers.
func TestASlowHandlerInTheRelayLeavesItsSubscriberToTheDispatchers(t *testing.T) {
	t.Parallel()
	for _, fails := range []bool{false, true} {
		t.Run(fmt.Sprintf("fails=%v", fails), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			cfg := fastConfig(config.EventsPostgres)
			// Long enough for the round's insert on a loaded machine; the
			// slow handler takes longer.
			cfg.Events.RelayHandling = time.Second
			w := newWorld(t, cfg)
			var mu sync.Mutex
			inRelay := map[string]int{}
			s := &sink{before: func(ctx context.Context, e thingHappened, env events.Envelope) error {
				v, err := inboxRowVisible(ctx, w, env.ID)
				if err != nil || v {
					return err
				}
				mu.Lock()
				inRelay[e.Key]++
				mu.Unlock()
				if e.Key == "slow" {
					time.Sleep(1500 * time.Millisecond) // the handler's own work, longer than the relay's budget
					if fails {
						return errors.New("the slow handler fails in the relay")
					}
				}
				return nil
			}}
			r := w.replica(s).start(t)
			r.publish(t, ctx, thing("slow", 1))
			eventstest.Eventually(t, 10*time.Second, "the slow event handled", func() bool { return w.effects() == 1 })
			r.publish(t, ctx, thing("next", 1))
			eventstest.Eventually(t, 10*time.Second, "the next event handled", func() bool { return w.effects() == 2 })
			// The relay's failed run is no counted attempt.
			if n := w.count(`SELECT count(*) FROM evtsub.event_inbox WHERE status = 'done' AND attempts = 1`); n != 2 {
				t.Errorf("%d inbox rows done after one attempt, want 2", n)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(inRelay) != 1 || inRelay["slow"] != 1 {
				t.Errorf("handlers run in the relay's transaction: %v, want the slow event's alone, once", inRelay)
			}
		})
	}
}

// The relay handles a batch's keys side by side, in as many transactions at
// once as a subscriber has workers: here each handler waits, up to a limit,
// for another to be running at the same time, and every one of the eight
// keys published together must have seen one, in the relay's transactions.
func TestTheRelayHandlesABatchsKeysSideBySide(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cfg := fastConfig(config.EventsPostgres)
	cfg.Events.Workers = 2
	cfg.Events.RelayHandling = time.Minute // a loaded machine does not make the relay give up
	w := newWorld(t, cfg)
	var (
		mu       sync.Mutex
		running  int
		together = make(chan struct{})
		alone    []string
		visible  []string
	)
	s := &sink{before: func(ctx context.Context, e thingHappened, env events.Envelope) error {
		if v, err := inboxRowVisible(ctx, w, env.ID); err != nil || v {
			mu.Lock()
			visible = append(visible, e.Key)
			mu.Unlock()
			return err
		}
		mu.Lock()
		running++
		if running == 2 {
			close(together)
		}
		mu.Unlock()
		select {
		case <-together:
		case <-time.After(5 * time.Second):
			mu.Lock()
			alone = append(alone, e.Key)
			mu.Unlock()
		}
		return nil
	}}
	r := w.replica(s).start(t)
	var evs []thingHappened
	for i := range 8 {
		evs = append(evs, thing(fmt.Sprintf("key%d", i), 1))
	}
	r.publish(t, ctx, evs...)
	eventstest.Eventually(t, 30*time.Second, "events handled", func() bool { return w.effects() == 8 })
	mu.Lock()
	defer mu.Unlock()
	if len(visible) > 0 || len(alone) > 0 {
		t.Errorf("handlers run by the dispatchers (their inbox rows committed): %v; run alone: %v; want all in the relay, two at a time", visible, alone)
	}
}

// A batch that brings again an event the inbox already holds — one another
// transaction wrote pending and committed only while the batch's insert
// waited on its row, so the insert's snapshot does not see it — holds back
// the later events of its key: they are not handled before it.
func TestAnEventTheInboxHeldHoldsBackTheLaterOnesOfItsKey(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cfg := fastConfig(config.EventsPostgres)
	cfg.Events.RelayHandling = time.Minute
	w := newWorld(t, cfg)
	r := w.replica(&sink{})
	r.publish(t, ctx, thing("k", 1), thing("k", 2)) // committed before the bus starts: one batch

	// Another transaction writes the first event into the inbox, pending,
	// and keeps it uncommitted until the relay's insert waits on its row.
	tx, err := w.owner.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // after Commit this is a no-op
	if _, err := tx.Exec(ctx, `INSERT INTO evtsub.event_inbox (subscriber, event_id, publisher, source_seq, type, key, payload, metadata, occurred_at)
		SELECT $1, id, $2, seq, type, key, payload, metadata, occurred_at FROM evtpub.event_outbox ORDER BY seq LIMIT 1`, subscriber, pubModule); err != nil {
		t.Fatal(err)
	}
	r.start(t)
	eventstest.Eventually(t, 10*time.Second, "the relay's insert waits on the row", func() bool {
		return w.count(`SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE 'INSERT INTO event_inbox%'`) == 1
	})
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	eventstest.Eventually(t, 10*time.Second, "both events handled", func() bool { return w.effects() == 2 })
	w.checkKeyOrder()
}
