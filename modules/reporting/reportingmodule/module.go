// Package reportingmodule is the reporting module as the kernel runs it: its
// descriptor, its wire set and the adapter from the public contract
// (package reporting) to the domain. Only the composition root (cmd/) imports it.
package reportingmodule

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/wire"
	"gorm.io/gorm"

	"github.com/shopmonolith/shop/modules/reporting"
	"github.com/shopmonolith/shop/modules/reporting/internal/domain"
	"github.com/shopmonolith/shop/modules/reporting/internal/rest"
	"github.com/shopmonolith/shop/modules/reporting/internal/store"
	"github.com/shopmonolith/shop/modules/reporting/internal/subscribe"
	"github.com/shopmonolith/shop/platform/auth"
	"github.com/shopmonolith/shop/platform/config"
	"github.com/shopmonolith/shop/platform/database"
	"github.com/shopmonolith/shop/platform/events"
	"github.com/shopmonolith/shop/platform/httpapi"
	"github.com/shopmonolith/shop/platform/kernel"
	"github.com/shopmonolith/shop/platform/logging"
)

// Descriptor describes the module to the kernel. It is a function, not a
// variable, so that nobody can change what the module says about itself.
// orders is a dependency because the module names orders' events; it never
// calls orders.
func Descriptor() kernel.Descriptor {
	return kernel.Descriptor{
		Name:      "reporting",
		Summary:   "sales figures built from order events",
		DependsOn: []string{"orders"},
		Routes:    func(r *httpapi.Router) { rest.Register(r, nil) }, // declared only: the handlers of a nil API never run
	}
}

// ProviderSet builds the module for wire injectors.
var ProviderSet = wire.NewSet(New)

// Module is the reporting module as the kernel runs it.
type Module struct {
	db  *database.DB
	svc *domain.Service
	log *slog.Logger
}

var _ kernel.Module = (*Module)(nil)

// New opens the module's own database access (closed by dbs.Close), builds
// the service and subscribes its event handler to bus, which must not have
// started yet. The module has no settings.
func New(ctx context.Context, dbs *kernel.Databases, log *slog.Logger, _ config.Config, bus *events.Bus) (*Module, error) {
	name := Descriptor().Name
	db, err := dbs.Open(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("reporting database: %w", err)
	}
	st := store.New(db)
	svc := domain.NewService(st, subscribe.Decode, time.Now, auth.Service(name))
	inTx := func(tx *gorm.DB) domain.Tx { return st.WithTx(tx) }
	if err := subscribe.Register(bus, db, svc, inTx); err != nil {
		return nil, fmt.Errorf("reporting: %w", err)
	}
	return &Module{db: db, svc: svc, log: logging.ForModule(log, name)}, nil
}

// API returns the in-process implementation of the public contract.
func (m *Module) API() reporting.API { return &api{svc: m.svc} }

// Rebuild recomputes every figure from the module's journal, as the module
// itself (for operators: `shop reporting rebuild`), and returns how many
// journal entries it replayed.
func (m *Module) Rebuild(ctx context.Context) (int, error) {
	start := time.Now()
	n, err := m.svc.Rebuild(auth.AsService(ctx, Descriptor().Name))
	if err != nil {
		return 0, fmt.Errorf("reporting: rebuild: %w", err)
	}
	m.log.InfoContext(ctx, "sales figures rebuilt", slog.Int("events", n), slog.Duration("elapsed", time.Since(start)))
	return n, nil
}

// Descriptor implements kernel.Module.
func (m *Module) Descriptor() kernel.Descriptor { return Descriptor() }

// Routes implements kernel.Module.
func (m *Module) Routes(r *httpapi.Router) { rest.Register(r, m.API()) }

// Check implements kernel.Module: the module is ready when its database is.
func (m *Module) Check(ctx context.Context) error { return m.db.Check(ctx) }

// Start implements kernel.Module; the event handler runs on the bus, so the
// module has no background work of its own.
func (m *Module) Start(context.Context) error { return nil }

// Stop implements kernel.Module.
func (m *Module) Stop(context.Context) error { return nil }
