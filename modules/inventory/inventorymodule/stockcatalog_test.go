package inventorymodule_test

import (
	"context"
	"slices"
	"testing"

	"github.com/shopmonolith/shop/modules/catalog"
	"github.com/shopmonolith/shop/modules/catalog/catalogmodule"
	"github.com/shopmonolith/shop/modules/inventory/inventorymodule"
	"github.com/shopmonolith/shop/platform/config"
	"github.com/shopmonolith/shop/platform/database/dbtest"
	"github.com/shopmonolith/shop/platform/events"
	"github.com/shopmonolith/shop/platform/metrics"
)

// StockCatalog stocks the first products the catalog lists, across its
// pages, and only those; run again, it changes nothing.
func TestStockCatalog(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cfg, err := config.Load(func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	dbs := dbtest.Databases(t, dbtest.NewURL(t), "catalog", "inventory")
	bus, err := events.NewBus(cfg, discard, metrics.New(), dbs.Owner(), nil)
	if err != nil {
		t.Fatal(err)
	}
	cat, err := catalogmodule.New(ctx, dbs, discard, cfg, bus)
	if err != nil {
		t.Fatal(err)
	}
	inv, err := inventorymodule.New(ctx, dbs, discard, cfg, bus)
	if err != nil {
		t.Fatal(err)
	}
	const products, first = 150, 120 // more than one page of 100
	if err := cat.Seed(ctx, products, nil); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for q := (catalog.ProductQuery{Limit: 100}); ; {
		page, err := cat.API().ListProducts(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range page.Items {
			ids = append(ids, p.ID)
		}
		if q.After = page.NextCursor; q.After == "" {
			break
		}
	}
	for range 2 {
		if n, err := inv.StockCatalog(ctx, cat.API(), first, 9); err != nil || n != first {
			t.Fatalf("StockCatalog = %d, %v; want %d listed", n, err, first)
		}
	}
	onHand := map[string]int{}
	for chunk := range slices.Chunk(ids, 100) {
		levels, err := inv.API().Availability(admin(), chunk)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range levels {
			onHand[l.ProductID] = l.OnHand
		}
	}
	for i, id := range ids {
		if want := map[bool]int{true: 9, false: 0}[i < first]; onHand[id] != want {
			t.Errorf("product %d of the catalog: %d on hand, want %d", i+1, onHand[id], want)
		}
	}
}
