// Package inventorymodule is the inventory module as the kernel runs it: its
// descriptor, its wire set and the adapter from the public contract
// (package inventory) to the domain. Only the composition root (cmd/) imports it.
package inventorymodule

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/wire"

	"github.com/shopmonolith/shop/modules/catalog"
	"github.com/shopmonolith/shop/modules/inventory"
	"github.com/shopmonolith/shop/modules/inventory/internal/domain"
	"github.com/shopmonolith/shop/modules/inventory/internal/rest"
	"github.com/shopmonolith/shop/modules/inventory/internal/store"
	"github.com/shopmonolith/shop/modules/inventory/internal/sweep"
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
		Name:      "inventory",
		Summary:   "stock per product and reservations for orders",
		DependsOn: []string{"catalog"},                               // the products to stock for a demo (StockCatalog)
		Routes:    func(r *httpapi.Router) { rest.Register(r, nil) }, // declared only: the handlers of a nil API never run
	}
}

// ProviderSet builds the module for wire injectors.
var ProviderSet = wire.NewSet(New)

// Module is the inventory as the kernel runs it.
type Module struct {
	db      *database.DB
	svc     *domain.Service
	log     *slog.Logger
	sweeper *sweep.Worker

	bg kernel.Background // the worker, from Start to Stop
}

var _ kernel.Module = (*Module)(nil)

// New opens the module's own database access (closed by dbs.Close), builds
// the service with the reservation settings of cfg.Inventory, and registers
// the module's outbox with bus.
func New(ctx context.Context, dbs *kernel.Databases, log *slog.Logger, cfg config.Config, bus *events.Bus) (*Module, error) {
	return newModule(ctx, dbs, log, cfg.Inventory, bus, time.Now)
}

// newModule is New with the clock injected (tests move time by hand).
func newModule(ctx context.Context, dbs *kernel.Databases, log *slog.Logger, cfg config.Inventory,
	bus *events.Bus, now func() time.Time,
) (*Module, error) {
	if cfg.ReservationTTL <= 0 || cfg.SweepInterval <= 0 {
		return nil, fmt.Errorf("inventory: reservation TTL and sweep interval must be positive, got %v and %v",
			cfg.ReservationTTL, cfg.SweepInterval)
	}
	name := Descriptor().Name
	db, err := dbs.Open(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("inventory database: %w", err)
	}
	log = logging.ForModule(log, name)
	svc := domain.NewService(store.New(db, events.Translate(bus.Outbox(db), toEvent)), now, cfg.ReservationTTL)
	return &Module{
		db: db, svc: svc, log: log,
		sweeper: sweep.New(svc.ExpireDue, now, cfg.SweepInterval, log),
	}, nil
}

// API returns the in-process implementation of the public contract.
func (m *Module) API() inventory.API { return &api{svc: m.svc} }

// Descriptor implements kernel.Module.
func (m *Module) Descriptor() kernel.Descriptor { return Descriptor() }

// Routes implements kernel.Module.
func (m *Module) Routes(r *httpapi.Router) { rest.Register(r, m.API()) }

// Check implements kernel.Module: the inventory is ready when its database is.
func (m *Module) Check(ctx context.Context) error { return m.db.Check(ctx) }

// Start implements kernel.Module: it starts the worker that expires
// reservations nobody committed in time.
func (m *Module) Start(ctx context.Context) error {
	return m.bg.Start(ctx, m.sweeper.Run)
}

// Stop implements kernel.Module: it stops the worker, waiting for a sweep in
// progress until ctx ends (an unfinished sweep's transaction rolls back, and
// the next sweep, here or on another replica, does its work).
func (m *Module) Stop(ctx context.Context) error {
	if err := m.bg.Stop(ctx); err != nil {
		return fmt.Errorf("inventory: stop: %w", err)
	}
	return nil
}

// SeedStock puts onHand units on hand for every product in productIDs that
// has no stock yet (`shop serve --seed-demo`), publishing StockChanged
// (reason set) for each. Products stocked already keep their levels, so
// running it again changes nothing. It fails on a malformed product id or
// an onHand outside 0..1,000,000.
func (m *Module) SeedStock(ctx context.Context, productIDs []string, onHand int) error {
	n, err := m.svc.Seed(ctx, productIDs, onHand)
	if err != nil {
		return fmt.Errorf("seed stock: %w", err)
	}
	m.log.InfoContext(ctx, "inventory seeded", slog.Int("products", n), slog.Int("on_hand", onHand))
	return nil
}

// StockCatalog gives the first products of the catalog, as cat lists them
// to anyone (active products, in creation order), onHand units each, as
// SeedStock does: products stocked already keep their levels. It returns
// how many products it listed. cat is the catalog hosted in this process
// or its remote adapter: inventory learns of products as any module does,
// through catalog's API, wherever catalog runs.
func (m *Module) StockCatalog(ctx context.Context, cat catalog.API, products, onHand int) (int, error) {
	var ids []string
	q := catalog.ProductQuery{Limit: 100}
	for len(ids) < products {
		page, err := cat.ListProducts(ctx, q)
		if err != nil {
			return 0, fmt.Errorf("list products to stock: %w", err)
		}
		for _, p := range page.Items {
			ids = append(ids, p.ID)
		}
		if page.NextCursor == "" {
			break
		}
		q.After = page.NextCursor
	}
	ids = ids[:min(len(ids), products)]
	if len(ids) == 0 {
		return 0, nil
	}
	return len(ids), m.SeedStock(ctx, ids, onHand)
}
