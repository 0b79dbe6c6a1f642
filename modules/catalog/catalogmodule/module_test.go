package catalogmodule_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/shopmonolith/shop/modules/catalog"
	"github.com/shopmonolith/shop/modules/catalog/catalogmodule"
	"github.com/shopmonolith/shop/modules/catalog/catalogtest"
	"github.com/shopmonolith/shop/platform/auth"
	"github.com/shopmonolith/shop/platform/config"
	"github.com/shopmonolith/shop/platform/database/dbtest"
	"github.com/shopmonolith/shop/platform/events"
	"github.com/shopmonolith/shop/platform/kernel"
	"github.com/shopmonolith/shop/platform/metrics"
)

var discard = slog.New(slog.DiscardHandler)

// env is one fresh database with an event bus that is not started.
type env struct {
	dbs *kernel.Databases
	bus *events.Bus
}

func newEnv(t *testing.T) env {
	t.Helper()
	cfg, err := config.Load(func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	cfg.Events.PollInterval, cfg.Events.BackoffBase = 50*time.Millisecond, 10*time.Millisecond
	dbs := dbtest.Databases(t, dbtest.NewURL(t), "catalog")
	bus, err := events.NewBus(cfg, discard, metrics.New(), dbs.Owner(), nil)
	if err != nil {
		t.Fatal(err)
	}
	return env{dbs: dbs, bus: bus}
}

func (e env) module(t *testing.T) *catalogmodule.Module {
	t.Helper()
	m, err := catalogmodule.New(context.Background(), e.dbs, discard, config.Config{}, e.bus)
	if err != nil {
		t.Fatalf("new catalog module: %v", err)
	}
	return m
}

func newModule(t *testing.T) *catalogmodule.Module { return newEnv(t).module(t) }

func admin() context.Context {
	return auth.WithPrincipal(context.Background(), auth.Principal{UserID: "op", Role: auth.RoleAdmin})
}

// outboxRow is an event as the catalog recorded it.
type outboxRow struct {
	Type    string
	Key     string
	Payload []byte
}

func outbox(t *testing.T, m *catalogmodule.Module, eventType string) []outboxRow {
	t.Helper()
	var rows []outboxRow
	err := m.DB().Gorm.Raw(`SELECT type, key, payload FROM event_outbox WHERE type = ? ORDER BY seq`, eventType).Scan(&rows).Error
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// decode returns the payload of the only event of E's type in the outbox.
func decode[E events.Event](t *testing.T, m *catalogmodule.Module) E {
	t.Helper()
	var e E
	rows := outbox(t, m, e.EventType())
	if len(rows) != 1 {
		t.Fatalf("%d %s events, want 1", len(rows), e.EventType())
	}
	if err := json.Unmarshal(rows[0].Payload, &e); err != nil {
		t.Fatal(err)
	}
	if rows[0].Key != e.EventKey() {
		t.Fatalf("key %q, want %q", rows[0].Key, e.EventKey())
	}
	return e
}

func TestContract(t *testing.T) {
	t.Parallel()
	mod := newModule(t)
	catalogtest.Contract(t, mod.API())
	// The suite must hold on a database it has already written to.
	t.Run("again", func(t *testing.T) { catalogtest.Contract(t, mod.API()) })
}

func TestModule(t *testing.T) {
	t.Parallel()
	mod := newModule(t)
	if d := catalogmodule.Descriptor(); d.Name != "catalog" || len(d.DependsOn) != 0 || mod.Descriptor().Name != d.Name {
		t.Fatalf("descriptor = %+v", d)
	}
	if err := mod.Check(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := mod.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := mod.Start(context.Background()); err == nil {
		t.Fatal("second Start must fail")
	}
	if err := mod.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestSeed(t *testing.T) {
	t.Parallel()
	mod := newModule(t)
	ctx := context.Background()
	var calls []int
	if err := mod.Seed(ctx, 2500, func(done int) { calls = append(calls, done) }); err != nil {
		t.Fatal(err)
	}
	if len(calls) != 3 || calls[2] != 2500 {
		t.Fatalf("progress calls = %v, want 3 ending at 2500", calls)
	}
	if err := mod.Seed(ctx, 2500, nil); err != nil {
		t.Fatalf("seeding again: %v", err)
	}
	api := mod.API()
	cats, err := api.Categories(admin(), true)
	if err != nil || len(cats) != 4 {
		t.Fatalf("categories = %v, %v; want 4 after seeding twice", cats, err)
	}
	deals, err := api.Deals(admin(), true)
	if err != nil || len(deals) != 2 {
		t.Fatalf("deals = %v, %v; want 2 after seeding twice", deals, err)
	}
	first, err := api.ProductBySKU(ctx, "DEMO-000001")
	if err != nil || first.Deal == nil || first.EffectivePrice.Amount >= first.Price.Amount {
		t.Fatalf("first demo product = %+v, %v; want it discounted", first, err)
	}
	if _, err := api.ProductBySKU(ctx, "DEMO-002500"); err != nil {
		t.Fatal(err)
	}
	if _, err := api.ProductBySKU(ctx, "DEMO-002501"); err == nil {
		t.Fatal("seeded too many products")
	}
	if n := len(outbox(t, mod, catalog.ProductCreated{}.EventType())); n != 2500 {
		t.Fatalf("%d product_created events after seeding twice, want 2500", n)
	}
}

func TestProductEvents(t *testing.T) {
	t.Parallel()
	mod := newModule(t)
	api := mod.API()
	cat, err := api.CreateCategory(admin(), catalog.NewCategory{Slug: "mugs", Name: "Mugs"})
	if err != nil {
		t.Fatal(err)
	}
	p, err := api.CreateProduct(admin(), catalog.NewProduct{SKU: "mug-1", Name: "Mug", Currency: "EUR", PriceMinor: 1200, CategoryID: cat.ID})
	if err != nil {
		t.Fatal(err)
	}
	// A rolled-back change publishes nothing.
	if _, err := api.CreateProduct(admin(), catalog.NewProduct{SKU: "MUG-1", Name: "Again", Currency: "EUR"}); err == nil {
		t.Fatal("duplicate SKU accepted")
	}
	created := decode[catalog.ProductCreated](t, mod)
	want := catalog.ProductCreated{ProductID: p.ID, SKU: "MUG-1", Name: "Mug", CategoryID: cat.ID,
		PriceMinor: 1200, Currency: "EUR", Active: true, At: p.CreatedAt}
	if !created.At.Equal(want.At) || created.ProductID != want.ProductID || created.SKU != want.SKU ||
		created.Name != want.Name || created.CategoryID != want.CategoryID || created.PriceMinor != want.PriceMinor ||
		created.Currency != want.Currency || !created.Active {
		t.Fatalf("product_created = %+v, want %+v", created, want)
	}

	name := "Big Mug"
	if _, err := api.UpdateProduct(admin(), p.ID, catalog.ProductUpdate{Name: &name}); err != nil {
		t.Fatal(err)
	}
	updated := decode[catalog.ProductUpdated](t, mod)
	if updated.Name != "Big Mug" || updated.SKU != "MUG-1" || updated.CategoryID != cat.ID || !updated.Active {
		t.Fatalf("product_updated = %+v", updated)
	}
	if n := len(outbox(t, mod, catalog.ProductPriceChanged{}.EventType())); n != 0 {
		t.Fatalf("a name change published %d price changes", n)
	}
	// Changing nothing reports nothing.
	if _, err := api.UpdateProduct(admin(), p.ID, catalog.ProductUpdate{Name: &name}); err != nil {
		t.Fatal(err)
	}
	if n := len(outbox(t, mod, catalog.ProductUpdated{}.EventType())); n != 1 {
		t.Fatalf("%d product_updated events after a no-op update, want 1", n)
	}

	price, currency := int64(1500), "USD"
	after, err := api.UpdateProduct(admin(), p.ID, catalog.ProductUpdate{PriceMinor: &price, Currency: &currency})
	if err != nil {
		t.Fatal(err)
	}
	changed := decode[catalog.ProductPriceChanged](t, mod)
	if changed.ProductID != p.ID || changed.OldPriceMinor != 1200 || changed.NewPriceMinor != 1500 ||
		changed.Currency != "USD" || !changed.At.Equal(after.UpdatedAt) {
		t.Fatalf("product_price_changed = %+v", changed)
	}
	if err := api.DeactivateProduct(admin(), p.ID); err != nil {
		t.Fatal(err)
	}
	rows := outbox(t, mod, catalog.ProductUpdated{}.EventType())
	var last catalog.ProductUpdated
	if err := json.Unmarshal(rows[len(rows)-1].Payload, &last); len(rows) != 3 || err != nil || last.Active {
		t.Fatalf("after deactivation: %d product_updated, last %+v (%v)", len(rows), last, err)
	}
}

func TestEventsReachSubscribers(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	mod := e.module(t)
	got := make(chan catalog.ProductCreated, 1)
	typ, h := events.On(func(_ context.Context, _ *gorm.DB, ev catalog.ProductCreated, _ events.Envelope) error {
		got <- ev
		return nil
	})
	if err := e.bus.Subscribe(mod.DB(), "catalog.test_probe", typ, h); err != nil {
		t.Fatal(err)
	}
	if err := e.bus.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.bus.Stop(context.Background()) })
	p, err := mod.API().CreateProduct(admin(), catalog.NewProduct{SKU: "tea-1", Name: "Tea", Currency: "EUR", PriceMinor: 500})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case ev := <-got:
		if ev.ProductID != p.ID || ev.SKU != "TEA-1" || ev.PriceMinor != 500 {
			t.Fatalf("delivered %+v", ev)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("product_created not delivered")
	}
}

// fakeClock is a clock the test moves; modules and workers read it
// concurrently.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}
