// Package cartmodule is the cart module as the kernel runs it: its
// descriptor, its wire set and the adapter from the public contract
// (package cart) to the domain. Only the composition root (cmd/) imports it.
package cartmodule

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/wire"

	"github.com/shopmonolith/shop/modules/cart"
	"github.com/shopmonolith/shop/modules/cart/internal/domain"
	"github.com/shopmonolith/shop/modules/cart/internal/rest"
	"github.com/shopmonolith/shop/modules/cart/internal/store"
	"github.com/shopmonolith/shop/modules/catalog"
	"github.com/shopmonolith/shop/modules/inventory"
	"github.com/shopmonolith/shop/platform/config"
	"github.com/shopmonolith/shop/platform/database"
	"github.com/shopmonolith/shop/platform/events"
	"github.com/shopmonolith/shop/platform/httpapi"
	"github.com/shopmonolith/shop/platform/kernel"
	"github.com/shopmonolith/shop/platform/logging"
)

// Descriptor describes the module to the kernel. It is a function, not a
// variable, so that nobody can change what the module says about itself.
func Descriptor() kernel.Descriptor {
	return kernel.Descriptor{
		Name:      "cart",
		Summary:   "one shopping cart per customer, priced by the catalog",
		DependsOn: []string{"catalog", "inventory"},
		Routes:    func(r *httpapi.Router) { rest.Register(r, nil) }, // declared only: the handlers of a nil API never run
	}
}

// ProviderSet builds the module for wire injectors.
var ProviderSet = wire.NewSet(New)

// Module is the cart as the kernel runs it.
type Module struct {
	db  *database.DB
	svc *domain.Service
}

var _ kernel.Module = (*Module)(nil)

// New opens the module's own database access (closed by dbs.Close) and
// builds the service on the catalog's prices and the inventory's stock,
// waited for at most cfg.Cart.CatalogTimeout per read. The cart publishes
// and consumes no events, so it leaves bus alone.
func New(ctx context.Context, dbs *kernel.Databases, log *slog.Logger, cfg config.Config, _ *events.Bus,
	cat catalog.API, inv inventory.API) (*Module, error) {
	if cat == nil || inv == nil {
		return nil, errors.New("cart: the catalog and inventory APIs are required")
	}
	return newModule(ctx, dbs, log, cfg, catalogPrices{api: cat}, inventoryStock{api: inv})
}

// newModule is New on the consumer-side interfaces (tests put failing and
// slow neighbours there).
func newModule(ctx context.Context, dbs *kernel.Databases, log *slog.Logger, cfg config.Config,
	prices domain.Prices, stock domain.Stock) (*Module, error) {
	if cfg.Cart.CatalogTimeout <= 0 {
		return nil, fmt.Errorf("cart: catalog timeout must be positive, got %v", cfg.Cart.CatalogTimeout)
	}
	name := Descriptor().Name
	db, err := dbs.Open(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("cart database: %w", err)
	}
	log = logging.ForModule(log, name)
	now := func() time.Time { return time.Now().UTC() }
	svc := domain.NewService(store.New(db), prices, stock, cfg.Cart.CatalogTimeout, now, log)
	return &Module{db: db, svc: svc}, nil
}

// API returns the in-process implementation of the public contract.
func (m *Module) API() cart.API { return &api{svc: m.svc} }

// Descriptor implements kernel.Module.
func (m *Module) Descriptor() kernel.Descriptor { return Descriptor() }

// Routes implements kernel.Module.
func (m *Module) Routes(r *httpapi.Router) { rest.Register(r, m.API()) }

// Check implements kernel.Module: the cart is ready when its database is.
// A slow catalog or inventory does not make it unready: it answers with
// last known values then.
func (m *Module) Check(ctx context.Context) error { return m.db.Check(ctx) }

// Start implements kernel.Module; the cart has no background work.
func (m *Module) Start(context.Context) error { return nil }

// Stop implements kernel.Module.
func (m *Module) Stop(context.Context) error { return nil }
