package inventorymodule

import (
	"context"
	"log/slog"
	"time"

	"github.com/shopmonolith/shop/platform/config"
	"github.com/shopmonolith/shop/platform/database"
	"github.com/shopmonolith/shop/platform/events"
	"github.com/shopmonolith/shop/platform/kernel"
)

// NewWithClock is New on a clock the test moves.
func NewWithClock(ctx context.Context, dbs *kernel.Databases, log *slog.Logger, cfg config.Inventory,
	bus *events.Bus, now func() time.Time,
) (*Module, error) {
	return newModule(ctx, dbs, log, cfg, bus, now)
}

// Sweep runs one sweep at now, as the worker would, and returns how many
// reservations it expired.
func (m *Module) Sweep(ctx context.Context, now time.Time) (int, error) {
	return m.svc.ExpireDue(ctx, now)
}

// DB is the module's database, for reading its outbox.
func (m *Module) DB() *database.DB { return m.db }
