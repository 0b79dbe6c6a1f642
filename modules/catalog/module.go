package catalog

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/wire"

	"github.com/shopmonolith/shop/modules/catalog/internal/domain"
	"github.com/shopmonolith/shop/modules/catalog/internal/rest"
	"github.com/shopmonolith/shop/modules/catalog/internal/store"
	"github.com/shopmonolith/shop/platform/config"
	"github.com/shopmonolith/shop/platform/database"
	"github.com/shopmonolith/shop/platform/httpapi"
	"github.com/shopmonolith/shop/platform/kernel"
	"github.com/shopmonolith/shop/platform/logging"
)

// Descriptor describes the module to the kernel.
var Descriptor = kernel.Descriptor{
	Name:      "catalog",
	Summary:   "products, categories, deals and effective prices",
	DependsOn: nil,
}

// ProviderSet builds the module for wire injectors.
var ProviderSet = wire.NewSet(New)

// Module is the catalog as the kernel runs it.
type Module struct {
	db  *database.DB
	svc *domain.Service
	log *slog.Logger
}

var _ kernel.Module = (*Module)(nil)

// New opens the module's own database access (closed by dbs.Close) and
// builds the service. The catalog has no settings yet.
func New(ctx context.Context, dbs *kernel.Databases, log *slog.Logger, _ config.Config) (*Module, error) {
	db, err := dbs.Open(ctx, Descriptor.Name)
	if err != nil {
		return nil, fmt.Errorf("catalog database: %w", err)
	}
	svc := domain.NewService(store.New(db), func() time.Time { return time.Now().UTC() })
	return &Module{db: db, svc: svc, log: logging.ForModule(log, Descriptor.Name)}, nil
}

// API returns the in-process implementation of the public contract.
func (m *Module) API() API { return &api{svc: m.svc} }

// Descriptor implements kernel.Module.
func (m *Module) Descriptor() kernel.Descriptor { return Descriptor }

// Routes implements kernel.Module.
func (m *Module) Routes(r *httpapi.Router) { rest.Register(r, m.svc) }

// Check implements kernel.Module: the catalog is ready when its database is.
func (m *Module) Check(ctx context.Context) error { return m.db.Check(ctx) }

// Start implements kernel.Module; the catalog has no background work.
func (m *Module) Start(context.Context) error { return nil }

// Stop implements kernel.Module.
func (m *Module) Stop(context.Context) error { return nil }

// Seed creates demo data for operators (`shop seed`): the categories coffee,
// tea, kitchen and books, products DEMO-000001… in batches of 1000 (progress
// gets the running count after each batch), a percent deal on the first
// product and a fixed deal on the kitchen category. Existing demo rows are
// kept, so running it again is harmless.
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
