package events_test

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/shopmonolith/shop/platform/config"
	"github.com/shopmonolith/shop/platform/events/eventstest"
)

// With the nats transport a subscriber's consumer is pinned to one replica
// at a time; these tests show that another replica takes over when that
// one goes, and that a consumer of an earlier version is pinned in place.

// pinOf returns the client the subscriber's consumer is pinned to ("" when
// none).
func pinOf(t *testing.T, js jetstream.JetStream) string {
	t.Helper()
	c, err := js.Consumer(context.Background(), pubStream, durable)
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range c.CachedInfo().PriorityGroups {
		if g.Group == priorityGroup {
			return g.PinnedClientID
		}
	}
	return ""
}

// A replica that stops gives its pin up: a standby replica takes the
// subscriber's events over at once, long before the pinned TTL would have
// let it.
func TestAReplicaThatStopsHandsItsEventsToAnotherAtOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cfg := fastConfig(config.EventsNATS)
	cfg.Events.NATSPinnedTTL = time.Minute
	w := newWorldOf(t, cfg, 2)
	js := w.jetStream()
	pinned := w.replica(&sink{}).start(t)
	pinned.publish(t, ctx, thing("k", 1))
	eventstest.Eventually(t, 10*time.Second, "first event handled", func() bool { return w.effects() == 1 })
	first := pinOf(t, js)
	if first == "" {
		t.Fatal("the consumer is pinned to no client while a replica consumes it")
	}
	standby := w.replica(&sink{}).start(t)
	if err := pinned.bus.Stop(ctx); err != nil {
		t.Fatal(err)
	}

	stopped := time.Now()
	standby.publish(t, ctx, thing("k", 2), thing("k", 3))
	eventstest.Eventually(t, 10*time.Second, "later events handled by the standby", func() bool { return w.effects() == 3 })
	t.Logf("the standby handled the events published after the pinned replica stopped within %s (pinned TTL %s)",
		time.Since(stopped), cfg.Events.NATSPinnedTTL)
	if now := pinOf(t, js); now == "" || now == first {
		t.Errorf("pin after the handover = %q, want a new one (was %q)", now, first)
	}
	if n := standby.sink.calls.Load(); n != 2 {
		t.Errorf("the standby handled %d events, want 2", n)
	}
	w.checkKeyOrder()
}

// A pinned process that dies holding an event keeps the pin until it has
// not pulled for the pinned TTL, and its event until the ack wait ends;
// then one of the competing replicas takes over and writes the held event
// with the later ones, each once and in key order, within those two bounds.
func TestCompetingReplicasTakeOverFromAPinnedProcessThatDied(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cfg := fastConfig(config.EventsNATS)
	w := newWorldOf(t, cfg, 4)
	cons, _, relay := w.holdUnacked(ctx) // pinned to a client that pulls no more
	died := time.Now()
	if pinOf(t, w.jetStream()) == "" {
		t.Fatal("the client holding an event is not pinned")
	}
	for n := 2; n <= 5; n++ {
		relay.publish(t, ctx, thing("k", n), thing("j", n))
	}
	const total = 1 + 2*4
	a, b := w.replica(&sink{}).start(t), w.replica(&sink{}).start(t)

	bound := cfg.Events.NATSPinnedTTL + cfg.Events.NATSAckWait + 5*time.Second
	eventstest.Eventually(t, bound, "every event handled after the takeover", func() bool { return w.effects() == total })
	t.Logf("every event handled %s after the pinned process died (pinned TTL %s, ack wait %s)",
		time.Since(died), cfg.Events.NATSPinnedTTL, cfg.Events.NATSAckWait)
	w.checkKeyOrder()
	waitAcked(t, cons, total)
	if n := a.sink.calls.Load() + b.sink.calls.Load(); n != total {
		t.Errorf("handlers called %d times, want %d", n, total)
	}
	if n := w.count(`SELECT count(*) FROM evtsub.event_inbox`); n != total {
		t.Errorf("inbox holds %d rows, want %d", n, total)
	}
}

// A durable consumer made by an earlier version, without a priority group,
// is updated in place at start: pinned from then on, and resuming where it
// stopped — an event the earlier version took and acknowledged does not
// come again, and those published since all do. A replica of the earlier
// version that sets it up again meanwhile (a reconnection during a rolling
// deploy) does not stop delivery: the consumer is pinned again.
func TestAnEarlierVersionsConsumerIsPinnedInPlace(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newWorldOf(t, fastConfig(config.EventsNATS), 3)
	registrar := w.replica(&sink{}).start(t)
	if err := registrar.bus.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	js := w.jetStream()
	c, err := js.Consumer(ctx, pubStream, durable)
	if err != nil {
		t.Fatal(err)
	}
	earlier := c.CachedInfo().Config
	earlier.PriorityPolicy, earlier.PriorityGroups, earlier.PinnedTTL = jetstream.PriorityPolicyNone, nil, 0
	setUpByEarlierVersion := func() {
		t.Helper()
		if _, err := js.UpdateConsumer(ctx, pubStream, earlier); err != nil {
			t.Fatalf("set the consumer up as the earlier version did: %v", err)
		}
	}
	setUpByEarlierVersion()

	relay := w.replica(nil).start(t)
	relay.publish(t, ctx, thing("k", 1))
	waitRelayed(t, w)
	// The earlier version takes the first event, without a group, and
	// acknowledges it (its inbox write is left out: it is not this test's).
	batch, err := c.Fetch(1, jetstream.FetchMaxWait(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	taken, ok := <-batch.Messages()
	if !ok {
		t.Fatalf("no message for the earlier version: %v", batch.Error())
	}
	if err := taken.DoubleAck(ctx); err != nil {
		t.Fatal(err)
	}
	relay.publish(t, ctx, thing("k", 2), thing("k", 3))
	waitRelayed(t, w)

	current := w.replica(&sink{}).start(t)
	eventstest.Eventually(t, 10*time.Second, "the events published since handled", func() bool { return w.effects() == 2 })
	waitAcked(t, c, 3)
	info, err := c.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := info.Config; got.PriorityPolicy != jetstream.PriorityPolicyPinned || len(got.PriorityGroups) != 1 ||
		got.PriorityGroups[0] != priorityGroup || got.PinnedTTL != w.cfg.Events.NATSPinnedTTL {
		t.Errorf("consumer after start: policy %v, groups %v, pinned TTL %s; want pinned, [%s], %s",
			got.PriorityPolicy, got.PriorityGroups, got.PinnedTTL, priorityGroup, w.cfg.Events.NATSPinnedTTL)
	}
	if !info.Created.Equal(c.CachedInfo().Created) {
		t.Errorf("the consumer was created again at %s (first %s)", info.Created, c.CachedInfo().Created)
	}

	setUpByEarlierVersion()
	relay.publish(t, ctx, thing("k", 4))
	eventstest.Eventually(t, 10*time.Second, "an event published after the earlier version set the consumer up again", func() bool {
		return w.effects() == 3
	})
	eventstest.Eventually(t, 10*time.Second, "the consumer pinned again", func() bool {
		info, err := c.Info(ctx)
		return err == nil && info.Config.PriorityPolicy == jetstream.PriorityPolicyPinned
	})
	if n := current.sink.calls.Load(); n != 3 {
		t.Errorf("handler called %d times, want the 3 events published since", n)
	}
	if n := w.count(`SELECT count(*) FROM evtsub.event_inbox`); n != 3 {
		t.Errorf("inbox holds %d rows, want 3", n)
	}
	w.checkKeyOrder()
}
