package cartmodule_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/shopmonolith/shop/modules/cart/cartmodule"
	"github.com/shopmonolith/shop/modules/cart/carttest"
	"github.com/shopmonolith/shop/modules/catalog"
	"github.com/shopmonolith/shop/modules/catalog/catalogmodule"
	"github.com/shopmonolith/shop/modules/inventory"
	"github.com/shopmonolith/shop/modules/inventory/inventorymodule"
	"github.com/shopmonolith/shop/platform/auth"
	"github.com/shopmonolith/shop/platform/config"
	"github.com/shopmonolith/shop/platform/database/dbtest"
	"github.com/shopmonolith/shop/platform/events"
	"github.com/shopmonolith/shop/platform/kernel"
	"github.com/shopmonolith/shop/platform/metrics"
)

var discard = slog.New(slog.DiscardHandler)

// shop is the real cart, catalog and inventory modules on one fresh
// database. The event bus is not started: the cart neither publishes nor
// consumes events.
type shop struct {
	cfg  config.Config
	dbs  *kernel.Databases
	cat  catalog.API
	inv  inventory.API
	cart *cartmodule.Module
}

func testConfig(t *testing.T) config.Config {
	t.Helper()
	cfg, err := config.Load(func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	// Generous: these tests are about behaviour, not speed, and run on a
	// busy machine under the race detector. Tests of the deadline set
	// their own.
	cfg.Cart.CatalogTimeout = 10 * time.Second
	return cfg
}

func newShop(t *testing.T) *shop {
	t.Helper()
	cfg, ctx := testConfig(t), context.Background()
	dbs := dbtest.Databases(t, dbtest.NewURL(t), "catalog", "inventory", "cart")
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
	m, err := cartmodule.New(ctx, dbs, discard, cfg, bus, cat.API(), inv.API())
	if err != nil {
		t.Fatal(err)
	}
	return &shop{cfg: cfg, dbs: dbs, cat: cat.API(), inv: inv.API(), cart: m}
}

func admin() context.Context {
	return auth.WithPrincipal(context.Background(), auth.Principal{UserID: uuid.NewString(), Role: auth.RoleAdmin})
}

func customer() (context.Context, string) {
	id := uuid.NewString()
	return auth.WithPrincipal(context.Background(), auth.Principal{UserID: id, Role: auth.RoleCustomer}), id
}

func random() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// fixtures drives the real catalog and inventory for the contract suite.
func (s *shop) fixtures() carttest.Shop {
	return carttest.Shop{
		NewProduct: func(t *testing.T, priceMinor int64, currency string) string {
			t.Helper()
			return s.product(t, priceMinor, currency)
		},
		SetPrice: func(t *testing.T, id string, priceMinor int64) {
			t.Helper()
			if _, err := s.cat.UpdateProduct(admin(), id, catalog.ProductUpdate{PriceMinor: &priceMinor}); err != nil {
				t.Fatal(err)
			}
		},
		HideProduct: func(t *testing.T, id string) {
			t.Helper()
			if err := s.cat.DeactivateProduct(admin(), id); err != nil {
				t.Fatal(err)
			}
		},
		SetStock: func(t *testing.T, id string, available int) {
			t.Helper()
			s.stock(t, id, available)
		},
	}
}

func (s *shop) product(t *testing.T, priceMinor int64, currency string) string {
	t.Helper()
	p, err := s.cat.CreateProduct(admin(), catalog.NewProduct{
		SKU: "CART-" + random(), Name: "Cart test product", Currency: currency, PriceMinor: priceMinor,
	})
	if err != nil {
		t.Fatal(err)
	}
	return p.ID
}

func (s *shop) stock(t *testing.T, id string, onHand int) {
	t.Helper()
	if _, err := s.inv.SetStock(admin(), id, onHand); err != nil {
		t.Fatal(err)
	}
}

func TestContract(t *testing.T) {
	t.Parallel()
	s := newShop(t)
	carttest.Contract(t, s.cart.API(), s.fixtures())
	// The suite must hold on a database it has already written to.
	t.Run("again", func(t *testing.T) { carttest.Contract(t, s.cart.API(), s.fixtures()) })
}

func TestModule(t *testing.T) {
	t.Parallel()
	d := cartmodule.Descriptor()
	if d.Name != "cart" || d.Summary != "one shopping cart per customer, priced by the catalog" ||
		len(d.DependsOn) != 2 || d.DependsOn[0] != "catalog" || d.DependsOn[1] != "inventory" {
		t.Fatalf("descriptor = %+v", d)
	}
	// Each call returns a fresh value: a caller cannot change the module's.
	d.DependsOn[0] = "changed"
	if got := cartmodule.Descriptor().DependsOn[0]; got != "catalog" {
		t.Fatalf("Descriptor().DependsOn[0] = %q after a caller changed its copy", got)
	}
	s := newShop(t)
	ctx := context.Background()
	if s.cart.Descriptor().Name != "cart" {
		t.Errorf("module descriptor = %+v", s.cart.Descriptor())
	}
	if err := s.cart.Check(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.cart.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.cart.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := cartmodule.New(ctx, s.dbs, discard, s.cfg, nil, nil, s.inv); err == nil {
		t.Error("New without a catalog succeeded")
	}
	bad := s.cfg
	bad.Cart.CatalogTimeout = 0
	if _, err := cartmodule.New(ctx, s.dbs, discard, bad, nil, s.cat, s.inv); err == nil {
		t.Error("New with no catalog deadline succeeded")
	}
}

// TestAdminCartIsPricedAsACustomers: the catalog shows admins hidden
// products, but the cart asks as itself, so an admin cannot put a hidden
// product in their cart either.
func TestAdminCartIsPricedAsACustomers(t *testing.T) {
	t.Parallel()
	s := newShop(t)
	ctx := admin()
	p := s.product(t, 500, "EUR")
	if _, err := s.cart.API().AddItem(ctx, p, 1); err != nil {
		t.Fatal(err)
	}
	if err := s.cat.DeactivateProduct(admin(), p); err != nil {
		t.Fatal(err)
	}
	if _, err := s.cat.Product(ctx, p); err != nil {
		t.Fatalf("the catalog hides the product from the admin too (%v): this test proves nothing", err)
	}
	c, err := s.cart.API().Cart(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Items) != 1 || !c.Items[0].Unavailable || c.Total.Amount != 0 {
		t.Fatalf("admin's cart %+v, want the hidden product unavailable", c)
	}
}
