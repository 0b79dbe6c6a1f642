// Package catalogmodule is the catalog as the kernel runs it: its
// descriptor, its wire set, the adapter from the public contract (package
// catalog) to the domain, and the mapping of domain facts to the events it
// publishes. Only the composition root (cmd/) imports it.
package catalogmodule

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/wire"

	"github.com/shopmonolith/shop/modules/catalog"
	"github.com/shopmonolith/shop/modules/catalog/internal/announce"
	"github.com/shopmonolith/shop/modules/catalog/internal/domain"
	"github.com/shopmonolith/shop/modules/catalog/internal/rest"
	"github.com/shopmonolith/shop/modules/catalog/internal/store"
	"github.com/shopmonolith/shop/platform/config"
	"github.com/shopmonolith/shop/platform/database"
	"github.com/shopmonolith/shop/platform/events"
	"github.com/shopmonolith/shop/platform/httpapi"
	"github.com/shopmonolith/shop/platform/kernel"
	"github.com/shopmonolith/shop/platform/logging"
)

// Descriptor describes the module to the kernel.
func Descriptor() kernel.Descriptor {
	return kernel.Descriptor{
		Name:      "catalog",
		Summary:   "products, categories, deals and effective prices",
		DependsOn: nil,
		Routes:    func(r *httpapi.Router) { rest.Register(r, nil) }, // declared only: the handlers of a nil API never run
	}
}

// ProviderSet builds the module for wire injectors.
var ProviderSet = wire.NewSet(New)

// Module is the catalog as the kernel runs it.
type Module struct {
	db        *database.DB
	svc       *domain.Service
	log       *slog.Logger
	announcer *announce.Worker

	bg kernel.Background // the worker, from Start to Stop
}

var _ kernel.Module = (*Module)(nil)

// New opens the module's own database access (closed by dbs.Close), builds
// the service, and registers the module's outbox with bus. The catalog has
// no settings yet.
func New(ctx context.Context, dbs *kernel.Databases, log *slog.Logger, _ config.Config, bus *events.Bus) (*Module, error) {
	return newModule(ctx, dbs, log, bus, clock)
}

// clock is the catalog's time; the domain keeps it at microsecond precision.
func clock() time.Time { return time.Now().UTC() }

// newModule is New with the clock injected (tests move time by hand).
func newModule(ctx context.Context, dbs *kernel.Databases, log *slog.Logger, bus *events.Bus, now func() time.Time) (*Module, error) {
	name := Descriptor().Name
	db, err := dbs.Open(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("catalog database: %w", err)
	}
	log = logging.ForModule(log, name)
	st := store.New(db, events.Translate(bus.Outbox(db), toEvent))
	m := &Module{db: db, log: log}
	m.announcer = announce.New(st, now, log)
	m.svc = domain.NewService(st, now, m.announcer.Wake)
	return m, nil
}

// API returns the in-process implementation of the public contract.
func (m *Module) API() catalog.API { return &api{svc: m.svc} }

// Descriptor implements kernel.Module.
func (m *Module) Descriptor() kernel.Descriptor { return Descriptor() }

// Routes implements kernel.Module.
func (m *Module) Routes(r *httpapi.Router) { rest.Register(r, m.API()) }

// Check implements kernel.Module: the catalog is ready when its database is.
func (m *Module) Check(ctx context.Context) error { return m.db.Check(ctx) }

// Start implements kernel.Module: it starts the worker that announces deal
// starts and ends.
func (m *Module) Start(ctx context.Context) error {
	return m.bg.Start(ctx, m.announcer.Run)
}

// Stop implements kernel.Module: it stops the worker, waiting for an
// announcement in progress until ctx ends.
func (m *Module) Stop(ctx context.Context) error {
	if err := m.bg.Stop(ctx); err != nil {
		return fmt.Errorf("catalog: stop: %w", err)
	}
	return nil
}

// Seed creates demo data for operators (`shop seed`): the categories coffee,
// tea, kitchen and books, products DEMO-000001… in batches of 1000 (progress
// gets the running count after each batch), a 20% deal "Spring sale" on
// DEMO-000001 (when products > 0) and a 3 EUR deal "Kitchen week" on the kitchen category, both
// running from an hour before the seed for a month.
//
// It only ever inserts what is missing, matching categories by slug,
// products by SKU and deals by a fixed id derived from their name; it never
// updates or reactivates a row. So running it again on a seeded catalog
// changes nothing, and a demo row an operator deactivated or edited stays
// as it is. A demo row that no longer exists under its slug, SKU or id (its
// slug was changed, or the row was deleted in SQL) is inserted again. Each inserted product is published
// as catalog.product_created.v1; the deals are announced when they start,
// like any deal.
func (m *Module) Seed(ctx context.Context, products int, progress func(done int)) error {
	if products < 0 {
		return fmt.Errorf("seed: products must not be negative, got %d", products)
	}
	start := time.Now()
	if err := m.svc.Seed(ctx, products, progress); err != nil {
		return err
	}
	m.log.InfoContext(ctx, "catalog seeded", slog.Int("products", products), slog.Duration("elapsed", time.Since(start)))
	return nil
}
