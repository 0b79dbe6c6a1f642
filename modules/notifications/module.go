package notifications

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/wire"
	"gorm.io/gorm"

	"github.com/shopmonolith/shop/modules/notifications/internal/domain"
	"github.com/shopmonolith/shop/modules/notifications/internal/rest"
	"github.com/shopmonolith/shop/modules/notifications/internal/store"
	"github.com/shopmonolith/shop/modules/notifications/internal/subscribe"
	"github.com/shopmonolith/shop/platform/config"
	"github.com/shopmonolith/shop/platform/database"
	"github.com/shopmonolith/shop/platform/events"
	"github.com/shopmonolith/shop/platform/httpapi"
	"github.com/shopmonolith/shop/platform/kernel"
	"github.com/shopmonolith/shop/platform/logging"
)

// Descriptor describes the module to the kernel. It is a function, not a
// variable, so that nobody can change what the module says about itself.
// identity is a dependency because the module names identity's events.
func Descriptor() kernel.Descriptor {
	return kernel.Descriptor{
		Name:      "notifications",
		Summary:   "messages to users: welcome messages in a mailbox",
		DependsOn: []string{"identity"},
	}
}

// ProviderSet builds the module for wire injectors.
var ProviderSet = wire.NewSet(New)

// Module is the notifications module as the kernel runs it.
type Module struct {
	db  *database.DB
	svc *domain.Service
	log *slog.Logger
}

var _ kernel.Module = (*Module)(nil)

// New opens the module's own database access (closed by dbs.Close), builds
// the service and subscribes its event handlers to bus, which must not have
// started yet. The module has no settings yet.
func New(ctx context.Context, dbs *kernel.Databases, log *slog.Logger, _ config.Config, bus *events.Bus) (*Module, error) {
	db, err := dbs.Open(ctx, Descriptor().Name)
	if err != nil {
		return nil, fmt.Errorf("notifications database: %w", err)
	}
	st := store.New(db)
	svc := domain.NewService(st, time.Now)
	inTx := func(tx *gorm.DB) domain.Repository { return st.WithTx(tx) }
	if err := subscribe.Register(bus, db, svc, inTx); err != nil {
		return nil, fmt.Errorf("notifications: %w", err)
	}
	return &Module{db: db, svc: svc, log: logging.ForModule(log, Descriptor().Name)}, nil
}

// API returns the in-process implementation of the public contract.
func (m *Module) API() API { return &api{svc: m.svc} }

// Descriptor implements kernel.Module.
func (m *Module) Descriptor() kernel.Descriptor { return Descriptor() }

// Routes implements kernel.Module.
func (m *Module) Routes(r *httpapi.Router) { rest.Register(r, m.svc) }

// Check implements kernel.Module: the module is ready when its database is.
func (m *Module) Check(ctx context.Context) error { return m.db.Check(ctx) }

// Start implements kernel.Module; the event handlers run on the bus, so the
// module has no background work of its own.
func (m *Module) Start(context.Context) error { return nil }

// Stop implements kernel.Module.
func (m *Module) Stop(context.Context) error { return nil }
