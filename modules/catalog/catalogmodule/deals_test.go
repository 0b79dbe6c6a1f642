package catalogmodule_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/shopmonolith/shop/modules/catalog"
	"github.com/shopmonolith/shop/modules/catalog/catalogmodule"
	"github.com/shopmonolith/shop/platform/events/eventstest"
)

// racingPasses runs announcer passes of every module at once, several each,
// as replicas would.
func racingPasses(mods ...*catalogmodule.Module) {
	var wg sync.WaitGroup
	for _, m := range mods {
		for range 4 {
			wg.Go(func() { m.AnnounceDue(context.Background()) })
		}
	}
	wg.Wait()
}

func countByKey(t *testing.T, m *catalogmodule.Module, eventType string) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, r := range outbox(t, m, eventType) {
		out[r.Key]++
	}
	return out
}

func TestDealAnnouncedOnceAcrossReplicas(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	clock := &fakeClock{now: t0}
	var mods []*catalogmodule.Module
	for range 2 {
		m, err := catalogmodule.NewWithClock(context.Background(), e.dbs, discard, e.bus, clock.Now)
		if err != nil {
			t.Fatal(err)
		}
		mods = append(mods, m)
	}
	api := mods[0].API()
	p, err := api.CreateProduct(admin(), catalog.NewProduct{SKU: "P", Name: "P", Currency: "EUR", PriceMinor: 1000})
	if err != nil {
		t.Fatal(err)
	}
	deal := func(name string, start, end time.Duration) catalog.Deal {
		d, err := api.CreateDeal(admin(), catalog.NewDeal{Name: name, Kind: catalog.DealPercent, Value: 10,
			ProductID: p.ID, StartsAt: t0.Add(start), EndsAt: t0.Add(end)})
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	timed := deal("timed", time.Hour, 2*time.Hour)
	cancelled := deal("cancelled early", 30*time.Minute, 3*time.Hour)
	stopped := deal("stopped while running", time.Hour, 3*time.Hour)
	if err := api.DeactivateDeal(admin(), cancelled.ID); err != nil {
		t.Fatal(err)
	}
	started := catalog.DealStarted{}.EventType()
	ended := catalog.DealEnded{}.EventType()

	racingPasses(mods...)
	if n := len(outbox(t, mods[0], started)); n != 0 {
		t.Fatalf("%d deals announced before their start", n)
	}

	clock.Set(t0.Add(time.Hour + time.Minute))
	racingPasses(mods...)
	if got := countByKey(t, mods[0], started); len(got) != 2 || got[timed.ID] != 1 || got[stopped.ID] != 1 {
		t.Fatalf("starts = %v, want timed and stopped once each", got)
	}
	// The two starts are announced by racing passes, in either order.
	var s catalog.DealStarted
	for _, r := range outbox(t, mods[0], started) {
		if r.Key == timed.ID {
			if err := json.Unmarshal(r.Payload, &s); err != nil {
				t.Fatal(err)
			}
		}
	}
	if s.DealID != timed.ID || s.Name != "timed" || s.Kind != catalog.DealPercent || s.Value != 10 ||
		s.ProductID != p.ID || !s.StartsAt.Equal(timed.StartsAt) || !s.EndsAt.Equal(timed.EndsAt) {
		t.Fatalf("deal_started = %+v", s)
	}

	stopAt := t0.Add(90 * time.Minute)
	clock.Set(stopAt)
	if err := api.DeactivateDeal(admin(), stopped.ID); err != nil {
		t.Fatal(err)
	}
	racingPasses(mods...)
	clock.Set(t0.Add(2*time.Hour + time.Minute))
	racingPasses(mods...)
	racingPasses(mods...)
	if got := countByKey(t, mods[0], ended); len(got) != 2 || got[timed.ID] != 1 || got[stopped.ID] != 1 {
		t.Fatalf("ends = %v, want timed and stopped once each", got)
	}
	endedAt := map[string]time.Time{}
	for _, r := range outbox(t, mods[0], ended) {
		var d catalog.DealEnded
		if err := json.Unmarshal(r.Payload, &d); err != nil {
			t.Fatal(err)
		}
		endedAt[d.DealID] = d.EndedAt
	}
	if !endedAt[timed.ID].Equal(timed.EndsAt) || !endedAt[stopped.ID].Equal(stopAt) {
		t.Fatalf("ended at %v; want timed at %v and stopped at %v", endedAt, timed.EndsAt, stopAt)
	}
	if got := countByKey(t, mods[0], started); got[cancelled.ID] != 0 {
		t.Fatal("a deal deactivated before its start was announced")
	}
}

// The worker sleeps until a deal is due and is woken by a new deal, on the
// real clock.
func TestDealWorkerFollowsTheClock(t *testing.T) {
	t.Parallel()
	mod := newModule(t)
	if err := mod.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = mod.Stop(context.Background()) })
	api := mod.API()
	cat, err := api.CreateCategory(admin(), catalog.NewCategory{Slug: "tea", Name: "Tea"})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now().Add(300 * time.Millisecond)
	d, err := api.CreateDeal(admin(), catalog.NewDeal{Name: "Flash", Kind: catalog.DealFixed, Value: 100, Currency: "EUR",
		CategoryID: cat.ID, StartsAt: start, EndsAt: start.Add(500 * time.Millisecond)})
	if err != nil {
		t.Fatal(err)
	}
	has := func(eventType string) func() bool {
		return func() bool { return countByKey(t, mod, eventType)[d.ID] == 1 }
	}
	eventstest.Eventually(t, 10*time.Second, "deal event published", has(catalog.DealStarted{}.EventType()))
	if time.Now().Before(start) {
		t.Fatal("deal announced before its start")
	}
	eventstest.Eventually(t, 10*time.Second, "deal event published", has(catalog.DealEnded{}.EventType()))
	if time.Now().Before(d.EndsAt) {
		t.Fatal("deal end announced early")
	}
}
