package cartmodule_test

import (
	"context"
	"errors"
	"maps"
	"sync"
	"testing"
	"time"

	"github.com/shopmonolith/shop/modules/cart"
	"github.com/shopmonolith/shop/modules/cart/cartmodule"
	"github.com/shopmonolith/shop/modules/cart/internal/domain"
	"github.com/shopmonolith/shop/modules/catalog"
	"github.com/shopmonolith/shop/platform/errs"
)

// fakePrices and fakeStock are the cart's consumer-side interfaces, one
// function each.
type fakePrices struct {
	products func(ctx context.Context, ids []string) (map[string]domain.ProductInfo, error)
}

var _ domain.Prices = fakePrices{}

func (f fakePrices) Products(ctx context.Context, ids []string) (map[string]domain.ProductInfo, error) {
	return f.products(ctx, ids)
}

// failingPrices is a catalog that cannot be reached.
var failingPrices = fakePrices{products: func(context.Context, []string) (map[string]domain.ProductInfo, error) {
	return nil, errDown
}}

type fakeStock struct {
	available func(ctx context.Context, ids []string) (map[string]int, error)
}

var _ domain.Stock = fakeStock{}

func (f fakeStock) Available(ctx context.Context, ids []string) (map[string]int, error) {
	return f.available(ctx, ids)
}

// stockTable is a fake inventory the test fills by hand.
type stockTable struct {
	mu     sync.Mutex
	levels map[string]int
}

func (s *stockTable) set(id string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.levels[id] = n
}

func (s *stockTable) stock() fakeStock {
	return fakeStock{available: func(context.Context, []string) (map[string]int, error) {
		s.mu.Lock()
		defer s.mu.Unlock()
		return maps.Clone(s.levels), nil
	}}
}

var errDown = errors.New("catalog: connection refused")

// deadlineProbe is a neighbour that blocks until its context ends, and
// records how long the context gave it.
type deadlineProbe struct {
	mu    sync.Mutex
	given []time.Duration // per call; -1 for a context without deadline
}

func (p *deadlineProbe) wait(ctx context.Context) error {
	given := time.Duration(-1)
	if d, ok := ctx.Deadline(); ok {
		given = time.Until(d)
	}
	p.mu.Lock()
	p.given = append(p.given, given)
	p.mu.Unlock()
	<-ctx.Done()
	return ctx.Err()
}

func (p *deadlineProbe) prices() fakePrices {
	return fakePrices{products: func(ctx context.Context, _ []string) (map[string]domain.ProductInfo, error) {
		return nil, p.wait(ctx)
	}}
}

func (p *deadlineProbe) stock() fakeStock {
	return fakeStock{available: func(ctx context.Context, _ []string) (map[string]int, error) {
		return nil, p.wait(ctx)
	}}
}

// TestGracefulDegradation puts products in a cart with the real catalog,
// then reads the cart through a failing catalog and through a slow one
// (blocking until its context ends). The cart answers both times, with the
// last known prices marked stale, and gives the slow catalog no more than
// its own deadline even when the caller's context allows a minute.
func TestGracefulDegradation(t *testing.T) {
	t.Parallel()
	s := newShop(t)
	ctx, user := customer()
	table := &stockTable{levels: map[string]int{}}
	// with returns the cart (on the same database) with other neighbours.
	with := func(prices domain.Prices, stock domain.Stock, timeout time.Duration) cart.API {
		t.Helper()
		cfg := s.cfg
		cfg.Cart.CatalogTimeout = timeout
		m, err := cartmodule.NewWithNeighbours(context.Background(), s.dbs, discard, cfg, prices, stock)
		if err != nil {
			t.Fatal(err)
		}
		return m.API()
	}
	working := with(cartmodule.PricesOf(s.cat), table.stock(), 10*time.Second)

	mug, tea := s.product(t, 1000, "EUR"), s.product(t, 250, "EUR")
	table.set(mug, 4)
	if _, err := working.AddItem(ctx, mug, 2); err != nil {
		t.Fatal(err)
	}
	if _, err := working.AddItem(ctx, tea, 1); err != nil {
		t.Fatal(err)
	}
	// A read after a price change and a restock remembers the new values:
	// they, not the values of when the lines were added, are the last known.
	newPrice := int64(900)
	if _, err := s.cat.UpdateProduct(admin(), mug, catalog.ProductUpdate{PriceMinor: &newPrice}); err != nil {
		t.Fatal(err)
	}
	table.set(mug, 3)
	fresh, err := working.Cart(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if fresh.Stale || fresh.Items[0].UnitPrice.Amount != 900 || fresh.Items[0].Available != 3 || fresh.Total.Amount != 2050 {
		t.Fatalf("fresh cart %+v, want mug at 900 with 3 available, total 2050, not stale", fresh)
	}

	probe := &deadlineProbe{}
	const deadline = 50 * time.Millisecond
	for _, tc := range []struct {
		name string
		api  cart.API
	}{
		{"failing catalog", with(failingPrices, table.stock(), 10*time.Second)},
		{"slow catalog and inventory", with(probe.prices(), probe.stock(), deadline)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// The caller would wait a minute; the cart must not.
			callerCtx, cancel := context.WithTimeout(ctx, time.Minute)
			defer cancel()
			got, err := tc.api.Cart(callerCtx)
			if err != nil {
				t.Fatalf("Cart: %v, want the last known cart", err)
			}
			if !got.Stale || got.UserID != user || len(got.Items) != 2 {
				t.Fatalf("cart %+v, want both lines, stale", got)
			}
			want := []cart.Item{
				{ProductID: mug, Quantity: 2, UnitPrice: cart.Money{Amount: 900, Currency: "EUR"},
					LineTotal: cart.Money{Amount: 1800, Currency: "EUR"}, Available: 3, InStock: true, Stale: true},
				{ProductID: tea, Quantity: 1, UnitPrice: cart.Money{Amount: 250, Currency: "EUR"},
					LineTotal: cart.Money{Amount: 250, Currency: "EUR"}, Available: 0, InStock: false, Stale: true},
			}
			for i, it := range got.Items {
				want[i].SKU, want[i].Name = fresh.Items[i].SKU, fresh.Items[i].Name
				if it != want[i] || it.Name != "Cart test product" {
					t.Errorf("line %d = %+v, want %+v", i, it, want[i])
				}
			}
			if got.Total != (cart.Money{Amount: 2050, Currency: "EUR"}) {
				t.Errorf("total %+v, want the last known 2050 EUR", got.Total)
			}
		})
	}
	probe.mu.Lock()
	defer probe.mu.Unlock()
	if len(probe.given) != 2 { // one catalog call for both lines and one stock call
		t.Fatalf("the slow neighbours were called %d times, want 2", len(probe.given))
	}
	for _, g := range probe.given {
		if g < 0 || g > deadline {
			t.Errorf("a slow neighbour was given %v, want at most the cart's deadline %v", g, deadline)
		}
	}

	// Adding needs a price: with the catalog down nothing is added.
	down := with(failingPrices, table.stock(), 10*time.Second)
	if _, err := down.AddItem(ctx, tea, 1); !errs.Is(err, errs.KindUnavailable) {
		t.Fatalf("AddItem with the catalog down: %v, want unavailable", err)
	}
	if got, err := working.Cart(ctx); err != nil || got.Items[1].Quantity != 1 || got.Stale {
		t.Fatalf("after the refused add: %+v, %v; want tea still 1, fresh again", got, err)
	}
}

// TestInventoryDown: prices stay fresh, availability is the last known.
func TestInventoryDown(t *testing.T) {
	t.Parallel()
	s := newShop(t)
	ctx, _ := customer()
	mug := s.product(t, 1000, "EUR")
	s.stock(t, mug, 5)
	if _, err := s.cart.API().AddItem(ctx, mug, 1); err != nil {
		t.Fatal(err)
	}
	if _, err := s.cart.API().Cart(ctx); err != nil { // remembers 5 available
		t.Fatal(err)
	}
	price := int64(1100)
	if _, err := s.cat.UpdateProduct(admin(), mug, catalog.ProductUpdate{PriceMinor: &price}); err != nil {
		t.Fatal(err)
	}
	cfg := s.cfg
	m, err := cartmodule.NewWithNeighbours(context.Background(), s.dbs, discard, cfg, cartmodule.PricesOf(s.cat),
		fakeStock{available: func(context.Context, []string) (map[string]int, error) { return nil, errDown }})
	if err != nil {
		t.Fatal(err)
	}
	got, err := m.API().Cart(ctx)
	if err != nil {
		t.Fatal(err)
	}
	it := got.Items[0]
	if !got.Stale || !it.Stale || it.UnitPrice.Amount != 1100 || it.Available != 5 || !it.InStock {
		t.Fatalf("line %+v (cart stale %v), want the new price, 5 available as last known, stale", it, got.Stale)
	}
}
