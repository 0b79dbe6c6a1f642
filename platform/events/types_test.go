package events_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/shopmonolith/shop/platform/config"
	"github.com/shopmonolith/shop/platform/events"
	"github.com/shopmonolith/shop/platform/events/eventstest"
)

// thingUndone is a second event type of evtpub, for one subscriber that
// follows an aggregate through several types.
type thingUndone struct {
	Key string `json:"key"`
	N   int    `json:"n"`
}

func (thingUndone) EventType() string  { return "evtpub.thing_undone.v1" }
func (e thingUndone) EventKey() string { return e.Key }

// One subscriber id registered for two types gets one stream: per key, an
// event of either type waits for every earlier one of both, also when some
// attempts fail.
func TestOneSubscriberFollowsSeveralTypesInKeyOrder(t *testing.T) {
	t.Parallel()
	onEachTransport(t, func(t *testing.T, transport string) {
		ctx := context.Background()
		w := newWorld(t, fastConfig(transport))
		failed := syncSet{}
		s := &sink{before: func(_ context.Context, e thingHappened, env events.Envelope) error {
			if e.N%3 == 0 && failed.add(env.ID) {
				return errInjected
			}
			return nil
		}}
		r := w.replica(s)
		typ, h := events.On(func(_ context.Context, tx *gorm.DB, e thingUndone, env events.Envelope) error {
			return tx.Exec(`INSERT INTO effects (event_id, key, seq, n) VALUES (?, ?, ?, ?)`, env.ID, env.Key, env.Seq, -e.N).Error
		})
		if err := r.bus.Subscribe(r.sub, subscriber, typ, h); err != nil {
			t.Fatal(err)
		}
		if err := r.bus.Subscribe(r.sub, subscriber, typ, h); err == nil {
			t.Error("registering one type twice under one id = nil, want an error")
		}
		other, oh := events.On(func(context.Context, *gorm.DB, stranger, events.Envelope) error { return nil })
		if err := r.bus.Subscribe(r.sub, subscriber, other, oh, events.OneAtATime()); err == nil {
			t.Error("registering a type with other options under one id = nil, want an error")
		}
		r.start(t)

		keys := []string{"a", "b", "c"}
		const perKey = 20
		for n := range perKey {
			err := r.pub.InTx(ctx, func(tx *gorm.DB) error {
				var evs []events.Event
				for _, k := range keys {
					if n%2 == 0 {
						evs = append(evs, thing(k, n))
					} else {
						evs = append(evs, thingUndone{Key: k, N: n})
					}
				}
				return r.outbox.Publish(ctx, tx, evs...)
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		eventstest.Eventually(t, 30*time.Second, "both types handled", func() bool { return w.effects() == perKey*len(keys) })
		w.checkKeyOrder()
		if len(failed.seen) == 0 {
			t.Error("no attempt failed; the test shows nothing about order under retries")
		}
		if n := w.count(`SELECT count(*) FROM evtsub.event_inbox WHERE status <> 'done'`); n != 0 {
			t.Errorf("%d events not done", n)
		}
	})
}

// OneAtATime gives every event a transaction of its own; by default events of
// different keys share one.
func TestOneAtATimeHandlesEachEventInItsOwnTransaction(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, tc := range []struct {
		name     string
		opts     []events.SubscribeOption
		distinct func(n int) bool
	}{
		{"one at a time", []events.SubscribeOption{events.OneAtATime()}, func(n int) bool { return n == 6 }},
		{"batched", nil, func(n int) bool { return n < 6 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, fastConfig(config.EventsPostgres))
			r := w.replica(nil)
			typ, h := events.On(func(_ context.Context, tx *gorm.DB, e thingHappened, env events.Envelope) error {
				return tx.Exec(`INSERT INTO effects (event_id, key, seq, n) VALUES (?, ?, ?, txid_current())`, env.ID, env.Key, env.Seq).Error
			})
			if err := r.bus.Subscribe(r.sub, subscriber, typ, h, tc.opts...); err != nil {
				t.Fatal(err)
			}
			var evs []thingHappened
			for i := range 6 {
				evs = append(evs, thing(fmt.Sprintf("k%d", i), i))
			}
			r.publish(t, ctx, evs...) // all waiting before the dispatchers start
			r.start(t)
			eventstest.Eventually(t, 10*time.Second, "all handled", func() bool { return w.effects() == 6 })
			if n := w.count(`SELECT count(DISTINCT n) FROM evtsub.effects`); !tc.distinct(n) {
				t.Errorf("%d distinct transactions for 6 events", n)
			}
		})
	}
}
