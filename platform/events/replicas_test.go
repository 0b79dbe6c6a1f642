package events_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/shopmonolith/shop/platform/events/eventstest"
)

// Three replicas, each with its own connections and bus on the same
// database, compete for one subscriber's events: each event is handled once,
// and the events of a key in the order they were published.
func TestCompetingReplicasHandleEachEventOnceInKeyOrder(t *testing.T) {
	t.Parallel()
	onEachTransport(t, func(t *testing.T, transport string) {
		ctx := context.Background()
		w := newWorldOf(t, fastConfig(transport), 3)
		replicas := make([]*replica, 3)
		for i := range replicas {
			replicas[i] = w.replica(&sink{}).start(t)
		}

		const keys, perTx = 100, 200
		const total = 10_000
		began := time.Now()
		for first := 0; first < total; first += perTx {
			evs := make([]thingHappened, 0, perTx)
			for n := first; n < first+perTx; n++ {
				evs = append(evs, thing(fmt.Sprintf("key%03d", n%keys), n))
			}
			// Replicas take turns publishing, as requests would land on any.
			replicas[first/perTx%len(replicas)].publish(t, ctx, evs...)
		}
		published := time.Since(began)
		t.Logf("published in %s; handled so far %d", published, w.effects())
		// A race build on a busy machine takes minutes for these; what
		// fails the test is handling that stops moving, not its pace.
		// Progress every 5s shows where a slow run spends its time.
		awaitSteadily(t, began, total, 30*time.Second, w.effects)
		t.Logf("%d events over %d keys: published in %s, all handled after %s", total, keys, published, time.Since(began))

		w.checkKeyOrder()
		var calls, failures int64
		for _, r := range replicas {
			calls += r.sink.calls.Load()
			failures += r.sink.failures.Load()
		}
		if calls != int64(total) || failures != 0 {
			t.Errorf("handler called %d times with %d failures, want %d and 0", calls, failures, total)
		}
		// A batch is counted once its commit has returned, which can be
		// just after the test saw its effects.
		delivered := func() float64 {
			n := 0.0
			for _, r := range replicas {
				n += metric(t, r.reg, "shop_events_delivered_total", map[string]string{"subscriber": subscriber})
			}
			return n
		}
		eventstest.Eventually(t, 10*time.Second, "every event counted delivered once", func() bool { return delivered() >= total })
		if n := delivered(); n != float64(total) {
			t.Errorf("delivered = %v across replicas, want %d", n, total)
		}
		if n := w.count(`SELECT count(*) FROM evtsub.event_inbox WHERE status = 'done' AND attempts = 1`); n != total {
			t.Errorf("%d inbox rows done at the first attempt, want %d", n, total)
		}
		for i, r := range replicas {
			if r.sink.calls.Load() == 0 {
				t.Logf("replica %d handled nothing", i)
			}
		}
	})
}

// awaitSteadily waits until count reaches total, failing when it stays put
// for stall.
func awaitSteadily(t *testing.T, began time.Time, total int, stall time.Duration, count func() int) {
	t.Helper()
	poll := time.NewTicker(20 * time.Millisecond)
	defer poll.Stop()
	last, moved, logged := -1, time.Now(), time.Now()
	for n := count(); n != total; n = count() {
		now := time.Now()
		if n != last {
			last, moved = n, now
		}
		if now.Sub(moved) > stall {
			t.Fatalf("%d of %d handled, none more for %s", n, total, stall)
		}
		if now.Sub(logged) > 5*time.Second {
			logged = now
			t.Logf("%s: %d handled", now.Sub(began), n)
		}
		<-poll.C
	}
}
