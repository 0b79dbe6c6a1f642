package catalog_test

import (
	"context"
	"log/slog"
	"testing"

	"github.com/shopmonolith/shop/modules/catalog"
	"github.com/shopmonolith/shop/modules/catalog/catalogtest"
	"github.com/shopmonolith/shop/platform/auth"
	"github.com/shopmonolith/shop/platform/config"
	"github.com/shopmonolith/shop/platform/database/dbtest"
)

func newModule(t *testing.T) *catalog.Module {
	t.Helper()
	cfg, err := config.Load(func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	dbs := dbtest.Databases(t, dbtest.NewURL(t))
	m, err := catalog.New(context.Background(), dbs, slog.New(slog.DiscardHandler), cfg)
	if err != nil {
		t.Fatalf("new catalog module: %v", err)
	}
	return m
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
	if mod.Descriptor().Name != "catalog" || len(mod.Descriptor().DependsOn) != 0 {
		t.Fatalf("descriptor = %+v", mod.Descriptor())
	}
	if err := mod.Check(context.Background()); err != nil {
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
	admin := auth.WithPrincipal(ctx, auth.Principal{UserID: "op", Role: auth.RoleAdmin})
	cats, err := api.Categories(admin, true)
	if err != nil || len(cats) != 4 {
		t.Fatalf("categories = %v, %v; want 4 after seeding twice", cats, err)
	}
	deals, err := api.Deals(admin, true)
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
}
